// How every command reads the snapshots it is given: binary or JSON, with progress on a terminal.
import CHeapSnapContract
import Foundation
import HeapSnap

enum SnapshotLoader {
    /// Loads a binary or JSON snapshot, showing symbolization progress on a terminal's stderr.
    static func load(_ path: String, sites: SiteRules = .default) throws -> Snapshot {
        let progress = ProgressLine(
            label: "symbolizing \(URL(fileURLWithPath: path).lastPathComponent)", unit: "modules")
        defer { progress.finish() }
        return try Snapshot.load(path: path, sites: sites) { done, total in progress.update(done: done, total: total) }
    }

    /// Loads with the sites decided under the options' rules, and filters.
    static func load(_ path: String, filtering: FilterOptions) throws -> Snapshot {
        let sites = filtering.sites
        return try load(path, sites: sites).filtered(filtering.filters, sites: sites)
    }

    /// The header of a snapshot file without symbolizing it (an offline JSON snapshot is read whole: it
    /// needs no symbolizing either).
    static func header(_ path: String) throws -> SnapshotHeader {
        var start = Data()
        if let handle = FileHandle(forReadingAtPath: path) {
            start = (try? handle.read(upToCount: 16)) ?? Data()
            try? handle.close()
        }
        if start.starts(with: Array(HEAPSNAP_MAGIC.utf8)) {
            do { return try RawSnapshot(contentsOf: path).header } catch let error as SnapshotFileError {
                throw AnalysisError(error.description)
            }
        }
        return try Snapshot.load(path: path, sites: .none).info.header
    }
}
