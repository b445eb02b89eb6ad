// Reading the "traces" of an offline snapshot fast. They are nearly all of a large document and only
// numbers, so the document is split: a byte scanner finds the top-level "traces" array, a small
// parser made for JSONTrace's shape reads it, and JSONDecoder reads the rest (module paths, function
// names: everything with strings). Anything the scanner does not understand goes back to the plain
// JSONDecoder path, which explains errors.
import Foundation

struct JSONTraceReader {
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
                if key.elementsEqual("traces".utf8) {
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
    static func traces(in bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>) throws -> [JSONTrace] {
        var reader = JSONTraceReader(bytes: bytes, position: range.lowerBound)
        var traces: [JSONTrace] = []
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

    private mutating func trace(number: Int) throws -> JSONTrace {
        var count: UInt64?, domain: UInt64?, size: UInt64?, totalAllocations: UInt64?, totalBytes: UInt64?
        var temporaryAllocations: UInt64?
        var truncated: Bool?
        var frames: [Int]?
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if peek() != UInt8(ascii: "}") {
            while true {
                skipSpace()
                let key = String(decoding: try rawString(), as: UTF8.self)
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                switch key {
                case "count": count = try unsigned(at: number, key)
                case "domain": domain = try unsigned(at: number, key)
                case "size": size = try unsigned(at: number, key)
                case "total_allocations": totalAllocations = try unsigned(at: number, key)
                case "total_bytes": totalBytes = try unsigned(at: number, key)
                case "temporary_allocations": temporaryAllocations = try unsigned(at: number, key)
                case "truncated": truncated = try boolean(at: number, key)
                case "frames": frames = try indices(at: number)
                default: try skipValue(depth: 0)
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
        func required<T>(_ value: T?, _ key: String) throws -> T {
            guard let value else { throw Failure(message: "missing \"\(key)\" at .traces[\(number)]") }
            return value
        }
        let domainValue = try required(domain, "domain")
        guard domainValue <= UInt64(UInt32.max) else {
            throw Failure(message: "wrong value at .traces[\(number)].domain")
        }
        return JSONTrace(
            domain: UInt32(domainValue), size: try required(size, "size"), count: try required(count, "count"),
            totalAllocations: try required(totalAllocations, "total_allocations"),
            totalBytes: try required(totalBytes, "total_bytes"), temporaryAllocations: temporaryAllocations,
            truncated: try required(truncated, "truncated"),
            frames: try required(frames, "frames"))
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
        guard peek() == UInt8(ascii: "[") else { throw Failure(message: "wrong value at .traces[\(number)].frames") }
        position += 1
        var result: [Int] = []
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return result
        }
        while true {
            skipSpace()
            let value = try unsigned(at: number, "frames")
            guard value <= UInt64(Int.max) else { throw Failure(message: "wrong value at .traces[\(number)].frames") }
            result.append(Int(value))
            skipSpace()
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            guard peek() == UInt8(ascii: "]") else {
                throw Failure(message: "wrong value at .traces[\(number)].frames")
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
