// One frame of a traceback, shared by every trace that passes through it. Built by the Symbolizer or
// read back from offline JSON.

/// One frame of a traceback: where a return address (or an inlined call inside it) points.
///
/// A value type whose fields live in one shared, immutable box: a snapshot repeats each distinct frame
/// in thousands of tracebacks, so copies cost a pointer, and hashing and comparing (which grouping
/// does millions of times) use a hash computed once and the box's identity.
public struct Frame: Hashable, Sendable {
    final class Storage: @unchecked Sendable {
        let module: String
        let function: String?
        let file: String?
        let line: Int
        let address: UInt64?
        let moduleOffset: UInt64?
        let symbolOffset: UInt64?
        let isInlined: Bool
        let isPython: Bool
        let functionLine: Int
        let hash: Int
        let location: String
        let moduleName: String

        init(module: String, function: String?, file: String?, line: Int, address: UInt64?, moduleOffset: UInt64?,
             symbolOffset: UInt64?, isInlined: Bool, isPython: Bool = false, functionLine: Int = 0) {
            self.module = module
            self.function = function
            self.file = file
            self.line = line
            self.address = address
            self.moduleOffset = moduleOffset
            self.symbolOffset = symbolOffset
            self.isInlined = isInlined
            self.isPython = isPython
            self.functionLine = functionLine
            var hasher = Hasher()
            hasher.combine(module)
            hasher.combine(function)
            hasher.combine(file)
            hasher.combine(line)
            hasher.combine(address)
            hasher.combine(moduleOffset)
            hasher.combine(symbolOffset)
            hasher.combine(isInlined)
            hasher.combine(isPython)
            hasher.combine(functionLine)
            hash = hasher.finalize()
            if let slash = module.lastIndex(of: "/") {
                moduleName = String(module[module.index(after: slash)...])
            } else {
                moduleName = module
            }
            location = Storage.location(module: module, moduleName: moduleName, function: function, file: file,
                                        line: line, address: address, moduleOffset: moduleOffset,
                                        symbolOffset: symbolOffset)
        }

        func with(_ change: (inout Fields) -> Void) -> Storage {
            var fields = Fields(module: module, function: function, file: file, line: line, address: address,
                                moduleOffset: moduleOffset, symbolOffset: symbolOffset, isInlined: isInlined,
                                isPython: isPython, functionLine: functionLine)
            change(&fields)
            return Storage(module: fields.module, function: fields.function, file: fields.file, line: fields.line,
                           address: fields.address, moduleOffset: fields.moduleOffset,
                           symbolOffset: fields.symbolOffset, isInlined: fields.isInlined, isPython: fields.isPython,
                           functionLine: fields.functionLine)
        }

        func equals(_ other: Storage) -> Bool {
            self === other || (hash == other.hash && line == other.line && isInlined == other.isInlined
                && isPython == other.isPython && functionLine == other.functionLine
                && address == other.address && moduleOffset == other.moduleOffset
                && symbolOffset == other.symbolOffset && file == other.file && function == other.function
                && module == other.module)
        }

        static func location(module: String, moduleName: String, function: String?, file: String?, line: Int,
                             address: UInt64?, moduleOffset: UInt64?, symbolOffset: UInt64?) -> String {
            if let file {
                return line > 0 ? "\(file):\(line)" : file
            }
            if let function {
                if let symbolOffset { return "\(function)+0x\(String(symbolOffset, radix: 16))" }
                return function
            }
            let name = module.isEmpty ? "?" : moduleName
            if let moduleOffset { return "\(name)+0x\(String(moduleOffset, radix: 16))" }
            if let address { return "\(name)+0x\(String(address, radix: 16))" }
            return name
        }
    }

    struct Fields {
        var module: String
        var function: String?
        var file: String?
        var line: Int
        var address: UInt64?
        var moduleOffset: UInt64?
        var symbolOffset: UInt64?
        var isInlined: Bool
        var isPython: Bool
        var functionLine: Int
    }

    var storage: Storage

    public init(
        module: String, function: String? = nil, file: String? = nil, line: Int = 0,
        address: UInt64? = nil, moduleOffset: UInt64? = nil, symbolOffset: UInt64? = nil, isInlined: Bool = false,
        isPython: Bool = false, functionLine: Int = 0
    ) {
        storage = Storage(module: module, function: function, file: file, line: line, address: address,
                          moduleOffset: moduleOffset, symbolOffset: symbolOffset, isInlined: isInlined,
                          isPython: isPython, functionLine: functionLine)
    }

    /// A frame of Python code: `file` is the code's co_filename, `function` its co_qualname, `line` the
    /// line of the instruction running (0 when it has none). Its module is the file, so grouping by
    /// module names Python modules by their files.
    public static func python(file: String, function: String, line: Int) -> Frame {
        Frame(module: file, function: function, file: file, line: line, isPython: true)
    }

    /// Path of the module (executable or shared library) the address belongs to; "" when none.
    public var module: String {
        get { storage.module }
        set { storage = storage.with { $0.module = newValue } }
    }
    /// Demangled function name, when debug info or a symbol names it.
    public var function: String? {
        get { storage.function }
        set { storage = storage.with { $0.function = newValue } }
    }
    /// Source file, when debug info gives one.
    public var file: String? {
        get { storage.file }
        set { storage = storage.with { $0.file = newValue } }
    }
    /// Source line; 0 when unknown.
    public var line: Int {
        get { storage.line }
        set { storage = storage.with { $0.line = newValue } }
    }
    /// The runtime return address (the same for every inlined frame it expands to).
    public var address: UInt64? {
        get { storage.address }
        set { storage = storage.with { $0.address = newValue } }
    }
    /// `address` relative to the module's load bias: the ELF virtual address.
    public var moduleOffset: UInt64? {
        get { storage.moduleOffset }
        set { storage = storage.with { $0.moduleOffset = newValue } }
    }
    /// Offset of `address` from the start of the ELF symbol `function` came from.
    public var symbolOffset: UInt64? {
        get { storage.symbolOffset }
        set { storage = storage.with { $0.symbolOffset = newValue } }
    }
    /// True for a call that the compiler inlined into the next frame (as a debugger shows it).
    public var isInlined: Bool {
        get { storage.isInlined }
        set { storage = storage.with { $0.isInlined = newValue } }
    }
    /// True for a frame of Python code (see `python(file:function:line:)`), false for native code.
    public var isPython: Bool {
        get { storage.isPython }
        set { storage = storage.with { $0.isPython = newValue } }
    }

    /// The line where `function` is declared (DWARF DW_AT_decl_line); 0 when unknown. pprof's start_line.
    public var functionLine: Int {
        get { storage.functionLine }
        set { storage = storage.with { $0.functionLine = newValue } }
    }

    /// The frame of an empty traceback. One shared value, so caches keyed by a frame's box stay valid.
    static let unknown = Frame(module: "")

    /// The module's file name without its folder.
    public var moduleName: String { storage.moduleName }

    /// The best available location: "file:line", else "function+0x1f", else "module+0x1234".
    public var location: String { storage.location }

    public static func == (a: Frame, b: Frame) -> Bool { a.storage.equals(b.storage) }
    public func hash(into hasher: inout Hasher) { hasher.combine(storage.hash) }
}
