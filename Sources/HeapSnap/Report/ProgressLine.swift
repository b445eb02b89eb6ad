// A one-line progress indicator for long symbolization, redrawn in place on a terminal's stderr and
// silent anywhere else (pipes, files, CI logs).
import Foundation

public final class ProgressLine: @unchecked Sendable {
    private let label: String
    private let unit: String
    private let isEnabled: Bool
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var drawn = false

    public init(label: String, unit: String = "", fileDescriptor: Int32 = STDERR_FILENO) {
        self.label = label
        self.unit = unit.isEmpty ? "" : " " + unit
        isEnabled = isatty(fileDescriptor) == 1
    }

    /// Draws "label: done/total unit" at most ten times a second.
    public func update(done: Int, total: Int) {
        guard isEnabled, total > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard done >= total || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        drawn = true
        fputs("\r\u{1B}[K\(label): \(done)/\(total)\(unit)", stderr)
        fflush(stderr)
    }

    /// Erases the line, if one was drawn.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard drawn else { return }
        fputs("\r\u{1B}[K", stderr)
        fflush(stderr)
        drawn = false
    }
}
