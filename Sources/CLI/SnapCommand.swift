// heapsnap snap PID: ask a traced process for a snapshot now (its tracker writes the file from its own
// thread when the signal arrives) and print the path once the file is in place.
import ArgumentParser
import Foundation

struct SnapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snap",
        abstract: "Make a running traced process write a snapshot now, and print its path.",
        discussion: "The process must run with libheapsnap.so preloaded (heapsnap run, or LD_PRELOAD=$(heapsnap lib)). heapsnap sends it HEAPSNAP_SIGNAL (SIGUSR2 by default) and waits for the new <prog>.<pid>.<seq>.heapsnap file in its HEAPSNAP_DIR (or its working directory)."
    )

    @Argument(help: "Process id of the traced process.") var pid: Int32
    @Option(help: ArgumentHelp("Seconds to wait for the snapshot file.", valueName: "seconds"))
    var timeout: Double = 10

    func validate() throws {
        guard pid > 0 else { throw ValidationError("PID must be a positive process id, not \(pid).") }
        guard timeout > 0 else { throw ValidationError("--timeout must be above 0 seconds.") }
    }

    func run() throws {
        let proc = "/proc/\(pid)"
        guard access(proc, F_OK) == 0 else { throw CLIError("no process with pid \(pid)") }
        guard let mapsData = FileManager.default.contents(atPath: proc + "/maps") else {
            if access(proc, F_OK) != 0 { throw CLIError("no process with pid \(pid)") }
            throw CLIError("cannot read \(proc)/maps: permission denied (is it another user's process?)")
        }
        let maps = String(decoding: mapsData, as: UTF8.self)
        // A library rebuilt since the process started shows as "… (deleted)"; it is still the tracker.
        let library = "/" + TrackerEnvironment.libraryName
        guard maps.split(separator: "\n").contains(where: { $0.hasSuffix(library) || $0.hasSuffix(library + " (deleted)") }) else {
            throw CLIError("process \(pid) is not traced by heapsnap (\(TrackerEnvironment.libraryName) is not loaded in it)")
        }
        let environment = processEnvironment(proc)
        let folder = snapshotFolder(proc: proc, environment: environment)
        let signalText = environment[TrackerEnvironment.signal] ?? ""
        // The tracker's own reading of its setting: an empty or rejected value leaves it on the default.
        let signalNumber = SignalSetting(argument: signalText)?.value ?? 0
        guard signalNumber != 0 else {
            throw CLIError("process \(pid) has snapshots on signal turned off (\(TrackerEnvironment.signal)=\(signalText))")
        }

        let before = Set(numberedSnapshots(in: folder))
        guard kill(pid, signalNumber) == 0 else {
            if errno == ESRCH { throw CLIError("no process with pid \(pid)") }
            throw CLIError("cannot signal process \(pid): \(String(cString: strerror(errno)))")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let name = numberedSnapshots(in: folder).first(where: { !before.contains($0) }) {
                print(folder + "/" + name)
                return
            }
            usleep(10_000)
        }
        let alive = access(proc, F_OK) == 0
        throw CLIError("process \(pid) wrote no snapshot in \(folder) within \(formatSeconds(timeout))"
            + (alive ? "" : " (it has exited)"))
    }

    /// The process's environment as it was started (/proc/PID/environ).
    private func processEnvironment(_ proc: String) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: proc + "/environ") else { return [:] }
        var result: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
        }
        return result
    }

    /// HEAPSNAP_DIR of the process, relative paths taken from its working directory.
    private func snapshotFolder(proc: String, environment: [String: String]) -> String {
        let workingDirectory = (try? FileManager.default.destinationOfSymbolicLink(atPath: proc + "/cwd")) ?? "/"
        guard let folder = environment[TrackerEnvironment.directory], !folder.isEmpty else { return workingDirectory }
        if folder.hasPrefix("/") { return folder }
        return URL(fileURLWithPath: workingDirectory).appendingPathComponent(folder).standardizedFileURL.path
    }

    /// Names of this process's numbered snapshots (not its peak snapshot, which is rewritten in place).
    private func numberedSnapshots(in folder: String) -> [String] {
        SnapshotFileName.list(in: folder).filter { $0.pid == pid && $0.sequence != nil }.map(\.name)
    }

    private func formatSeconds(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}
