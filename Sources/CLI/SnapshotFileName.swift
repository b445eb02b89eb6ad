// The names of the files the tracker writes (Docs/FORMAT.md), parsed back to find a run's snapshots.
import CHeapSnapContract
import Foundation

/// One snapshot file name of the tracker: `<program>.<pid>.<seq>.heapsnap` or `<program>.<pid>.peak.heapsnap`.
struct SnapshotFileName: Comparable {
    var program: String
    var pid: Int32
    /// nil for the rolling peak snapshot.
    var sequence: Int?
    var name: String

    init?(_ name: String) {
        guard name.hasSuffix(HEAPSNAP_FILE_SUFFIX) else { return nil }
        let parts = name.dropLast(HEAPSNAP_FILE_SUFFIX.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]) else { return nil }
        let last = parts[parts.count - 1]
        if last == HEAPSNAP_FILE_PEAK_NAME {
            sequence = nil
        } else if let number = Int(last), last.allSatisfy(\.isASCII) {
            sequence = number
        } else {
            return nil
        }
        self.pid = pid
        self.program = parts.dropLast(2).joined(separator: ".")
        self.name = name
    }

    static func < (lhs: SnapshotFileName, rhs: SnapshotFileName) -> Bool {
        if lhs.pid != rhs.pid { return lhs.pid < rhs.pid }
        // Numbered snapshots in order, the peak snapshot after them.
        return (lhs.sequence ?? Int.max, lhs.name) < (rhs.sequence ?? Int.max, rhs.name)
    }

    /// The snapshot files in `directory`, by name.
    static func list(in directory: String) -> [SnapshotFileName] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap(SnapshotFileName.init).sorted()
    }
}
