// Line numbers of CPython 3.11+ code objects, from a copy of `co_linetable` (the "locations table" of
// python/cpython InternalDocs/code_objects.md). The tracker copies the bytes; this is the only decoder.

/// A decoded locations table: instruction offset (in code units) -> source line, as
/// `PyCode_Addr2Line` answers it.
public struct PythonLineTable: Sendable, Equatable {
    /// One run of instructions: code units [start, end) and their line (nil: no location).
    public struct Range: Sendable, Equatable {
        public var start: UInt32
        public var end: UInt32
        public var line: Int?
    }

    /// In order, without gaps, starting at offset 0; zero-length runs are dropped.
    public private(set) var ranges: [Range] = []
    /// False when the bytes ended in the middle of an entry or held a byte that starts no entry: the
    /// runs decoded before that point are kept, the rest of the code has no line.
    public private(set) var isWellFormed = true

    /// Decodes `bytes` of a code object whose `co_firstlineno` is `firstLine`.
    public init(bytes: [UInt8], firstLine: Int) {
        var reader = Reader(bytes: bytes)
        var line = firstLine
        var offset: UInt32 = 0
        while reader.index < bytes.count {
            let head = bytes[reader.index]
            reader.index += 1
            // Every entry starts with a byte whose top bit is set; any other byte here is corruption.
            guard head & 0x80 != 0 else { isWellFormed = false; break }
            let code = (head >> 3) & 0x0F
            let length = UInt32(head & 0x07) + 1
            var hasLine = true
            switch code {
            case 15:  // no location
                hasLine = false
            case 14:  // long form: line delta, end-line delta, column + 1, end column + 1
                guard let delta = reader.signedVarint(), reader.varint() != nil, reader.varint() != nil,
                      reader.varint() != nil else { isWellFormed = false; break }
                line += delta
            case 13:  // no column: line delta only
                guard let delta = reader.signedVarint() else { isWellFormed = false; break }
                line += delta
            case 10, 11, 12:  // one-line form: delta = code - 10, then column and end column bytes
                guard reader.skip(2) else { isWellFormed = false; break }
                line += Int(code) - 10
            default:  // short form (codes 0-9): same line, one byte of columns
                guard reader.skip(1) else { isWellFormed = false; break }
            }
            guard isWellFormed else { break }
            append(Range(start: offset, end: offset + length, line: hasLine ? line : nil))
            offset += length
        }
    }

    private mutating func append(_ range: Range) {
        if let last = ranges.last, last.line == range.line {
            ranges[ranges.count - 1].end = range.end
        } else {
            ranges.append(range)
        }
    }

    /// Number of code units the table covers.
    public var codeUnits: UInt32 { ranges.last?.end ?? 0 }

    /// The line of the instruction at `offset` (code units from the start of the code), nil when the
    /// instruction has no location or lies beyond the table.
    public func line(at offset: UInt32) -> Int? {
        var low = 0, high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].end <= offset { low = middle + 1 } else { high = middle }
        }
        return low < ranges.count && ranges[low].start <= offset ? ranges[low].line : nil
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        mutating func skip(_ count: Int) -> Bool {
            guard bytes.count - index >= count else { return false }
            index += count
            return true
        }

        /// 6-bit chunks, least significant first, bit 6 set on every chunk but the last.
        mutating func varint() -> Int? {
            var value = 0, shift = 0
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                // An entry's head byte can never be part of a varint.
                guard byte & 0x80 == 0, shift <= 56 else { return nil }
                value |= Int(byte & 0x3F) << shift
                if byte & 0x40 == 0 { return value }
                shift += 6
            }
            return nil
        }

        /// A varint whose lowest bit is the sign.
        mutating func signedVarint() -> Int? {
            guard let raw = varint() else { return nil }
            return raw & 1 != 0 ? -(raw >> 1) : raw >> 1
        }
    }
}
