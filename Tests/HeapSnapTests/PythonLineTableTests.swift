// The line-table decoder against the interpreters themselves: for thousands of real code objects
// (standard library modules and our own test scripts), every instruction offset must get exactly the
// line CPython's co_lines() gives it.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class PythonLineTableTests: XCTestCase {
    func testEveryOffsetMatchesCPythonsOwnLines() throws {
        let interpreters = PythonInterpreters.available
        guard !interpreters.isEmpty else { throw XCTSkip("no CPython 3.11+ interpreter installed") }
        let scripts = try FileManager.default.contentsOfDirectory(
            atPath: PythonInterpreters.script("")).filter { $0.hasSuffix(".py") }.sorted()
            .map { PythonInterpreters.script($0) }
        let directory = try TemporaryDirectory()
        for python in interpreters {
            let out = directory.path + "/lines.jsonl"
            let run = try runProcess(python.path, [PythonInterpreters.script("dump_linetables.py"), out] + scripts,
                                     timeout: 300)
            XCTAssertEqual(run.status, 0, "\(python): \(run.stderr)")
            let text = try String(contentsOfFile: out, encoding: .utf8)
            var codes = 0, offsets = 0, withoutLine = 0
            for line in text.split(separator: "\n") {
                let record = try JSONDecoder().decode(Record.self, from: Data(line.utf8))
                let table = PythonLineTable(bytes: hexBytes(record.linetable), firstLine: record.firstlineno)
                XCTAssertTrue(table.isWellFormed, "\(python): \(record.file) \(record.name)")
                XCTAssertEqual(table.codeUnits, UInt32(record.units), "\(python): \(record.file) \(record.name)")
                var expected = [Int?](repeating: nil, count: record.units)
                for range in record.lines {
                    // co_lines() counts bytes; instructions are 2-byte code units.
                    for unit in (range.start / 2)..<(range.end / 2) { expected[unit] = range.line }
                }
                var mismatches = 0
                for unit in 0..<record.units {
                    let decoded = table.line(at: UInt32(unit))
                    if decoded != expected[unit] {
                        mismatches += 1
                        if mismatches <= 3 {
                            XCTFail("\(python): \(record.file) \(record.name) offset \(unit): decoded \(String(describing: decoded)), CPython says \(String(describing: expected[unit]))")
                        }
                    }
                    // co_positions() is the same table read per instruction.
                    if unit < record.positions.count, decoded != record.positions[unit] {
                        mismatches += 1
                        if mismatches <= 3 {
                            XCTFail("\(python): \(record.file) \(record.name) offset \(unit): decoded \(String(describing: decoded)), co_positions says \(String(describing: record.positions[unit]))")
                        }
                    }
                    if decoded == nil { withoutLine += 1 }
                }
                XCTAssertNil(table.line(at: UInt32(record.units)), "beyond the code")
                codes += 1
                offsets += record.units
            }
            XCTAssertGreaterThan(codes, 1000, "\(python)")
            print("PythonLineTableTests: \(python): \(codes) code objects, \(offsets) offsets (\(withoutLine) without a line) decoded as CPython does")
        }
    }

    func testTruncatedOrCorruptTablesKeepWhatWasDecoded() {
        // Entry 1: short form, 2 code units, same line; entry 2: one-line form +1, cut after its head.
        let table = PythonLineTable(bytes: [0x80 | (0 << 3) | 1, 0x05, 0x80 | (11 << 3)], firstLine: 7)
        XCTAssertFalse(table.isWellFormed)
        XCTAssertEqual(table.line(at: 0), 7)
        XCTAssertEqual(table.line(at: 1), 7)
        XCTAssertNil(table.line(at: 2))
        // A byte without the top bit where an entry must start.
        XCTAssertFalse(PythonLineTable(bytes: [0x12], firstLine: 1).isWellFormed)
        // Long form with a negative line delta (svarint 3 = -1) then no-location.
        let long = PythonLineTable(bytes: [0x80 | (14 << 3), 0x03, 0x00, 0x01, 0x01, 0x80 | (15 << 3) | 2], firstLine: 10)
        XCTAssertTrue(long.isWellFormed)
        XCTAssertEqual(long.line(at: 0), 9)
        XCTAssertNil(long.line(at: 1))
        XCTAssertEqual(long.codeUnits, 4)
    }

    private struct Record: Decodable {
        struct Lines: Decodable {
            var start: Int, end: Int, line: Int?
            init(from decoder: Decoder) throws {
                var container = try decoder.unkeyedContainer()
                start = try container.decode(Int.self)
                end = try container.decode(Int.self)
                line = try container.decodeIfPresent(Int.self)
            }
        }
        var file: String
        var name: String
        var firstlineno: Int
        var linetable: String
        var units: Int
        var lines: [Lines]
        var positions: [Int?]
    }

    private func hexBytes(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            let v = c <= 57 ? c - 48 : c - 87
            if let h = high { bytes.append(h << 4 | v); high = nil } else { high = v }
        }
        return bytes
    }
}
