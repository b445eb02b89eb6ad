// The one kind of error the CLI reports: a line after "heapsnap: " and an exit status.

/// A failure with the one line the user sees after "heapsnap: ", and the exit status.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = 1) {
        self.description = message
        self.exitCode = exitCode
    }
}
