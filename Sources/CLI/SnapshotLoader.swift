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
        let snapshot = try Snapshot.load(path: path, sites: sites) { done, total in progress.update(done: done, total: total) }
        progress.finish()
        warnAboutDebuginfod(snapshot.info.modules)
        return snapshot
    }

    private static var warnedAboutDebuginfod = false

    /// One line on stderr, once per command, when debuginfod was asked and could not answer (a server
    /// that is down, a wrong URL): its modules keep addresses, and the report still comes.
    static func warnAboutDebuginfod(_ modules: [ModuleInfo]) {
        guard !warnedAboutDebuginfod, let urls = Symbolizer.debuginfodURLs else { return }
        let failed = modules.filter { $0.debuginfod.map { $0 != "found" && $0 != "not found" } ?? false }
        guard let first = failed.first?.debuginfod else { return }
        warnedAboutDebuginfod = true
        let count = failed.count == 1 ? "1 module" : "\(failed.count) modules"
        FileHandle.standardError.write(Data(
            "heapsnap: warning: debuginfod (DEBUGINFOD_URLS=\(urls)) did not answer: \(first); \(count) without local debug info keep addresses\n".utf8))
    }

    /// Loads with the sites decided under the options' rules, and filters.
    static func load(_ path: String, filtering: FilterOptions) throws -> Snapshot {
        let sites = filtering.sites
        return try load(path, sites: sites).filtered(filtering.filters, sites: sites)
    }

    /// A snapshot file read and checked but not symbolized yet, so that its header can decide whether
    /// it is worth symbolizing (growth over many processes).
    struct Unsymbolized {
        var path: String
        var header: SnapshotHeader
        /// nil for an offline JSON snapshot: it is read again by `load`, which is cheap (nothing to symbolize).
        var raw: RawSnapshot?
    }

    static func read(_ path: String) throws -> Unsymbolized {
        var start = Data()
        if let handle = FileHandle(forReadingAtPath: path) {
            start = (try? handle.read(upToCount: Int(HEAPSNAP_MAGIC_LENGTH))) ?? Data()
            try? handle.close()
        }
        if start.starts(with: Array(HEAPSNAP_MAGIC.utf8)) {
            do {
                let raw = try RawSnapshot(contentsOf: path)
                return Unsymbolized(path: path, header: raw.header, raw: raw)
            } catch let error as SnapshotFileError {
                throw AnalysisError(error.description)
            }
        }
        return Unsymbolized(path: path, header: try Snapshot.load(path: path, sites: .none).info.header, raw: nil)
    }

    /// Symbolizes what `read` read, with the sites decided under the options' rules, and filters.
    static func load(_ file: Unsymbolized, filtering: FilterOptions) throws -> Snapshot {
        guard let raw = file.raw else { return try load(file.path, filtering: filtering) }
        let sites = filtering.sites
        let progress = ProgressLine(
            label: "symbolizing \(URL(fileURLWithPath: file.path).lastPathComponent)", unit: "modules")
        defer { progress.finish() }
        return try Snapshot(raw: raw, source: file.path, sites: sites) { done, total in
            progress.update(done: done, total: total)
        }.filtered(filtering.filters, sites: sites)
    }
}
