// Reading the "traces" of an offline snapshot fast. They are nearly all of a large document and only
// numbers, and JSONDecoder takes 2-3 times as long over them as this parser (Docs/BENCHMARKS.md,
// 2026-12-01), so the document is split: a byte scanner finds the top-level "traces" array, this
// parser reads it into the Codable shape's TraceRecord (its keys are TraceRecord.CodingKeys, spelled
// once), and JSONDecoder reads the rest (module paths, function names: everything with strings).
// Anything the scanner does not understand goes back to JSONDecoder over the whole document, which
// also explains errors.
import Foundation

struct JSONTraceReader {
    private typealias Key = SnapshotDocument.TraceRecord.CodingKeys

    struct Failure: Error {
        var message: String
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position: Int

    private init(bytes: UnsafeBufferPointer<UInt8>, position: Int) {
        self.bytes = bytes
        self.position = position
    }

    /// The byte range of the top-level object's "traces" value, when the document is an object that has
    /// one and scans cleanly.
    static func tracesRange(in bytes: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        var reader = JSONTraceReader(bytes: bytes, position: 0)
        do {
            reader.skipSpace()
            try reader.expect(UInt8(ascii: "{"))
            var found: Range<Int>?
            reader.skipSpace()
            if reader.peek() == UInt8(ascii: "}") { return nil }
            while true {
                reader.skipSpace()
                let key = try reader.rawString()
                reader.skipSpace()
                try reader.expect(UInt8(ascii: ":"))
                reader.skipSpace()
                let start = reader.position
                try reader.skipValue(depth: 0)
                if key.elementsEqual(SnapshotDocument.CodingKeys.traces.stringValue.utf8) {
                    guard found == nil else { return nil }
                    found = start..<reader.position
                }
                reader.skipSpace()
                if reader.peek() == UInt8(ascii: ",") {
                    reader.position += 1
                    continue
                }
                try reader.expect(UInt8(ascii: "}"))
                return found
            }
        } catch {
            return nil
        }
    }

    /// Parses the traces array at `range`.
    static func traces(in bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>) throws -> [SnapshotDocument.TraceRecord] {
        var reader = JSONTraceReader(bytes: bytes, position: range.lowerBound)
        var traces: [SnapshotDocument.TraceRecord] = []
        try reader.expect(UInt8(ascii: "["))
        reader.skipSpace()
        if reader.peek() == UInt8(ascii: "]") { return [] }
        while true {
            reader.skipSpace()
            traces.append(try reader.trace(number: traces.count))
            reader.skipSpace()
            if reader.peek() == UInt8(ascii: ",") {
                reader.position += 1
                continue
            }
            try reader.expect(UInt8(ascii: "]"))
            return traces
        }
    }

    private mutating func trace(number: Int) throws -> SnapshotDocument.TraceRecord {
        var count: UInt64?, domain: UInt64?, size: UInt64?, totalAllocations: UInt64?, totalBytes: UInt64?
        var temporaryAllocations: UInt64?
        var truncated: Bool?
        var frames: [Int]?
        var pythonStart: UInt64?
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if peek() != UInt8(ascii: "}") {
            while true {
                skipSpace()
                let name = String(decoding: try rawString(), as: UTF8.self)
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                switch Key(stringValue: name) {
                case .count: count = try unsigned(at: number, name)
                case .domain: domain = try unsigned(at: number, name)
                case .size: size = try unsigned(at: number, name)
                case .totalAllocations: totalAllocations = try unsigned(at: number, name)
                case .totalBytes: totalBytes = try unsigned(at: number, name)
                case .temporaryAllocations: temporaryAllocations = try unsigned(at: number, name)
                case .truncated: truncated = try boolean(at: number, name)
                case .frames: frames = try indices(at: number)
                case .pythonStart: pythonStart = try unsigned(at: number, name)
                case nil: try skipValue(depth: 0)
                }
                skipSpace()
                if peek() == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                break
            }
        }
        try expect(UInt8(ascii: "}"))
        func required<T>(_ value: T?, _ key: Key) throws -> T {
            guard let value else { throw Failure(message: "missing \"\(key.stringValue)\" at .traces[\(number)]") }
            return value
        }
        let domainValue = try required(domain, .domain)
        guard domainValue <= UInt64(UInt32.max) else {
            throw Failure(message: "wrong value at .traces[\(number)].\(Key.domain.stringValue)")
        }
        return SnapshotDocument.TraceRecord(
            domain: UInt32(domainValue), size: try required(size, .size), count: try required(count, .count),
            totalAllocations: try required(totalAllocations, .totalAllocations),
            totalBytes: try required(totalBytes, .totalBytes), temporaryAllocations: temporaryAllocations ?? 0,
            truncated: try required(truncated, .truncated),
            frames: try required(frames, .frames), pythonStart: try pythonStart.map { start in
                guard start <= UInt64(Int.max) else {
                    throw Failure(message: "wrong value at .traces[\(number)].\(Key.pythonStart.stringValue)")
                }
                return Int(start)
            })
    }

    // MARK: tokens

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else { throw Failure(message: "malformed heapsnap snapshot JSON") }
        position += 1
    }

    /// The bytes between the quotes of a string, escapes left as they are (keys have none).
    private mutating func rawString() throws -> UnsafeBufferPointer<UInt8> {
        try expect(UInt8(ascii: "\""))
        let start = position
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\""):
                defer { position += 1 }
                return UnsafeBufferPointer(rebasing: bytes[start..<position])
            case UInt8(ascii: "\\"): position += 2
            default: position += 1
            }
        }
        throw Failure(message: "malformed heapsnap snapshot JSON")
    }

    private mutating func unsigned(at number: Int, _ key: String) throws -> UInt64 {
        let start = position
        var value: UInt64 = 0
        while let byte = peek(), byte >= 48, byte <= 57 {
            let (product, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = product.addingReportingOverflow(UInt64(byte - 48))
            guard !overflow1, !overflow2 else { throw Failure(message: "wrong value at .traces[\(number)].\(key)") }
            value = sum
            position += 1
        }
        // A sign, a fraction or an exponent is not a count of bytes.
        guard position > start, !(peek().map { [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains($0) } ?? false)
        else { throw Failure(message: "wrong value at .traces[\(number)].\(key)") }
        return value
    }

    private mutating func boolean(at number: Int, _ key: String) throws -> Bool {
        for (word, value) in [("true", true), ("false", false)] {
            let utf8 = Array(word.utf8)
            if position + utf8.count <= bytes.count, bytes[position..<position + utf8.count].elementsEqual(utf8) {
                position += utf8.count
                return value
            }
        }
        throw Failure(message: "wrong value at .traces[\(number)].\(key)")
    }

    private mutating func indices(at number: Int) throws -> [Int] {
        guard peek() == UInt8(ascii: "[") else { throw Failure(message: "wrong value at .traces[\(number)].\(Key.frames.stringValue)") }
        position += 1
        var result: [Int] = []
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return result
        }
        while true {
            skipSpace()
            let value = try unsigned(at: number, Key.frames.stringValue)
            guard value <= UInt64(Int.max) else { throw Failure(message: "wrong value at .traces[\(number)].\(Key.frames.stringValue)") }
            result.append(Int(value))
            skipSpace()
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            guard peek() == UInt8(ascii: "]") else {
                throw Failure(message: "wrong value at .traces[\(number)].\(Key.frames.stringValue)")
            }
            position += 1
            return result
        }
    }

    /// Skips one value of any kind, checking only its structure.
    private mutating func skipValue(depth: Int) throws {
        guard depth < 512 else { throw Failure(message: "malformed heapsnap snapshot JSON") }
        switch peek() {
        case UInt8(ascii: "\""):
            _ = try rawString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = peek() == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            position += 1
            skipSpace()
            if peek() == close {
                position += 1
                return
            }
            while true {
                skipSpace()
                if isObject {
                    _ = try rawString()
                    skipSpace()
                    try expect(UInt8(ascii: ":"))
                    skipSpace()
                }
                try skipValue(depth: depth + 1)
                skipSpace()
                if peek() == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                try expect(close)
                return
            }
        case .some:
            // Numbers, true, false, null: up to the next delimiter.
            let start = position
            while let byte = peek(), ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D]
                .contains(byte) {
                position += 1
            }
            guard position > start else { throw Failure(message: "malformed heapsnap snapshot JSON") }
        case nil:
            throw Failure(message: "malformed heapsnap snapshot JSON")
        }
    }
}
