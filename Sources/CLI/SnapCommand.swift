// heapsnap snap PID: ask a traced process for a snapshot now and print its path once the file is in
// place. The tracker thread answers on an abstract Unix socket named after the pid (Docs/TRACKER.md);
// a process started with HEAPSNAP_SIGNAL can be asked with that signal instead. A process that has
// the library loaded but does not track (HEAPSNAP_ONLY left it dormant) is never sent anything.
import ArgumentParser
import Foundation

struct SnapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snap",
        abstract: "Make a running traced process write a snapshot now, and print its path.",
        discussion: "The process must run with libheapsnap.so preloaded (heapsnap run, or LD_PRELOAD=$(heapsnap lib)). heapsnap asks its tracker over the control socket \\0heapsnap.<pid> (only the process's user or root may) and prints the path of the file once it is written. With --signal it sends the process its HEAPSNAP_SIGNAL instead and waits for the new <prog>.<pid>.<seq>.heapsnap file in its HEAPSNAP_DIR (or its working directory); that is also what happens when the socket does not answer and the process set HEAPSNAP_SIGNAL."
    )

    @Argument(help: "Process id of the traced process.") var pid: Int32
    @Option(help: ArgumentHelp("Seconds to wait for the snapshot file.", valueName: "seconds"))
    var timeout: Double = 10
    @Flag(help: "Send the process its HEAPSNAP_SIGNAL instead of asking over the control socket.")
    var signal = false

    func validate() throws {
        guard pid > 0 else { throw ValidationError("PID must be a positive process id, not \(pid).") }
        guard timeout > 0 else { throw ValidationError("--timeout must be above 0 seconds.") }
    }

    func run() throws {
        let proc = "/proc/\(pid)"
        guard access(proc, F_OK) == 0 else { throw CLIError("no process with pid \(pid)") }
        if !signal {
            switch try ControlSocket.requestSnapshot(pid: pid, timeout: timeout) {
            case .written(let path):
                print(path)
                return
            case .refused(let reason):
                throw CLIError("process \(pid): \(reason)")
            case .noAnswer:
                break // no tracker thread listening: find out why below
            }
        }
        guard let mapsData = ProcFile.read(proc + "/maps") else {
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
        let signalText = environment[TrackerEnvironment.signal] ?? ""
        // The tracker's own reading of its setting (0: none, or a rejected value)
        let signalNumber = SignalSetting(argument: signalText)?.value ?? 0
        // The tracker installs its handler only when it tracks: a signal nobody catches would kill it.
        guard signalNumber != 0, catchesSignal(proc, signalNumber) else {
            throw CLIError(notTrackingReason(environment: environment, signalText: signalText))
        }
        try snapBySignal(proc: proc, environment: environment, signalNumber: signalNumber)
    }

    /// Why nothing was asked of a process with the library loaded, in one line.
    private func notTrackingReason(environment: [String: String], signalText: String) -> String {
        let only = environment[TrackerEnvironment.only] ?? ""
        let base = "process \(pid) is not tracking: \(TrackerEnvironment.libraryName) is loaded but its tracker does not answer"
        if !only.isEmpty { return base + " (\(TrackerEnvironment.only)=\(only) likely leaves it dormant)" }
        if signal {
            let setting = signalText.isEmpty ? "no \(TrackerEnvironment.signal) set" : "\(TrackerEnvironment.signal)=\(signalText)"
            return "process \(pid) catches no snapshot signal (\(setting)), so nothing was sent; without --signal heapsnap asks over the control socket"
        }
        return base
    }

    private func snapBySignal(proc: String, environment: [String: String], signalNumber: Int32) throws {
        let folder = snapshotFolder(proc: proc, environment: environment)
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

    /// Whether the process has a handler for `signal` (SigCgt in /proc/PID/status).
    private func catchesSignal(_ proc: String, _ signal: Int32) -> Bool {
        guard let data = ProcFile.read(proc + "/status") else { return false }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("SigCgt:") {
            guard let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
            return mask & (UInt64(1) << UInt64(signal - 1)) != 0
        }
        return false
    }

    /// The process's environment as it was started (/proc/PID/environ).
    private func processEnvironment(_ proc: String) -> [String: String] {
        guard let data = ProcFile.read(proc + "/environ") else { return [:] }
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

/// A /proc file read to its end: procfs files report size 0 and come in pieces, so a reader that
/// trusts the size or stops at the first page (Foundation's does, at about 4 KiB) sees only part.
enum ProcFile {
    static func read(_ path: String) -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { return result }
            result.append(contentsOf: buffer[0..<n])
        }
    }
}

/// The client side of the tracker's control socket (Sources/Track/tracker_thread.c).
enum ControlSocket {
    enum Answer {
        case written(path: String)
        case refused(reason: String)
        case noAnswer
    }

    static func requestSnapshot(pid: Int32, timeout: Double) throws -> Answer {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .noAnswer }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let name = Array((TrackerEnvironment.controlSocketPrefix + String(pid)).utf8)
        let length = withUnsafeMutableBytes(of: &address.sun_path) { path -> Int in
            path[0] = 0 // abstract namespace
            for (i, byte) in name.enumerated() where i + 1 < path.count { path[i + 1] = byte }
            return min(name.count + 1, path.count)
        }
        let size = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + length)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) }
        }
        guard connected == 0 else { return .noAnswer }
        // Abstract names are per network namespace, pids per pid namespace: make sure it is that process.
        var peer: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0) // struct ucred
        var peerSize = socklen_t(MemoryLayout.size(ofValue: peer))
        if getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peerSize) == 0, peer.pid != pid {
            throw CLIError("the control socket of pid \(pid) belongs to another process (pid \(peer.pid) in this namespace)")
        }
        let request = Array("snap\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            return .noAnswer
        }
        var answer = Data()
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 8192)
        while !answer.contains(UInt8(ascii: "\n")) {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw CLIError("process \(pid) wrote no snapshot within \(timeout) s") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(left * 1000, 1000)))
            if ready < 0 && errno != EINTR { break }
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer.append(contentsOf: buffer[0..<n])
        }
        let line = String(decoding: answer, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        if line.hasPrefix("ok ") { return .written(path: String(line.dropFirst(3))) }
        if line.hasPrefix("error ") { return .refused(reason: String(line.dropFirst(6))) }
        throw CLIError("process \(pid) ended the snapshot request without an answer (did it exit?)")
    }
}
