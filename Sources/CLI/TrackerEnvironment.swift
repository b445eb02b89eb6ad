// What the CLI knows about the tracker from the outside: where libheapsnap.so is, the environment
// variables it reads (Docs/TRACKER.md) and the names of the files it writes (Docs/FORMAT.md).
import Foundation

enum TrackerEnvironment {
    static let libraryName = "libheapsnap.so"
    static let directory = "HEAPSNAP_DIR"
    static let frames = "HEAPSNAP_FRAMES"
    static let interval = "HEAPSNAP_INTERVAL"
    static let signal = "HEAPSNAP_SIGNAL"
    static let peakStep = "HEAPSNAP_PEAK_STEP"
    static let traces = "HEAPSNAP_TRACES"
    static let only = "HEAPSNAP_ONLY"
    static let minPeak = "HEAPSNAP_MIN_PEAK"
    static let maxDisk = "HEAPSNAP_MAX_DISK"
    /// <dir>/.heapsnap-budget.<process group>: the run's HEAPSNAP_MAX_DISK ledger (HS_BUDGET_LEDGER_PREFIX).
    static let budgetLedgerPrefix = ".heapsnap-budget."
    /// `heapsnap snap PID` connects to the abstract Unix socket "\0" + this + PID (HS_CONTROL_SOCKET_PREFIX).
    static let controlSocketPrefix = "heapsnap."

    /// libheapsnap.so: HEAPSNAP_LIB, else next to the heapsnap executable (where the Makefile copies
    /// it), else in ../lib of an installed prefix.
    static func libraryPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["HEAPSNAP_LIB"], !path.isEmpty {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw CLIError("\(path): HEAPSNAP_LIB names no readable file")
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
        throw CLIError("\(libraryName) not found next to \(executable) (build it with `make`, or set HEAPSNAP_LIB)")
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent(path).standardizedFileURL.path
    }

    /// HEAPSNAP_SIGNAL exactly as the tracker reads it (Sources/Track/control.c): a number, a name with
    /// or without "SIG" (case-insensitive), RTMIN or RTMIN+n; .some(nil) for "0", "none" or "off"
    /// (snapshots on signal turned off); nil when it is no signal the tracker accepts.
    static func parseSignal(_ text: String) -> Int32?? {
        let upper = text.uppercased()
        if upper == "NONE" || upper == "OFF" { return .some(nil) }
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard let number = Int32(text), number < 65, number != SIGKILL, number != SIGSTOP else { return nil }
            return .some(number == 0 ? nil : number)
        }
        let name = upper.hasPrefix("SIG") ? String(upper.dropFirst(3)) : upper
        if let number = signalNumbers[name] { return .some(number) }
        if name == "RTMIN" { return .some(__libc_current_sigrtmin()) }
        if name.hasPrefix("RTMIN+"), let offset = Int32(name.dropFirst(6)), offset >= 0,
           offset <= __libc_current_sigrtmax() - __libc_current_sigrtmin() {
            return .some(__libc_current_sigrtmin() + offset)
        }
        return nil
    }

    /// The names the tracker accepts.
    static let signalNumbers: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "USR1": SIGUSR1, "USR2": SIGUSR2, "PIPE": SIGPIPE,
        "ALRM": SIGALRM, "TERM": SIGTERM, "CHLD": SIGCHLD, "CONT": SIGCONT, "TSTP": SIGTSTP, "TTIN": SIGTTIN,
        "TTOU": SIGTTOU, "URG": SIGURG, "XCPU": SIGXCPU, "XFSZ": SIGXFSZ, "VTALRM": SIGVTALRM,
        "PROF": SIGPROF, "WINCH": SIGWINCH, "IO": SIGIO, "PWR": SIGPWR, "SYS": SIGSYS,
    ]

    static let otherSignalNames: [Int32: String] = [
        SIGILL: "SIGILL", SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
        SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGSTOP: "SIGSTOP", SIGSTKFLT: "SIGSTKFLT",
    ]

    static func signalName(_ number: Int32) -> String {
        if let entry = signalNumbers.first(where: { $0.value == number }) { return "SIG" + entry.key }
        return otherSignalNames[number] ?? "signal \(number)"
    }

    /// Seconds as the tracker reads HEAPSNAP_INTERVAL ("2", "0.25", ".5"), and above zero (0 is off).
    static func isPositiveSeconds(_ text: String) -> Bool {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let isDigits = { (part: Substring) in part.allSatisfy { $0.isASCII && $0.isNumber } }
        guard parts.allSatisfy(isDigits), !(parts.first ?? "").isEmpty || parts.count == 2,
              parts.count == 1 || !parts[1].isEmpty, (Double(text) ?? 0) > 0, (Double(text) ?? 0) <= 1e9
        else { return false }
        return true
    }

    /// A byte count as the tracker reads HEAPSNAP_PEAK_STEP: digits, then optionally K, M or G (powers
    /// of 1024), "i" after one of them, and "B": 1048576, 512K, 64M, 1GiB, 100B.
    static func parseByteCount(_ text: String) -> UInt64? {
        var rest = Substring(text)
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = UInt64(digits) else { return nil }
        rest = rest.dropFirst(digits.count)
        var unit: UInt64 = 1
        switch rest.first {
        case "k", "K": unit = 1 << 10
        case "m", "M": unit = 1 << 20
        case "g", "G": unit = 1 << 30
        default: break
        }
        if unit > 1 {
            rest = rest.dropFirst()
            if rest.first == "i" || rest.first == "I" { rest = rest.dropFirst() }
        }
        if rest.first == "b" || rest.first == "B" { rest = rest.dropFirst() }
        guard rest.isEmpty else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: unit)
        return overflow ? nil : product
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
        guard name.hasSuffix(".heapsnap") else { return nil }
        let parts = name.dropLast(".heapsnap".count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]) else { return nil }
        let last = parts[parts.count - 1]
        if last == "peak" {
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
