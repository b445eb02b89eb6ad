// The reader against real files and every kind of damage: each must give a one-line error naming the
// file (or, for a change the CRC cannot see, a valid snapshot), never a crash or a huge allocation.
import CHeapSnapContract
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class SnapshotFileTests: XCTestCase {
    static var cached: (bytes: [UInt8], path: String)?

    /// A real snapshot with live blocks (HEAPSNAP_TRACES=1), written once per test run.
    func realSnapshot() throws -> (bytes: [UInt8], path: String) {
        if let cached = Self.cached { return cached }
        try requireLibrary()
        let dir = try TemporaryDirectory()
        let path = dir.path + "/traces.heapsnap"
        try runTracked("track_basic", [path], environment: ["HEAPSNAP_TRACES": "1"], directory: dir)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        Self.cached = (bytes, "traces.heapsnap")
        return Self.cached!
    }

    /// (tag, offset of the section header, payload length) for every section, END included.
    func sections(of bytes: [UInt8]) -> [(tag: UInt32, offset: Int, length: Int)] {
        var result: [(UInt32, Int, Int)] = []
        var offset = 16
        while offset + 16 <= bytes.count {
            let tag = u32(bytes, offset)
            let length = Int(u64(bytes, offset + 8))
            result.append((tag, offset, length))
            offset += 16 + length
        }
        return result
    }

    func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
    func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * $1) } }
    func put32(_ b: inout [UInt8], _ o: Int, _ v: UInt32) { for i in 0..<4 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
    func put64(_ b: inout [UInt8], _ o: Int, _ v: UInt64) { for i in 0..<8 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }

    /// Recomputes the END section's CRC so that only the change under test can be caught.
    func resealed(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes
        let endHeader = b.count - 20
        let crc = crc32(b[0..<endHeader])
        put32(&b, b.count - 4, crc)
        return b
    }

    func expectError(_ bytes: [UInt8], path: String, containing text: String? = nil,
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try RawSnapshot(bytes: bytes, path: path)
            XCTFail("accepted a damaged file", file: file, line: line)
        } catch let error as SnapshotFileError {
            XCTAssertTrue(error.description.hasPrefix(path + ": "), error.description, file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), file: file, line: line)
            if let text { XCTAssertTrue(error.description.contains(text), error.description, file: file, line: line) }
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    func testReadsARealSnapshotWithTraces() throws {
        let (bytes, path) = try realSnapshot()
        let snapshot = try RawSnapshot(bytes: bytes, path: path)
        let traces = try XCTUnwrap(snapshot.traces)
        XCTAssertTrue(snapshot.header.hasTraces)
        XCTAssertEqual(UInt64(traces.count), snapshot.header.liveBlocks)
        XCTAssertEqual(traces.reduce(0) { $0 + $1.size }, snapshot.header.currentBytes)
        XCTAssertEqual(Set(traces.map(\.address)).count, traces.count, "addresses are unique")
        var perStack: [UInt32: (UInt64, UInt64)] = [:]
        for t in traces { perStack[t.stack, default: (0, 0)].0 += t.size; perStack[t.stack, default: (0, 0)].1 += 1 }
        for (index, stack) in snapshot.stacks.enumerated() {
            let (bytes, blocks) = perStack[UInt32(index)] ?? (0, 0)
            XCTAssertEqual(stack.liveBytes, bytes)
            XCTAssertEqual(stack.liveBlocks, blocks)
        }
        XCTAssertEqual(sections(of: bytes).map(\.tag), [1, 2, 3, 4, 7, 0xFFFF_FFFF])
    }

    func testTruncationAtEverySectionBoundary() throws {
        let (bytes, path) = try realSnapshot()
        var cuts: Set<Int> = [0, 1, 7, 8, 12, 15, 16]
        for s in sections(of: bytes) {
            for delta in [-1, 0, 1, 8, 15, 16, 17] { cuts.insert(s.offset + delta) }
            cuts.insert(s.offset + 16 + s.length - 1)
        }
        for cut in cuts.sorted() where cut >= 0 && cut < bytes.count {
            expectError(Array(bytes[0..<cut]), path: path)
        }
        // the documented wording, for a cut inside the STACKS payload
        let stacks = try XCTUnwrap(sections(of: bytes).first { $0.tag == 3 })
        let cut = stacks.offset + 16 + 10
        expectError(Array(bytes[0..<cut]), path: path,
                    containing: "truncated in the STACKS section (needs \(stacks.length) bytes at offset \(stacks.offset + 16), file has \(cut))")
        expectError(Array(bytes[0..<stacks.offset]), path: path, containing: "truncated after the MODULES section")
        expectError(Array(bytes[0..<10]), path: path, containing: "truncated in the preamble (needs 16 bytes at offset 0, file has 10)")
    }

    func testTruncationAtRandomOffsets() throws {
        let (bytes, path) = try realSnapshot()
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<300 {
            let cut = Int(generator.next() % UInt64(bytes.count))
            expectError(Array(bytes[0..<cut]), path: path)
        }
        expectError([], path: path, containing: "truncated in the preamble")
    }

    func testEveryByteFlipIsCaught() throws {
        let (bytes, path) = try realSnapshot()
        let original = try RawSnapshot(bytes: bytes, path: path)
        var generator = SplitMix64(seed: 42)
        for index in 0..<bytes.count {
            for mask in [UInt8(0xFF), UInt8(1) << (generator.next() % 8)] {
                var damaged = bytes
                damaged[index] ^= mask
                do {
                    let snapshot = try RawSnapshot(bytes: damaged, path: path)
                    // only possible if the CRC collides; then it must at least be a valid snapshot
                    XCTAssertTrue(snapshot != original, "flipping byte \(index) with \(mask) was not detected")
                } catch let error as SnapshotFileError {
                    XCTAssertTrue(error.description.hasPrefix(path + ": "))
                }
            }
        }
        // Resealed, so that the CRC cannot catch it, every flip is refused by the structure checks with
        // a one-line error naming the file, or read as a valid snapshot. Such a snapshot differs from the
        // original (a changed count, address or name), but for flips of bits the reader does not use:
        // the HEADER's and each module's flags above the bits defined (3 bytes each), each segment's
        // and each trace's reserved u32, each stack's flags above bit 0 (its second byte), the UNWIND flags above bit 0 (3 bytes).
        var unchanged: [UInt32: Int] = [:]
        for index in 16..<(bytes.count - 20) {
            var damaged = bytes
            damaged[index] ^= 0xFF
            do {
                let snapshot = try RawSnapshot(bytes: resealed(damaged), path: path)
                if snapshot == original {
                    let section = sections(of: bytes).last { $0.offset + 16 <= index }
                    unchanged[section?.tag ?? 0, default: 0] += 1
                }
            } catch let error as SnapshotFileError {
                XCTAssertTrue(error.description.hasPrefix(path + ": "), error.description)
                XCTAssertFalse(error.description.contains("\n"), error.description)
            } catch {
                XCTFail("flipping byte \(index): unexpected error \(error)")
            }
        }
        let segments = original.modules.reduce(0) { $0 + $1.segments.count }
        XCTAssertEqual(unchanged, [1: 3, 2: 3 * original.modules.count + 4 * segments, 3: original.stacks.count,
                                   4: 4 * (original.traces?.count ?? 0), 7: 3])
        // A section header is structure: a flipped tag, reserved or length byte is always refused.
        // Only the tag of an optional section (UNWIND) may turn into one a reader skips: then the file
        // reads, but without that section.
        for section in sections(of: bytes) where section.tag != 0xFFFF_FFFF {
            for index in section.offset..<(section.offset + 16) {
                var damaged = bytes
                damaged[index] ^= 0xFF
                if section.tag == HEAPSNAP_SECTION_UNWIND, index < section.offset + 4 {
                    let read = try RawSnapshot(bytes: resealed(damaged), path: path)
                    XCTAssertNil(read.header.unwind, "flipping UNWIND's tag byte \(index - section.offset)")
                    XCTAssertNotNil(original.header.unwind)
                    continue
                }
                expectError(resealed(damaged), path: path)
            }
        }
    }

    func testWrongMagicAndVersion() throws {
        let (bytes, path) = try realSnapshot()
        var magic = bytes
        magic[0] = UInt8(ascii: "X")
        expectError(magic, path: path, containing: "not a heapsnap snapshot (wrong magic)")
        var version = bytes
        put32(&version, 8, 3)
        expectError(resealed(version), path: path, containing: "unsupported format version 3 (this reader knows versions 1 to 2)")
        expectError(Array("#!/bin/sh\necho hello\n".utf8), path: path, containing: "wrong magic")
    }

    func testChecksumMismatchIsReported() throws {
        let (bytes, path) = try realSnapshot()
        var damaged = bytes
        damaged[bytes.count - 1] ^= 0x01
        expectError(damaged, path: path, containing: "checksum mismatch")
        expectError(bytes + [0], path: path)
    }

    func testAbsurdCountsAreRejectedWithoutAllocating() throws {
        let (bytes, path) = try realSnapshot()
        let all = sections(of: bytes)
        let modules = try XCTUnwrap(all.first { $0.tag == 2 })
        let stacks = try XCTUnwrap(all.first { $0.tag == 3 })
        let traces = try XCTUnwrap(all.first { $0.tag == 4 })

        var b = bytes
        put32(&b, stacks.offset + 16, .max)
        expectError(resealed(b), path: path, containing: "the STACKS section claims 4294967295 stacks but has room for at most")
        b = bytes
        put32(&b, modules.offset + 16, .max)
        expectError(resealed(b), path: path, containing: "the MODULES section claims 4294967295 modules")
        b = bytes
        put64(&b, traces.offset + 16, .max)
        expectError(resealed(b), path: path, containing: "the TRACES section claims 18446744073709551615 live blocks")
        b = bytes
        put64(&b, stacks.offset + 8, .max)
        expectError(resealed(b), path: path, containing: "truncated in the STACKS section (needs 18446744073709551615 bytes")
        // a live block pointing past the stack table
        b = bytes
        put32(&b, traces.offset + 16 + 8 + 16, 999_999)
        expectError(resealed(b), path: path, containing: "refers to stack 999999")
        // a frame count that runs past the section
        b = bytes
        put32(&b, stacks.offset + 16 + 4 + 4, 0xFFFF)
        expectError(resealed(b), path: path, containing: "malformed STACKS section")
    }

    func testStructuralRules() throws {
        let (bytes, path) = try realSnapshot()
        let all = sections(of: bytes)
        let header = all[0], modules = all[1]
        // HEADER and MODULES swapped: out of order
        var swapped = Array(bytes[0..<16])
        swapped += bytes[modules.offset..<(modules.offset + 16 + modules.length)]
        swapped += bytes[header.offset..<(header.offset + 16 + header.length)]
        swapped += bytes[(modules.offset + 16 + modules.length)...]
        expectError(resealed(swapped), path: path, containing: "out of order")
        // an unknown section is skipped
        var extended = Array(bytes[0..<(all[2].offset)])
        extended += [0x63, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]
        extended += bytes[all[2].offset...]
        XCTAssertEqual(try RawSnapshot(bytes: resealed(extended), path: path), try RawSnapshot(bytes: bytes, path: path))
        // the HEADER's traces flag must match the TRACES section
        var flag = bytes
        put32(&flag, header.offset + 16 + 36, 0)
        expectError(resealed(flag), path: path, containing: "has a TRACES section but the HEADER says")
        // an unknown trigger
        var trigger = bytes
        put32(&trigger, header.offset + 16 + 28, 9)
        expectError(resealed(trigger), path: path, containing: "unknown trigger 9")
    }

    func testFileErrorsNameTheFile() throws {
        let dir = try TemporaryDirectory()
        let missing = dir.path + "/missing.heapsnap"
        XCTAssertThrowsError(try RawSnapshot(contentsOf: missing)) { error in
            XCTAssertTrue("\(error)".hasPrefix(missing + ": cannot open"), "\(error)")
        }
        XCTAssertThrowsError(try RawSnapshot(contentsOf: dir.path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(dir.path + ": "), "\(error)")
        }
        let empty = dir.path + "/empty.heapsnap"
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        XCTAssertThrowsError(try RawSnapshot(contentsOf: empty)) { error in
            XCTAssertEqual("\(error)", empty + ": truncated in the preamble (needs 16 bytes at offset 0, file has 0)")
        }
    }
}

/// CRC-32 (IEEE, zlib's), written independently of the reader's so a shared mistake cannot hide.
func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}

/// A small deterministic generator, so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
