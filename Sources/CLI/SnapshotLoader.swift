// How every command reads the snapshots it is given: binary or JSON, with progress on a terminal.
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
}
