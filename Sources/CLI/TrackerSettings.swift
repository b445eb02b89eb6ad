// The tracker's settings as `heapsnap run` options. Each type parses its text with the tracker's own
// grammar (Sources/Track/settings.c, through CHeapSnapContract), once: the verdict and the value come
// from the same call, so what the CLI accepts is exactly what the tracker accepts.
import ArgumentParser
import CHeapSnapContract

/// A value of one HEAPSNAP_* setting as the user typed it, with what the tracker's grammar made of it.
protocol TrackerSetting: ExpressibleByArgument {
    associatedtype Value
    /// What the grammar accepts, for the error message (heapsnap_settings.h).
    static var grammar: String { get }
    var text: String { get }
    var verdict: heapsnap_verdict { get }
    /// What the tracker uses for `text`.
    var value: Value { get }
}

extension TrackerSetting {
    /// The tracker would warn about any value that is not accepted as given (or empty: the default).
    var isAccepted: Bool { verdict == .HEAPSNAP_VERDICT_ACCEPTED || verdict == .HEAPSNAP_VERDICT_DEFAULT }

    /// Throws the usage error for `option` unless the tracker accepts the value.
    func check(_ option: String) throws {
        guard isAccepted else {
            let problem = verdict == .HEAPSNAP_VERDICT_OUT_OF_RANGE ? "is out of range" : "is not accepted"
            throw ValidationError("--\(option) takes \(Self.grammar); '\(text)' \(problem).")
        }
    }
}

struct FramesSetting: TrackerSetting {
    static var grammar: String { HEAPSNAP_FRAMES_GRAMMAR }
    let text: String, verdict: heapsnap_verdict, value: UInt32
    init?(argument: String) {
        var frames: UInt32 = 0
        verdict = heapsnap_parse_frames(argument, &frames)
        (text, value) = (argument, frames)
    }
}

struct SecondsSetting: TrackerSetting {
    static var grammar: String { HEAPSNAP_SECONDS_GRAMMAR }
    /// Nanoseconds; 0 = off.
    let text: String, verdict: heapsnap_verdict, value: UInt64
    init?(argument: String) {
        var nanoseconds: UInt64 = 0
        verdict = heapsnap_parse_seconds(argument, &nanoseconds)
        (text, value) = (argument, nanoseconds)
    }
}

struct ByteCountSetting: TrackerSetting {
    static var grammar: String { HEAPSNAP_BYTES_GRAMMAR }
    let text: String, verdict: heapsnap_verdict, value: UInt64
    init?(argument: String) {
        var bytes: UInt64 = 0
        verdict = heapsnap_parse_bytes(argument, &bytes)
        (text, value) = (argument, bytes)
    }
}

struct SignalSetting: TrackerSetting {
    static var grammar: String { HEAPSNAP_SIGNAL_GRAMMAR }
    /// The signal number; 0 = snapshots on signal off.
    let text: String, verdict: heapsnap_verdict, value: Int32
    init?(argument: String) {
        var signal: Int32 = 0
        verdict = heapsnap_parse_signal(argument, &signal)
        (text, value) = (argument, signal)
    }

    /// "SIGUSR2", or "signal 40" for a number without a name.
    static func name(_ number: Int32) -> String {
        guard let name = heapsnap_signal_name(number) else { return "signal \(number)" }
        return "SIG" + String(cString: name)
    }
}

/// Names for HEAPSNAP_ONLY: a program's basename, or several separated by commas (--only is repeatable too).
struct ProgramNameSetting: TrackerSetting {
    static var grammar: String { HEAPSNAP_PROGRAMS_GRAMMAR }
    let text: String, verdict: heapsnap_verdict
    var value: String { text }
    init?(argument: String) {
        // the list's grammar, as the tracker reads HEAPSNAP_ONLY: "a,b" is two names, "a,,b" and "" are refused
        verdict = heapsnap_parse_program_list(argument) == .HEAPSNAP_VERDICT_ACCEPTED ? .HEAPSNAP_VERDICT_ACCEPTED : .HEAPSNAP_VERDICT_INVALID
        text = argument
    }
}
