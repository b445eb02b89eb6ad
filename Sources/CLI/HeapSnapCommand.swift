import ArgumentParser
import CHeapSnapContract
import Foundation

@main
struct HeapSnapCommand: ParsableCommand {
    /// The release of this tool; the snapshot format it reads comes from the contract header.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "heapsnap",
        abstract: "tracemalloc for native Linux processes: snapshot live heap memory, group it by file:line, diff it.",
        discussion: """
            Examples:
              heapsnap run -- ./myprog args
              heapsnap top myprog.4711.0002.heapsnap
              heapsnap diff myprog.4711.0001.heapsnap myprog.4711.0002.heapsnap
              heapsnap growth myprog.4711.000[1-5].heapsnap
              LD_PRELOAD=$(heapsnap lib) ./myserver & heapsnap snap $!
            """,
        version: "heapsnap \(version) (reads snapshot format version \(HEAPSNAP_FORMAT_VERSION))",
        subcommands: [
            RunCommand.self, SnapCommand.self, TopCommand.self, DiffCommand.self, GrowthCommand.self,
            InfoCommand.self, ExportCommand.self, ReportCommand.self, LibCommand.self,
        ]
    )

    /// Usage errors are argument-parser's (with the usage text, exit 64); every other failure is one
    /// line, "heapsnap: <what>", and its own exit status.
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let failure as CLIError {
            fail(failure.description, status: failure.exitCode)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // Help, version and usage errors raised by argument-parser's own commands.
            exit(withError: error)
        } catch {
            fail(oneLine(error), status: 1)
        }
    }

    static func fail(_ message: String, status: Int32) -> Never {
        fflush(stdout)
        FileHandle.standardError.write(Data("heapsnap: \(message)\n".utf8))
        Foundation.exit(status)
    }

    static func oneLine(_ error: Error) -> String {
        let text = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

struct LibCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lib",
        abstract: "Print the path of libheapsnap.so, for LD_PRELOAD=$(heapsnap lib) PROGRAM.",
        discussion: "It is looked for next to the heapsnap executable, then in ../lib; HEAPSNAP_LIB overrides."
    )

    func run() throws {
        print(try TrackerEnvironment.libraryPath())
    }
}
