// Rust symbol demangling, both schemes rustc emits:
// - legacy: Itanium-shaped `_ZN<len><ident>...17h<16 hex>E`, with `$LT$`-style escapes and a hash;
// - v0 (RFC 2603): `_R<path>`, a small grammar with backreferences, generics, impls and types.
// Output follows rustc-demangle's alternate form (no hashes, no crate disambiguators).

public enum RustDemangler {
    // MARK: legacy

    private static let legacyEscapes: [(String, String)] = [
        ("$SP$", "@"), ("$BP$", "*"), ("$RF$", "&"), ("$LT$", "<"), ("$GT$", ">"), ("$LP$", "("),
        ("$RP$", ")"), ("$C$", ","),
    ]

    /// Demangles a legacy Rust symbol; nil when `name` is not one (e.g. a C++ symbol).
    public static func demangleLegacy(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        var index: Int
        if bytes.starts(with: Array("_ZN".utf8)) { index = 3 } else if bytes.starts(with: Array("__ZN".utf8)) {
            index = 4
        } else { return nil }
        var components: [String] = []
        while index < bytes.count, bytes[index] != UInt8(ascii: "E") {
            var length = 0
            let digitsStart = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                length = length * 10 + Int(bytes[index] - 48)
                index += 1
                if length > bytes.count { return nil }
            }
            guard index > digitsStart, length > 0, index + length <= bytes.count else { return nil }
            components.append(String(decoding: bytes[index..<index + length], as: UTF8.self))
            index += length
        }
        // After the closing "E" only a compiler suffix such as ".llvm.1234" may follow.
        guard index < bytes.count, index == bytes.count - 1 || bytes[index + 1] == UInt8(ascii: "."),
              let last = components.last else { return nil }
        // The trailing hash component is what tells a Rust symbol from a C++ one.
        let lastBytes = Array(last.utf8)
        guard lastBytes.count == 17, lastBytes[0] == UInt8(ascii: "h"),
              lastBytes.dropFirst().allSatisfy({ isHexDigit($0) }) else { return nil }
        components.removeLast()
        guard !components.isEmpty else { return nil }
        return components.map(unescapeLegacy).joined(separator: "::")
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102)
    }

    private static func unescapeLegacy(_ component: String) -> String {
        var text = Substring(component)
        if text.hasPrefix("_$") { text = text.dropFirst() }
        var out = ""
        while !text.isEmpty {
            if text.hasPrefix("..") {
                out += "::"
                text = text.dropFirst(2)
                continue
            }
            if text.first == "$" {
                if let (escape, replacement) = legacyEscapes.first(where: { text.hasPrefix($0.0) }) {
                    out += replacement
                    text = text.dropFirst(escape.count)
                    continue
                }
                // $u7e$ : a code point in hex.
                if text.hasPrefix("$u"), let end = text.dropFirst(2).firstIndex(of: "$"),
                   let value = UInt32(text[text.index(text.startIndex, offsetBy: 2)..<end], radix: 16),
                   let scalar = Unicode.Scalar(value) {
                    out.unicodeScalars.append(scalar)
                    text = text[text.index(after: end)...]
                    continue
                }
            }
            out.append(text.removeFirst())
        }
        return out
    }

    // MARK: v0

    /// Demangles a v0 Rust symbol (`_R...`); nil when it is malformed.
    public static func demangleV0(_ name: String) -> String? {
        var bytes = Array(name.utf8)
        if bytes.starts(with: Array("__R".utf8)) { bytes.removeFirst() }
        guard bytes.starts(with: Array("_R".utf8)) else { return nil }
        // Vendor suffixes (".llvm.…", "$…") are not part of the grammar.
        if let cut = bytes.dropFirst(2).firstIndex(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "$") }) {
            bytes = Array(bytes[..<cut])
        }
        var parser = V0Parser(bytes: Array(bytes.dropFirst(2)))
        do {
            // Optional encoding version.
            if let first = parser.peek(), first >= 48, first <= 57 { _ = try parser.decimal() }
            let path = try parser.path(inValue: true)
            return path
        } catch {
            return nil
        }
    }
}

private struct V0Error: Error {}

/// A recursive-descent printer for the v0 grammar; positions are offsets after "_R", as backrefs use.
private struct V0Parser {
    let bytes: [UInt8]
    var position = 0
    var boundLifetimes = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func next() throws -> UInt8 {
        guard position < bytes.count else { throw V0Error() }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func eat(_ character: Character) -> Bool {
        if peek() == character.asciiValue { position += 1; return true }
        return false
    }

    mutating func decimal() throws -> Int {
        // "0" is a whole number: decimals have no leading zeros, so "00" is two of them.
        if peek() == UInt8(ascii: "0") {
            position += 1
            return 0
        }
        var value = 0
        var digits = 0
        while let byte = peek(), byte >= 48, byte <= 57 {
            value = value * 10 + Int(byte - 48)
            guard value <= bytes.count else { throw V0Error() }
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw V0Error() }
        return value
    }

    /// `{0-9a-zA-Z} "_"`: "_" is 0, otherwise the base-62 value plus one.
    /// Crate disambiguators are 64-bit hashes and may not fit an Int: they wrap, as only backrefs and
    /// lifetimes use the value, and those are range-checked where they are used.
    mutating func base62() throws -> Int {
        if eat("_") { return 0 }
        var value: UInt64 = 0
        while true {
            let byte = try next()
            let digit: UInt64
            switch byte {
            case 48...57: digit = UInt64(byte - 48)
            case 97...122: digit = UInt64(byte - 97) + 10
            case 65...90: digit = UInt64(byte - 65) + 36
            case UInt8(ascii: "_"): return Int(truncatingIfNeeded: (value &+ 1) & UInt64(Int.max))
            default: throw V0Error()
            }
            value = value &* 62 &+ digit
        }
    }

    mutating func disambiguator() throws -> Int {
        eat("s") ? try base62() + 1 : 0
    }

    mutating func identifier() throws -> (name: String, disambiguator: Int) {
        let disambiguator = try disambiguator()
        let punycode = eat("u")
        let length = try decimal()
        _ = eat("_")
        guard position + length <= bytes.count else { throw V0Error() }
        let text = String(decoding: bytes[position..<position + length], as: UTF8.self)
        position += length
        return (punycode ? decodePunycode(text) ?? "punycode{\(text)}" : text, disambiguator)
    }

    /// Runs `body` at a backreference's target and comes back.
    mutating func backref<T>(_ body: (inout V0Parser) throws -> T) throws -> T {
        let start = position - 1
        let target = try base62()
        guard target < start else { throw V0Error() }
        let saved = position
        position = target
        depth += 1
        guard depth < 200 else { throw V0Error() }
        defer {
            position = saved
            depth -= 1
        }
        return try body(&self)
    }

    mutating func path(inValue: Bool) throws -> String {
        depth += 1
        defer { depth -= 1 }
        guard depth < 200 else { throw V0Error() }
        let tag = try next()
        switch tag {
        case UInt8(ascii: "C"):
            return try identifier().name
        case UInt8(ascii: "M"):
            _ = try disambiguator()
            _ = try path(inValue: false)  // the impl's own path is not printed
            return "<\(try type())>"
        case UInt8(ascii: "X"):
            _ = try disambiguator()
            _ = try path(inValue: false)
            let selfType = try type()
            let trait = try path(inValue: false)
            return "<\(selfType) as \(trait)>"
        case UInt8(ascii: "Y"):
            let selfType = try type()
            let trait = try path(inValue: false)
            return "<\(selfType) as \(trait)>"
        case UInt8(ascii: "N"):
            let namespace = try next()
            let parent = try path(inValue: inValue)
            let (name, disambiguator) = try identifier()
            switch namespace {
            case UInt8(ascii: "C"):
                return "\(parent)::{closure\(name.isEmpty ? "" : ":" + name)#\(disambiguator)}"
            case UInt8(ascii: "S"):
                return "\(parent)::{shim\(name.isEmpty ? "" : ":" + name)#\(disambiguator)}"
            case 65...90:
                return "\(parent)::{\(Character(Unicode.Scalar(namespace)))\(name.isEmpty ? "" : ":" + name)#\(disambiguator)}"
            default:
                return name.isEmpty ? parent : "\(parent)::\(name)"
            }
        case UInt8(ascii: "I"):
            let base = try path(inValue: inValue)
            var arguments: [String] = []
            while !eat("E") { arguments.append(try genericArgument()) }
            return base + (inValue ? "::<" : "<") + arguments.joined(separator: ", ") + ">"
        case UInt8(ascii: "B"):
            return try backref { try $0.path(inValue: inValue) }
        default:
            throw V0Error()
        }
    }

    mutating func genericArgument() throws -> String {
        if eat("L") { return lifetime(try base62()) }
        if eat("K") { return try constant() }
        return try type()
    }

    func lifetime(_ index: Int) -> String {
        if index == 0 { return "'_" }
        let depth = boundLifetimes - index
        guard depth >= 0 else { return "'?" }
        if depth < 26 { return "'" + String(Character(Unicode.Scalar(UInt8(97 + depth)))) }
        return "'_\(depth)"
    }

    static let basicTypes: [UInt8: String] = [
        UInt8(ascii: "a"): "i8", UInt8(ascii: "b"): "bool", UInt8(ascii: "c"): "char", UInt8(ascii: "d"): "f64",
        UInt8(ascii: "e"): "str", UInt8(ascii: "f"): "f32", UInt8(ascii: "h"): "u8", UInt8(ascii: "i"): "isize",
        UInt8(ascii: "j"): "usize", UInt8(ascii: "l"): "i32", UInt8(ascii: "m"): "u32", UInt8(ascii: "n"): "i128",
        UInt8(ascii: "o"): "u128", UInt8(ascii: "s"): "i16", UInt8(ascii: "t"): "u16", UInt8(ascii: "u"): "()",
        UInt8(ascii: "v"): "...", UInt8(ascii: "x"): "i64", UInt8(ascii: "y"): "u64", UInt8(ascii: "z"): "!",
        UInt8(ascii: "p"): "_",
    ]

    mutating func type() throws -> String {
        depth += 1
        defer { depth -= 1 }
        guard depth < 200 else { throw V0Error() }
        guard let tag = peek() else { throw V0Error() }
        if let basic = Self.basicTypes[tag] {
            position += 1
            return basic
        }
        switch tag {
        case UInt8(ascii: "R"), UInt8(ascii: "Q"):
            position += 1
            var prefix = "&"
            if eat("L") {
                let index = try base62()
                if index != 0 { prefix += lifetime(index) + " " }
            }
            if tag == UInt8(ascii: "Q") { prefix += "mut " }
            return prefix + (try type())
        case UInt8(ascii: "P"):
            position += 1
            return "*const " + (try type())
        case UInt8(ascii: "O"):
            position += 1
            return "*mut " + (try type())
        case UInt8(ascii: "A"):
            position += 1
            let element = try type()
            return "[\(element); \(try constant())]"
        case UInt8(ascii: "S"):
            position += 1
            return "[\(try type())]"
        case UInt8(ascii: "T"):
            position += 1
            var elements: [String] = []
            while !eat("E") { elements.append(try type()) }
            return elements.count == 1 ? "(\(elements[0]),)" : "(" + elements.joined(separator: ", ") + ")"
        case UInt8(ascii: "F"):
            position += 1
            return try binder { try $0.functionSignature() }
        case UInt8(ascii: "D"):
            position += 1
            let bounds = try binder { parser -> String in
                var traits: [String] = []
                while !parser.eat("E") { traits.append(try parser.dynTrait()) }
                return traits.joined(separator: " + ")
            }
            guard eat("L") else { throw V0Error() }
            let index = try base62()
            return "dyn " + bounds + (index != 0 ? " + " + lifetime(index) : "")
        case UInt8(ascii: "B"):
            position += 1
            return try backref { try $0.type() }
        default:
            return try path(inValue: false)
        }
    }

    /// `[G <base-62>] body`: lifetimes bound for the body.
    mutating func binder(_ body: (inout V0Parser) throws -> String) throws -> String {
        var bound = 0
        if eat("G") { bound = try base62() + 1 }
        let saved = boundLifetimes
        boundLifetimes += bound
        defer { boundLifetimes = saved }
        let text = try body(&self)
        guard bound > 0 else { return text }
        let names = (1...bound).map { lifetime(boundLifetimes - bound + $0) }
        return "for<\(names.joined(separator: ", "))> " + text
    }

    mutating func functionSignature() throws -> String {
        var text = ""
        if eat("U") { text += "unsafe " }
        if eat("K") {
            if eat("C") { text += "extern \"C\" " } else {
                let abi = try identifier().name.replacingOccurrences(of: "_", with: "-")
                text += "extern \"\(abi)\" "
            }
        }
        var parameters: [String] = []
        while !eat("E") { parameters.append(try type()) }
        let result = try type()
        text += "fn(" + parameters.joined(separator: ", ") + ")"
        if result != "()" { text += " -> " + result }
        return text
    }

    mutating func dynTrait() throws -> String {
        var trait = try path(inValue: false)
        var bindings: [String] = []
        while eat("p") {
            let name = try identifier().name
            bindings.append("\(name) = \(try type())")
        }
        if !bindings.isEmpty {
            if trait.hasSuffix(">") {
                trait.removeLast()
                trait += ", " + bindings.joined(separator: ", ") + ">"
            } else {
                trait += "<" + bindings.joined(separator: ", ") + ">"
            }
        }
        return trait
    }

    mutating func constant() throws -> String {
        if eat("p") { return "_" }
        if eat("B") { return try backref { try $0.constant() } }
        let typeTag = try next()
        let negative = eat("n")
        var value: UInt64 = 0
        var digits = 0
        while true {
            let byte = try next()
            if byte == UInt8(ascii: "_") { break }
            let digit: UInt64
            switch byte {
            case 48...57: digit = UInt64(byte - 48)
            case 97...102: digit = UInt64(byte - 87)
            default: throw V0Error()
            }
            digits += 1
            guard digits <= 16 else { throw V0Error() }
            value = value << 4 | digit
        }
        switch typeTag {
        case UInt8(ascii: "b"):
            guard value <= 1 else { throw V0Error() }
            return value == 1 ? "true" : "false"
        case UInt8(ascii: "c"):
            guard let scalar = Unicode.Scalar(UInt32(truncatingIfNeeded: value)) else { throw V0Error() }
            return "'\(Character(scalar))'"
        case UInt8(ascii: "a"), UInt8(ascii: "s"), UInt8(ascii: "l"), UInt8(ascii: "x"), UInt8(ascii: "n"),
             UInt8(ascii: "i"):
            return (negative ? "-" : "") + String(value)
        case UInt8(ascii: "h"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "y"), UInt8(ascii: "o"),
             UInt8(ascii: "j"):
            guard !negative else { throw V0Error() }
            return String(value)
        default:
            throw V0Error()
        }
    }
}

/// RFC 3492 punycode as Rust uses it for non-ASCII identifiers (with "_" in place of "-").
func decodePunycode(_ text: String) -> String? {
    let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700
    var input = Array(text.unicodeScalars)
    var output: [Unicode.Scalar] = []
    if let separator = input.lastIndex(of: "_") {
        output = Array(input[..<separator])
        input = Array(input[(separator + 1)...])
    }
    var n = 128, i = 0, bias = 72
    var index = 0
    func adapt(_ delta: Int, _ count: Int, _ first: Bool) -> Int {
        var delta = first ? delta / damp : delta / 2
        delta += delta / count
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }
    while index < input.count {
        let oldI = i
        var w = 1
        var k = base
        while true {
            guard index < input.count else { return nil }
            let c = input[index].value
            index += 1
            let digit: Int
            switch c {
            case 97...122: digit = Int(c - 97)
            case 48...57: digit = Int(c - 48) + 26
            default: return nil
            }
            i += digit * w
            let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
            if digit < t { break }
            w *= base - t
            k += base
            if i > 0x10FFFF * 4 { return nil }
        }
        bias = adapt(i - oldI, output.count + 1, oldI == 0)
        n += i / (output.count + 1)
        i %= output.count + 1
        guard let scalar = Unicode.Scalar(n) else { return nil }
        output.insert(scalar, at: i)
        i += 1
    }
    var result = ""
    result.unicodeScalars.append(contentsOf: output)
    return result
}
