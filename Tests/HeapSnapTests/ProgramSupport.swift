// Reading what the analysis_* test programs print and where their marker comments are.
import Foundation
import HeapSnap
import TestSupport
import XCTest

/// The 1-based line of the source line holding `marker` (e.g. "SITE:malloc") in Tests/Programs/<file>.
func sourceLine(_ marker: String, in file: String, sourceFile: StaticString = #filePath, line: UInt = #line) throws -> Int {
    let text = try String(contentsOfFile: TestPaths.programSource(file), encoding: .utf8)
    let lines = text.components(separatedBy: "\n")
    let matches = lines.indices.filter { lines[$0].contains("// " + marker) && !lines[$0].contains("// " + marker + "-") }
    guard matches.count == 1 else {
        XCTFail("marker \(marker) found \(matches.count) times in \(file)", file: sourceFile, line: line)
        throw CocoaError(.fileReadCorruptFile)
    }
    return matches[0] + 1
}

/// What a test program printed about itself: its modules, the return addresses of mark() calls and
/// the stacks it captured with backtrace() (most recent first, starting at the caller of malloc).
struct ProgramReport {
    var modules: [ModuleRecord] = []
    var marks: [String: UInt64] = [:]
    var stacks: [(size: UInt64, frames: [UInt64])] = []

    var module: ModuleRecord { modules[0] }

    /// Runs `program` (untraced) and reads what it printed.
    init(running program: String) throws {
        try self.init(program: program, output: try runProcess(program).stdout)
    }

    init(program: String, output: String) throws {
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            switch fields.first {
            case "MODULE":
                let path = fields.count > 2 && !fields[2].isEmpty ? String(fields[2]) : program
                let isVDSO = path.hasPrefix("linux-vdso")
                modules.append(ModuleRecord(
                    loadBias: UInt64(fields[1], radix: 16)!, path: path, isMainExecutable: modules.isEmpty,
                    isVDSO: isVDSO))
            case "SEGMENT":
                modules[modules.count - 1].segments.append(.init(
                    start: UInt64(fields[1], radix: 16)!, size: UInt64(fields[2], radix: 16)!,
                    flags: UInt32(fields[3], radix: 16)!))
            case "MARK": marks[String(fields[1])] = UInt64(fields[2], radix: 16)
            case "STACK":
                stacks.append((UInt64(fields[1])!, fields.dropFirst(2).map { UInt64($0, radix: 16)! }))
            default: break
            }
        }
        guard !modules.isEmpty else { throw AnalysisError("\(program) printed no MODULE line") }
    }

    /// The captured stacks as a raw snapshot: one live block per captured allocation.
    var rawSnapshot: RawSnapshot {
        RawSnapshot(
            header: SnapshotHeader(pid: 1, executable: modules[0].path),
            modules: modules,
            stacks: stacks.map { StackRecord(frames: $0.frames, liveBytes: $0.size, liveBlocks: 1,
                                             totalAllocations: 1, totalBytes: $0.size) })
    }
}
