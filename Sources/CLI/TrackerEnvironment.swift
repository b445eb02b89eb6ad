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
    static let sample = HEAPSNAP_ENV_SAMPLE
    static let sampleSeed = HEAPSNAP_ENV_SAMPLE_SEED
    static let only = HEAPSNAP_ENV_ONLY
    static let unwinder = HEAPSNAP_ENV_UNWINDER
    static let verifyUnwind = HEAPSNAP_ENV_VERIFY_UNWIND
    static let library = HEAPSNAP_ENV_LIB
    static let minPeak = HEAPSNAP_ENV_MIN_PEAK
    static let maxDisk = HEAPSNAP_ENV_MAX_DISK
    /// <dir>/.heapsnap-budget.<process group>: the run's HEAPSNAP_MAX_DISK ledger.
    static let budgetLedgerPrefix = HEAPSNAP_BUDGET_LEDGER_PREFIX
    /// `heapsnap snap PID` connects to the abstract Unix socket "\0" + this + PID.
    static let controlSocketPrefix = HEAPSNAP_CONTROL_SOCKET_PREFIX

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
