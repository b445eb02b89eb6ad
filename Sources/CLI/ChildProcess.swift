// Starting a program the way a shell does (posix_spawnp, no shell in between) and waiting for it while
// passing its standard streams and exit status through.
import Foundation

/// The pid of the running child, for the forwarding signal handler (which may capture nothing).
nonisolated(unsafe) private var forwardedChildPID: pid_t = 0

enum ChildProcess {
    enum Outcome {
        case exited(Int32)
        case signaled(Int32)

        /// The status a shell would report: the exit code, or 128 + the signal number.
        var shellStatus: Int32 {
            switch self {
            case .exited(let code): return code
            case .signaled(let signal): return 128 + signal
            }
        }
    }

    /// Spawns `arguments[0]` (searched in PATH when it has no slash) with `environment`, the current
    /// standard streams and the signal dispositions heapsnap was started with. A program that cannot
    /// be started is a CLIError with exit code 127, as in a shell.
    static func spawn(_ arguments: [String], environment: [String: String]) throws -> pid_t {
        precondition(!arguments.isEmpty)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Dispositions are inherited as a shell passes them on: a SIGHUP ignored under nohup, a SIGINT
        // ignored in a background job stay ignored. heapsnap changes its own only after the spawn (wait).
        var noneBlocked = sigset_t()
        sigemptyset(&noneBlocked)
        posix_spawnattr_setsigmask(&attributes, &noneBlocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let error = posix_spawnp(&pid, arguments[0], nil, &attributes, argv, envp)
        guard error == 0 else {
            let reason = error == ENOENT && !arguments[0].contains("/")
                ? "command not found" : String(cString: strerror(error))
            throw CLIError("\(arguments[0]): \(reason)", exitCode: 127)
        }
        return pid
    }

    /// Waits for `pid`; meanwhile Ctrl-C and Ctrl-\ go to the child only (it is in the same process
    /// group, so the terminal delivers them to it), and SIGTERM / SIGHUP sent to heapsnap are passed on.
    static func wait(for pid: pid_t) -> Outcome {
        forwardedChildPID = pid
        let previousInterrupt = signal(SIGINT, SIG_IGN)
        let previousQuit = signal(SIGQUIT, SIG_IGN)
        let forward: @convention(c) (Int32) -> Void = { signal in
            if forwardedChildPID > 0 { kill(forwardedChildPID, signal) }
        }
        let previousTerminate = signal(SIGTERM, forward)
        let previousHangup = signal(SIGHUP, forward)
        defer {
            signal(SIGINT, previousInterrupt)
            signal(SIGQUIT, previousQuit)
            signal(SIGTERM, previousTerminate)
            signal(SIGHUP, previousHangup)
            forwardedChildPID = 0
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .exited(127) }
        }
        // WIFEXITED / WTERMSIG are macros Swift does not import.
        if status & 0x7f == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(status & 0x7f)
    }
}
