// Colour for text reports: only when the output is a terminal, never with NO_COLOR (no-color.org),
// always when asked for explicitly.
#if canImport(Glibc)
import Glibc
#endif

public enum ColorChoice: String, CaseIterable, Sendable {
    case auto, always, never
}

public struct TextStyle: Sendable {
    public var isColored: Bool

    public init(isColored: Bool) {
        self.isColored = isColored
    }

    public static let plain = TextStyle(isColored: false)

    /// The style for writing to `fileDescriptor` under `choice`, honouring NO_COLOR and TERM=dumb.
    public static func detect(
        for fileDescriptor: Int32, choice: ColorChoice = .auto,
        environment: [String: String] = currentEnvironment()
    ) -> TextStyle {
        switch choice {
        case .always: return TextStyle(isColored: true)
        case .never: return .plain
        case .auto:
            if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .plain }
            if environment["TERM"] == "dumb" { return .plain }
            return TextStyle(isColored: isatty(fileDescriptor) == 1)
        }
    }

    public static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }

    public enum Role {
        case heading, location, grew, shrank, dim, warning
    }

    public func apply(_ role: Role, _ text: String) -> String {
        guard isColored, !text.isEmpty else { return text }
        let code: String
        switch role {
        case .heading: code = "1"
        case .location: code = "1;36"
        case .grew: code = "31"
        case .shrank: code = "32"
        case .dim: code = "2"
        case .warning: code = "33"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
