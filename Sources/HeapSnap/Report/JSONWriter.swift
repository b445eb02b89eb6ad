// The one JSON writer: every document heapsnap writes (reports, `info`, the offline snapshot) is an
// Encodable value written by this Encoder. Unlike JSONEncoder it keeps keys in the order a type encodes
// them (so documents read top-down: snapshot, total, stats), writes 64-bit integers exactly, and streams
// straight to bytes without building a tree, so a snapshot of a million frames costs no more than its text.

/// Writes Encodable values as JSON; `pretty` indents by two spaces, one value a line.
public struct JSONWriter: Sendable {
    public var pretty: Bool

    public init(pretty: Bool = true) {
        self.pretty = pretty
    }

    /// `capacity`: a guess at the size, so that a large document is not copied as it grows.
    public func bytes<Value: Encodable>(_ value: Value, capacity: Int = 1 << 16) throws -> [UInt8] {
        let output = JSONOutput(pretty: pretty, capacity: capacity)
        try output.value(value, codingPath: [])
        return output.bytes
    }

    public func string<Value: Encodable>(_ value: Value) throws -> String {
        String(decoding: try bytes(value), as: UTF8.self)
    }
}

/// The text written so far and the containers still open, innermost last.
final class JSONOutput {
    private struct State {
        var bytes: [UInt8] = []
        /// Per open container: whether it is an object, and how many members it has so far.
        var open: [(isObject: Bool, members: Int)] = []
        /// Set whenever a value or container is written: a value whose encode(to:) wrote nothing is `{}`.
        var wrote = false
    }

    // Behind a pointer: a class's stored properties pay a dynamic exclusivity check on every access,
    // which is most of the cost of writing a number.
    private let state: UnsafeMutablePointer<State>
    let pretty: Bool

    var bytes: [UInt8] {
        get { state.pointee.bytes }
        _modify { yield &state.pointee.bytes }
    }
    private var open: [(isObject: Bool, members: Int)] {
        get { state.pointee.open }
        _modify { yield &state.pointee.open }
    }
    private var wrote: Bool {
        get { state.pointee.wrote }
        _modify { yield &state.pointee.wrote }
    }

    init(pretty: Bool, capacity: Int = 1 << 16) {
        self.pretty = pretty
        state = .allocate(capacity: 1)
        state.initialize(to: State())
        state.pointee.bytes.reserveCapacity(capacity)
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    var depth: Int { open.count }

    func isObject(at level: Int) -> Bool { level < open.count && open[level].isObject }

    // MARK: structure

    func openContainer(object: Bool) {
        wrote = true
        bytes.append(object ? UInt8(ascii: "{") : UInt8(ascii: "["))
        open.append((object, 0))
    }

    /// Closes every container deeper than `level`.
    func close(to level: Int) {
        while open.count > level {
            let container = open.removeLast()
            if container.members > 0 { newline() }
            bytes.append(container.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
    }

    /// Starts the next member of the container at `level` (an object's key, or an array's element).
    func member(at level: Int, key: String?) {
        close(to: level + 1)
        if open[level].members > 0 { bytes.append(UInt8(ascii: ",")) }
        open[level].members += 1
        newline()
        if let key {
            string(key)
            bytes.append(UInt8(ascii: ":"))
            if pretty { bytes.append(UInt8(ascii: " ")) }
        }
    }

    private func newline() {
        guard pretty else { return }
        bytes.append(UInt8(ascii: "\n"))
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * open.count))
    }

    // MARK: values

    func value<Value: Encodable>(_ value: Value, codingPath: @autoclosure () -> [any CodingKey]) throws {
        if primitive(value) { return }
        let level = open.count
        wrote = false
        try value.encode(to: JSONStreamEncoder(output: self, level: level, codingPath: codingPath()))
        close(to: level)
        if !wrote { bytes.append(contentsOf: "{}".utf8) }
        wrote = true
    }

    /// Writes `value` when it is one of the common plain types. Generic code (Array's encode, Optional's)
    /// reaches the writer this way for every element: the types are told apart by their metatype, which
    /// costs a comparison, not a dynamic cast.
    private func primitive<Value>(_ value: Value) -> Bool {
        if Value.self == Int.self {
            signed(Int64(unsafeBitCast(value, to: Int.self)))
        } else if Value.self == UInt64.self {
            unsigned(unsafeBitCast(value, to: UInt64.self))
        } else if Value.self == String.self {
            string(unsafeBitCast(value, to: String.self))
        } else if Value.self == [Int].self {
            let numbers = unsafeBitCast(value, to: [Int].self)
            openContainer(object: false)
            let level = open.count - 1
            for number in numbers {
                member(at: level, key: nil)
                signed(Int64(number))
            }
            close(to: level)
        } else {
            return false
        }
        return true
    }

    func null() { bytes.append(contentsOf: "null".utf8); wrote = true }
    func boolean(_ value: Bool) { bytes.append(contentsOf: value ? "true".utf8 : "false".utf8); wrote = true }

    func signed(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        unsigned(value.magnitude)
    }

    func unsigned(_ number: UInt64) {
        wrote = true
        var value = number
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            } while value > 0
            bytes.append(contentsOf: buffer[start...])
        }
    }

    /// Whole numbers below 1e15 without a fraction; NaN and infinities, which JSON lacks, as null.
    func double(_ value: Double) {
        if !value.isFinite { return null() }
        if value == value.rounded(), abs(value) < 1e15 { return signed(Int64(value)) }
        bytes.append(contentsOf: "\(value)".utf8)
        wrote = true
    }

    func string(_ text: String) {
        wrote = true
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
            case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
            case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// The Encoder handed to each value; `level` is the depth of the container the value opens.
struct JSONStreamEncoder: Encoder {
    let output: JSONOutput
    let level: Int
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        // A second request (a type that encodes another's fields into its own object) adds to the same object.
        if output.isObject(at: level) {
            output.close(to: level + 1)
        } else {
            output.openContainer(object: true)
        }
        return KeyedEncodingContainer(KeyedContainer(output: output, level: level, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        output.openContainer(object: false)
        return UnkeyedContainer(output: output, level: level, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(output: output, level: level, codingPath: codingPath)
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let output: JSONOutput
        let level: Int
        var codingPath: [any CodingKey]

        private func key(_ key: Key) { output.member(at: level, key: key.stringValue) }

        mutating func encodeNil(forKey key: Key) throws { self.key(key); output.null() }
        mutating func encode(_ value: Bool, forKey key: Key) throws { self.key(key); output.boolean(value) }
        mutating func encode(_ value: String, forKey key: Key) throws { self.key(key); output.string(value) }
        mutating func encode(_ value: Double, forKey key: Key) throws { self.key(key); output.double(value) }
        mutating func encode(_ value: Float, forKey key: Key) throws { self.key(key); output.double(Double(value)) }
        mutating func encode(_ value: Int, forKey key: Key) throws { self.key(key); output.signed(Int64(value)) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { self.key(key); output.signed(Int64(value)) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { self.key(key); output.signed(Int64(value)) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { self.key(key); output.signed(Int64(value)) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { self.key(key); output.signed(value) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { self.key(key); output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { self.key(key); output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { self.key(key); output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { self.key(key); output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { self.key(key); output.unsigned(value) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            self.key(key)
            try output.value(value, codingPath: codingPath + [key])
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            self.key(key)
            output.openContainer(object: true)
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(
                output: output, level: level + 1, codingPath: codingPath + [key]))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            self.key(key)
            output.openContainer(object: false)
            return UnkeyedContainer(output: output, level: level + 1, codingPath: codingPath + [key])
        }

        mutating func superEncoder() -> any Encoder {
            JSONStreamEncoder(output: output, level: level, codingPath: codingPath)
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            self.key(key)
            return JSONStreamEncoder(output: output, level: level + 1, codingPath: codingPath + [key])
        }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let output: JSONOutput
        let level: Int
        var codingPath: [any CodingKey]
        private(set) var count = 0

        init(output: JSONOutput, level: Int, codingPath: [any CodingKey]) {
            self.output = output
            self.level = level
            self.codingPath = codingPath
        }

        private mutating func element() {
            output.member(at: level, key: nil)
            count += 1
        }

        mutating func encodeNil() throws { element(); output.null() }
        mutating func encode(_ value: Bool) throws { element(); output.boolean(value) }
        mutating func encode(_ value: String) throws { element(); output.string(value) }
        mutating func encode(_ value: Double) throws { element(); output.double(value) }
        mutating func encode(_ value: Float) throws { element(); output.double(Double(value)) }
        mutating func encode(_ value: Int) throws { element(); output.signed(Int64(value)) }
        mutating func encode(_ value: Int8) throws { element(); output.signed(Int64(value)) }
        mutating func encode(_ value: Int16) throws { element(); output.signed(Int64(value)) }
        mutating func encode(_ value: Int32) throws { element(); output.signed(Int64(value)) }
        mutating func encode(_ value: Int64) throws { element(); output.signed(value) }
        mutating func encode(_ value: UInt) throws { element(); output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt8) throws { element(); output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt16) throws { element(); output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt32) throws { element(); output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt64) throws { element(); output.unsigned(value) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            element()
            try output.value(value, codingPath: codingPath)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            element()
            output.openContainer(object: true)
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(output: output, level: level + 1, codingPath: codingPath))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            element()
            output.openContainer(object: false)
            return UnkeyedContainer(output: output, level: level + 1, codingPath: codingPath)
        }

        mutating func superEncoder() -> any Encoder {
            element()
            return JSONStreamEncoder(output: output, level: level + 1, codingPath: codingPath)
        }
    }

    struct SingleValueContainer: SingleValueEncodingContainer {
        let output: JSONOutput
        let level: Int
        var codingPath: [any CodingKey]

        mutating func encodeNil() throws { output.null() }
        mutating func encode(_ value: Bool) throws { output.boolean(value) }
        mutating func encode(_ value: String) throws { output.string(value) }
        mutating func encode(_ value: Double) throws { output.double(value) }
        mutating func encode(_ value: Float) throws { output.double(Double(value)) }
        mutating func encode(_ value: Int) throws { output.signed(Int64(value)) }
        mutating func encode(_ value: Int8) throws { output.signed(Int64(value)) }
        mutating func encode(_ value: Int16) throws { output.signed(Int64(value)) }
        mutating func encode(_ value: Int32) throws { output.signed(Int64(value)) }
        mutating func encode(_ value: Int64) throws { output.signed(value) }
        mutating func encode(_ value: UInt) throws { output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt8) throws { output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt16) throws { output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt32) throws { output.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt64) throws { output.unsigned(value) }
        mutating func encode<T: Encodable>(_ value: T) throws { try output.value(value, codingPath: codingPath) }
    }
}
