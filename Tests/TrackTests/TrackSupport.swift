// Helpers for the tracker tests: run a test program under the tracker, read what it wrote, and find
// call sites exactly through the program's own ELF symbols and the snapshot's module table.
import Foundation
import HeapSnap
import TestSupport
import XCTest

/// A function of a test program: its ELF virtual address range, from `nm -S`.
struct FunctionSymbol {
    let name: String
    let start: UInt64
    let size: UInt64

    func contains(elfAddress: UInt64) -> Bool { elfAddress >= start && elfAddress - start < size }
}

struct ProgramSymbols {
    let functions: [FunctionSymbol]

    init(program: String) throws {
        let result = try runProcess("/usr/bin/nm", ["-S", "--defined-only", program])
        guard result.status == 0 else { throw SnapshotFileError(path: program, problem: "nm failed: \(result.stderr)") }
        functions = result.stdout.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 4, "tTwW".contains(parts[2]),
                  let start = UInt64(parts[0], radix: 16), let size = UInt64(parts[1], radix: 16) else { return nil }
            return FunctionSymbol(name: String(parts[3]), start: start, size: size)
        }
    }

    /// The function named exactly `name`, or (for mangled Swift names) the one whose name contains it.
    func function(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> FunctionSymbol {
        if let f = functions.first(where: { $0.name == name }) { return f }
        let matches = functions.filter { $0.name.contains(name) }
        guard matches.count == 1 else {
            XCTFail("\(matches.count) functions match \(name)", file: file, line: line)
            throw SnapshotFileError(path: name, problem: "no unique symbol")
        }
        return matches[0]
    }
}

extension RawSnapshot {
    var mainModule: ModuleRecord? { modules.first { $0.isMainExecutable } }

    /// The ELF address of a return address in the main executable (the call instruction's last byte).
    func elfAddress(ofReturnAddress frame: UInt64) -> UInt64? {
        guard let main = mainModule, main.contains(frame) else { return nil }
        return frame - 1 - main.loadBias
    }

    /// Stacks whose frame 0 returns into `function` of the main executable.
    func stacks(allocatedIn function: FunctionSymbol, domain: UInt32 = 0) -> [StackRecord] {
        stacks.filter { stack in
            guard stack.domain == domain, let first = stack.frames.first,
                  let address = elfAddress(ofReturnAddress: first) else { return false }
            return function.contains(elfAddress: address)
        }
    }

    /// Stacks with any of their first `depth` frames inside `function`.
    func stacks(passingThrough function: FunctionSymbol, depth: Int) -> [StackRecord] {
        stacks.filter { stack in
            stack.frames.prefix(depth).contains { frame in
                elfAddress(ofReturnAddress: frame).map(function.contains(elfAddress:)) ?? false
            }
        }
    }
}

/// Live and total figures of a group of stacks.
struct SiteTotals: Equatable, CustomStringConvertible {
    var liveBytes: UInt64 = 0
    var liveBlocks: UInt64 = 0
    var totalAllocations: UInt64 = 0
    var totalBytes: UInt64 = 0

    init(liveBytes: UInt64, liveBlocks: UInt64, totalAllocations: UInt64, totalBytes: UInt64) {
        self.liveBytes = liveBytes
        self.liveBlocks = liveBlocks
        self.totalAllocations = totalAllocations
        self.totalBytes = totalBytes
    }

    init(_ stacks: [StackRecord]) {
        for s in stacks {
            liveBytes += s.liveBytes
            liveBlocks += s.liveBlocks
            totalAllocations += s.totalAllocations
            totalBytes += s.totalBytes
        }
    }

    var description: String {
        "live \(liveBytes) B in \(liveBlocks) blocks, \(totalAllocations) allocations of \(totalBytes) B"
    }
}

/// Runs test program `name` under the tracker with HEAPSNAP_DIR = `directory`; fails on a non-zero exit.
@discardableResult
func runTracked(
    _ name: String, _ arguments: [String] = [], environment: [String: String] = [:],
    directory: TemporaryDirectory, file: StaticString = #filePath, line: UInt = #line
) throws -> ProcessResult {
    let program = try TestPaths.program(name, file: file, line: line)
    var env = environment
    env["HEAPSNAP_DIR"] = env["HEAPSNAP_DIR"] ?? directory.path
    // these tests read every process's exit snapshot, small fork and exec children's too
    env["HEAPSNAP_MIN_PEAK"] = env["HEAPSNAP_MIN_PEAK"] ?? "0"
    let result = try runProcess(program, arguments, environment: env, preload: true, directory: directory.path)
    XCTAssertEqual(result.status, 0, "\(name) failed: \(result.stderr)", file: file, line: line)
    XCTAssertFalse(result.terminatedBySignal, "\(name) was killed by a signal", file: file, line: line)
    return result
}

func requireLibrary(file: StaticString = #filePath, line: UInt = #line) throws {
    guard FileManager.default.fileExists(atPath: TestPaths.library) else {
        XCTFail("\(TestPaths.library) is missing: run `make test`", file: file, line: line)
        throw SnapshotFileError(path: TestPaths.library, problem: "missing")
    }
}
