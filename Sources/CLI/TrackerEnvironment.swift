// What the CLI knows about the tracker from the outside: where libheapsnap.so is, the environment
// variables it reads (Docs/TRACKER.md) and the names of the files it writes (Docs/FORMAT.md).
import CHeapSnapContract
import Foundation

enum TrackerEnvironment {
    static let libraryName = "libheapsnap.so"
    static let directory = HEAPSNAP_ENV_DIR
    static let frames = HEAPSNAP_ENV_FRAMES
    static let interval = HEAPSNAP_ENV_INTERVAL
    static let signal = HEAPSNAP_ENV_SIGNAL
    static let peakStep = HEAPSNAP_ENV_PEAK_STEP
    static let traces = HEAPSNAP_ENV_TRACES
    static let only = HEAPSNAP_ENV_ONLY
    static let library = HEAPSNAP_ENV_LIB

    /// libheapsnap.so: HEAPSNAP_LIB, else next to the heapsnap executable (where the Makefile copies
    /// it), else in ../lib of an installed prefix.
    static func libraryPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment[library], !path.isEmpty {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw CLIError("\(path): \(library) names no readable file")
            }
            return absolute(path)
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        let candidates = [
            folder.appendingPathComponent(libraryName),
            folder.deletingLastPathComponent().appendingPathComponent("lib").appendingPathComponent(libraryName),
        ]
        for candidate in candidates where FileManager.default.isReadableFile(atPath: candidate.path) {
            return candidate.standardizedFileURL.path
        }
        throw CLIError("\(libraryName) not found next to \(executable) (build it with `make`, or set \(library))")
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent(path).standardizedFileURL.path
    }
}

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

/// A failure with the one line the user sees after "heapsnap: ", and the exit status.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = 1) {
        self.description = message
        self.exitCode = exitCode
    }
}
