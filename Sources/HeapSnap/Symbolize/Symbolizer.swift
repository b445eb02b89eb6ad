// Return addresses → module, function, file:line and inlined frames, with elfutils libdwfl/libdw.
// Each module is opened once, each distinct address resolved once; modules are spread over threads,
// each with its own Dwfl (a Dwfl is not thread-safe). Fallbacks: DWARF → ELF symbol + offset →
// module + offset. Debug info is looked for beside the file, under /usr/lib/debug (build-id and
// .gnu_debuglink) and, when DEBUGINFOD_URLS is set, from debuginfod through libdw's own client; names
// come from .symtab, MiniDebugInfo (.gnu_debugdata) or .dynsym. Details and reasons in Docs/ANALYSIS.md.
import CLibDW
import Foundation

/// What the symbolizer resolved: per module how it went, per address its frames (innermost first).
public struct SymbolTable: Sendable {
    public var modules: [ModuleInfo]
    public var framesByAddress: [UInt64: [Frame]]

    public init(modules: [ModuleInfo] = [], framesByAddress: [UInt64: [Frame]] = [:]) {
        self.modules = modules
        self.framesByAddress = framesByAddress
    }

    /// The frames of one return address: inlined calls first, then the function that contains it.
    public func frames(for address: UInt64) -> [Frame] {
        framesByAddress[address] ?? [Frame(module: "", address: address)]
    }
}

/// Symbolizes the addresses of raw snapshots. Reusable; safe to share between threads.
public final class Symbolizer: @unchecked Sendable {
    public struct Options: Sendable {
        /// libdwfl's debuginfo path: where separate debug files are looked for (build-id and
        /// .gnu_debuglink), colon-separated. nil: libdw's default (":.debug:/usr/lib/debug").
        public var debugInfoPath: String?
        /// Demangle C++, Swift and Rust names.
        public var demangle: Bool
        /// Worker threads; modules are the unit of work.
        public var threads: Int
        /// Where to find the snapshot's files when they are not at their recorded paths (a snapshot
        /// from a container, another machine, a moved build tree): the first substitution whose `from`
        /// prefixes a module's path replaces that prefix. Frames keep the recorded path.
        public var pathSubstitutions: [PathSubstitution]

        public init(debugInfoPath: String? = nil, demangle: Bool = true,
                    threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                    pathSubstitutions: [PathSubstitution] = []) {
            self.debugInfoPath = debugInfoPath
            self.demangle = demangle
            self.threads = max(1, threads)
            self.pathSubstitutions = pathSubstitutions
        }

        /// The file to open for a module recorded at `path`.
        public func localPath(of path: String) -> String {
            for substitution in pathSubstitutions where path.hasPrefix(substitution.from) {
                return substitution.to + path.dropFirst(substitution.from.count)
            }
            return path
        }
    }

    /// A path prefix replacement, e.g. from "/app" to "/var/lib/containers/rootfs/app".
    public struct PathSubstitution: Sendable, Hashable {
        public var from: String
        public var to: String
        public init(from: String, to: String) {
            self.from = from
            self.to = to
        }

        /// Parses "FROM=TO" (as a command-line option gives it); nil without "=" or with an empty FROM.
        public init?(_ text: String) {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { return nil }
            self.init(from: String(text[..<equals]), to: String(text[text.index(after: equals)...]))
        }
    }

    public let options: Options
    private let callbacks: UnsafeMutablePointer<Dwfl_Callbacks>
    private let debugInfoPath: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    public init(options: Options = Options()) {
        self.options = options
        debugInfoPath = .allocate(capacity: 1)
        debugInfoPath.initialize(to: options.debugInfoPath.flatMap { strdup($0) })
        callbacks = .allocate(capacity: 1)
        callbacks.initialize(to: Dwfl_Callbacks(
            find_elf: dwfl_build_id_find_elf,
            find_debuginfo: findDebugInfo,
            section_address: dwfl_offline_section_address,
            debuginfo_path: debugInfoPath))
    }

    deinit {
        free(debugInfoPath.pointee)
        debugInfoPath.deallocate()
        callbacks.deallocate()
    }

    /// Resolves every distinct address of `raw`'s stacks. `progress` gets (modules done, modules total).
    public func symbolize(
        _ raw: RawSnapshot, progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) -> SymbolTable {
        var distinct = Set<UInt64>()
        for stack in raw.stacks { distinct.formUnion(stack.frames) }
        return symbolize(addresses: Array(distinct), modules: raw.modules, progress: progress)
    }

    /// Resolves `addresses` (return addresses) against the module table of a snapshot.
    public func symbolize(
        addresses: [UInt64], modules: [ModuleRecord],
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) -> SymbolTable {
        // Address → module by binary search over every mapped segment.
        var segments: [(start: UInt64, end: UInt64, module: Int)] = []
        for (index, module) in modules.enumerated() {
            for segment in module.segments where segment.size > 0 {
                segments.append((segment.start, segment.start &+ segment.size, index))
            }
        }
        segments.sort { $0.start < $1.start }
        var work = [[UInt64]](repeating: [], count: modules.count)
        var table = SymbolTable()
        for address in addresses {
            var low = 0, high = segments.count
            while low < high {
                let mid = (low + high) / 2
                if segments[mid].start <= address { low = mid + 1 } else { high = mid }
            }
            // Prefer a module still loaded when an unloaded one overlapped the same range.
            var owner: Int?
            var index = low - 1
            while index >= 0, index >= low - 64 {
                if address < segments[index].end {
                    let candidate = segments[index].module
                    if owner == nil || (modules[owner!].wasUnloaded && !modules[candidate].wasUnloaded) {
                        owner = candidate
                    }
                }
                index -= 1
            }
            if let owner { work[owner].append(address) } else {
                table.framesByAddress[address] = [Frame(module: "", address: address)]
            }
        }

        // Work items are modules, and slices of sorted addresses for a module big enough to keep
        // several threads busy alone (each slice opens the module in a Dwfl of its own). A module no
        // stack points into is still opened once, so what is said of its file and debug info is true.
        var items: [(module: Int, addresses: ArraySlice<UInt64>)] = []
        for index in modules.indices {
            let addresses = work[index].sorted()
            guard !addresses.isEmpty else {
                items.append((index, addresses[...]))
                continue
            }
            let slices = min(options.threads, max(1, addresses.count / Self.addressesPerSlice))
            let size = (addresses.count + slices - 1) / slices
            for start in stride(from: 0, to: addresses.count, by: size) {
                items.append((index, addresses[start..<min(start + size, addresses.count)]))
            }
        }
        // Largest items first so one big item does not start last.
        items.sort { $0.addresses.count > $1.addresses.count }
        let results = ResultBox(modules: modules.count, items: items.count)
        // One gate for this call's Dwfls: after one server failure the others stop waiting for it.
        let debuginfod = DebuginfodGate()
        let threads = min(options.threads, max(1, items.count))
        let next = ManagedAtomicCounter()
        let total = modules.count
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while true {
                let slot = next.increment()
                guard slot < items.count else { return }
                let item = items[slot]
                let resolver = ModuleResolver(
                    record: modules[item.module], file: options.localPath(of: modules[item.module].path),
                    callbacks: callbacks, demangle: options.demangle, debuginfod: debuginfod)
                let frames = resolver.resolve(item.addresses)
                if let done = results.store(item.module, info: resolver.info, frames: frames,
                                            slices: items.lazy.filter { $0.module == item.module }.count) {
                    progress?(done, total)
                }
            }
        }
        for index in modules.indices {
            if let result = results.result(index) {
                table.modules.append(result.info)
                table.framesByAddress.merge(result.frames) { first, _ in first }
            } else {
                table.modules.append(ModuleResolver.unresolvedInfo(modules[index]))
            }
        }
        return table
    }

    /// Below this many addresses a module is not worth a second Dwfl.
    static let addressesPerSlice = 2000
}

/// A lock-protected slot per module for the workers' results; slices of one module are merged.
private final class ResultBox: @unchecked Sendable {
    private var slots: [(info: ModuleInfo, frames: [UInt64: [Frame]], slices: Int)?]
    private var modulesDone = 0
    private let lock = NSLock()
    init(modules: Int, items: Int) { slots = Array(repeating: nil, count: modules) }

    /// Returns the number of modules completely done when this slice completed its module.
    func store(_ index: Int, info: ModuleInfo, frames: [UInt64: [Frame]], slices: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        if var slot = slots[index] {
            slot.frames.merge(frames) { first, _ in first }
            slot.slices += 1
            slots[index] = slot
        } else {
            slots[index] = (info, frames, 1)
        }
        guard slots[index]!.slices == slices else { return nil }
        modulesDone += 1
        return modulesDone
    }

    func result(_ index: Int) -> (info: ModuleInfo, frames: [UInt64: [Frame]])? {
        slots[index].map { ($0.info, $0.frames) }
    }
}

private final class ManagedAtomicCounter: @unchecked Sendable {
    private var value = -1
    private let lock = NSLock()
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

extension Symbolizer {
    /// A line-table file name (as libdw gives it) joined with its compile unit's DW_AT_comp_dir. libdw
    /// has already put the files of directory entry 0, which is the compilation directory, under it:
    /// when that directory is relative (-fdebug-prefix-map; Debian's glibc has comp_dir "./elf"), a name
    /// that starts with it is complete, and joining again gave "elf/elf/dl-object.c". Other relative
    /// names ("../include/rtld-malloc.h") are relative to the compilation directory.
    public static func sourcePath(file: String, compilationDirectory directory: String) -> String {
        if file.hasPrefix("/") || directory.isEmpty { return normalizedPath(file) }
        if directory == "/" { return normalizedPath("/" + file) }
        let trimmed = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        if !trimmed.hasPrefix("/"), file == trimmed || file.hasPrefix(trimmed + "/") { return normalizedPath(file) }
        return normalizedPath(trimmed + "/" + file)
    }
}

/// Removes "." and "dir/.." segments, as a debugger shows paths.
func normalizedPath(_ path: String) -> String {
    guard path.contains("/.") || path.hasPrefix("./") else { return path }
    var parts: [Substring] = []
    let absolute = path.hasPrefix("/")
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
        parts.append(part)
    }
    return (absolute ? "/" : "") + parts.joined(separator: "/")
}

/// One module in its own Dwfl: opened, checked against the snapshot's build-id, then queried.
final class ModuleResolver {
    let record: ModuleRecord
    private(set) var info: ModuleInfo
    private let demangle: Bool
    private var dwfl: OpaquePointer?
    private var module: OpaquePointer?
    private var dwarf: OpaquePointer?
    private var dwarfBias: Dwarf_Addr = 0
    /// CU address ranges from the DIEs, for files without .debug_aranges (clang, swiftc).
    private var cuRanges: [(low: UInt64, high: UInt64, offset: Dwarf_Off)]?
    private var names: [String: String] = [:]
    /// What the debug-info search of this module's Dwfl found (filled in by `findDebugInfo`).
    private let search: DebugInfoSearch

    static func unresolvedInfo(_ record: ModuleRecord) -> ModuleInfo {
        ModuleInfo(path: record.path, buildID: hexString(record.buildID), wasUnloaded: record.wasUnloaded,
                   isMainExecutable: record.isMainExecutable, loadBias: record.loadBias)
    }

    /// `file` is where the module's file is read from: its recorded path, or a substitute for it.
    init(record: ModuleRecord, file: String, callbacks: UnsafeMutablePointer<Dwfl_Callbacks>, demangle: Bool,
         debuginfod: DebuginfodGate = DebuginfodGate()) {
        self.record = record
        self.demangle = demangle
        search = DebugInfoSearch(gate: debuginfod)
        info = Self.unresolvedInfo(record)
        if record.isVDSO || record.path.isEmpty || record.path.hasPrefix("[") {
            info.problem = record.isVDSO ? "vdso: no file to read" : "no file"
            return
        }
        let elsewhere = file == record.path ? "" : " (looked for at \(file))"
        guard access(file, R_OK) == 0 else {
            info.problem = (FileManager.default.fileExists(atPath: file) ? "cannot be read" : "not found") + elsewhere
            return
        }
        guard let dwfl = dwfl_begin(callbacks) else {
            info.problem = "libdw: \(String(cString: dwfl_errmsg(-1)))"
            return
        }
        self.dwfl = dwfl
        debuginfod.watch(dwfl)
        dwfl_report_begin(dwfl)
        let name = (record.path as NSString).lastPathComponent
        module = dwfl_report_elf(dwfl, name, file, -1, record.loadBias, false)
        dwfl_report_end(dwfl, nil, nil)
        guard let module else {
            info.problem = "cannot open as ELF: \(String(cString: dwfl_errmsg(-1)))"
            return
        }
        // libdwfl hands each module's user-data slot to find_debuginfo: this module's search record.
        var slot: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        _ = dwfl_module_info(module, &slot, nil, nil, nil, nil, nil, nil)
        slot?.pointee = Unmanaged.passUnretained(search).toOpaque()
        var bits: UnsafePointer<UInt8>?
        var vaddr: GElf_Addr = 0
        let length = dwfl_module_build_id(module, &bits, &vaddr)
        let fileBuildID = length > 0 && bits != nil ? Array(UnsafeBufferPointer(start: bits, count: Int(length))) : []
        if !record.buildID.isEmpty && fileBuildID != record.buildID {
            info.problem = "file changed since the snapshot (build-id mismatch)"
            self.module = nil
            return
        }
        dwarf = dwfl_module_getdwarf(module, &dwarfBias)
        info.hasDebugInfo = dwarf != nil
        // Names are counted now so that `info` says what every module really offers.
        let functions = loadSymbols()
        symbols = functions
        info.functionSymbols = functions.count
        info.symbolTable = functions.isEmpty ? .absent : symbolTableKind()
        info.debuginfod = search.debuginfodOutcome
    }

    /// Which table libdwfl took the names from: a .symtab (the file's or its debug file's) wins, then
    /// MiniDebugInfo (merged with .dynsym by libdwfl), then .dynsym alone.
    private func symbolTableKind() -> ModuleInfo.SymbolTableKind {
        var bias: GElf_Addr = 0
        let main = dwfl_module_getelf(module, &bias)
        if let main, Self.sections(of: main).contains(where: { $0.type == SHT_SYMTAB }) { return .symtab }
        if let dwarf, let debug = dwarf_getelf(dwarf), Self.sections(of: debug).contains(where: { $0.type == SHT_SYMTAB }) {
            return .symtab
        }
        if let main, Self.sections(of: main).contains(where: { $0.name == ".gnu_debugdata" }) { return .gnuDebugdata }
        return .dynsym
    }

    private static func sections(of elf: OpaquePointer) -> [(type: UInt32, name: String)] {
        var names = 0
        guard elf_getshdrstrndx(elf, &names) == 0 else { return [] }
        var result: [(type: UInt32, name: String)] = []
        var section = elf_nextscn(elf, nil)
        while let current = section {
            var header = GElf_Shdr()
            if gelf_getshdr(current, &header) != nil {
                let name = elf_strptr(elf, names, Int(header.sh_name)).map { String(cString: $0) } ?? ""
                result.append((header.sh_type, name))
            }
            section = elf_nextscn(elf, current)
        }
        return result
    }

    deinit {
        if let dwfl { dwfl_end(dwfl) }
    }

    func resolve<Addresses: Collection>(_ addresses: Addresses) -> [UInt64: [Frame]] where Addresses.Element == UInt64 {
        var result: [UInt64: [Frame]] = [:]
        result.reserveCapacity(addresses.count)
        for address in addresses { result[address] = resolve(address) }
        return result
    }

    func resolve(_ address: UInt64) -> [Frame] {
        let offset = address &- record.loadBias
        var base = Frame(module: record.path, address: address, moduleOffset: offset)
        guard module != nil else { return [base] }
        // A return address points after the call; the call itself is one byte earlier.
        let pc = address > 0 ? address - 1 : address
        if let symbol = symbol(containing: pc) {
            base.function = demangled(symbol.name)
            base.symbolOffset = address - symbol.start
        }
        if dwarf != nil, let frames = dwarfFrames(pc: pc, base: base), !frames.isEmpty { return frames }
        return [base]
    }

    // MARK: ELF symbols

    /// A function symbol; the name points into libelf's string table, alive as long as the Dwfl.
    private struct Symbol {
        var start: UInt64
        var end: UInt64
        var name: UnsafePointer<CChar>
    }

    /// Function symbols sorted by address. libdwfl's dwfl_module_addrinfo scans the whole symbol table
    /// on every call; sorting once makes each lookup a binary search.
    private var symbols: [Symbol]?

    private func symbol(containing pc: UInt64) -> (start: UInt64, name: String)? {
        if symbols == nil { symbols = loadSymbols() }
        guard let symbols, !symbols.isEmpty else { return nil }
        var low = 0, high = symbols.count
        while low < high {
            let mid = (low + high) / 2
            if symbols[mid].start <= pc { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return nil }
        let candidate = symbols[low - 1]
        return pc < candidate.end ? (candidate.start, String(cString: candidate.name)) : nil
    }

    private func loadSymbols() -> [Symbol] {
        guard let module else { return [] }
        let count = dwfl_module_getsymtab(module)
        guard count > 1 else { return [] }
        // (start, rank, size, name): rank orders symbols at one address, sized and global first.
        var found: [(start: UInt64, rank: Int, size: UInt64, name: UnsafePointer<CChar>)] = []
        found.reserveCapacity(Int(count))
        for index in 1..<count {
            var symbol = GElf_Sym()
            var address: GElf_Addr = 0
            var section: GElf_Word = 0
            guard let name = dwfl_module_getsym_info(module, index, &symbol, &address, &section, nil, nil) else { continue }
            let type = symbol.st_info & 0xf
            guard type == UInt8(STT_FUNC) || type == UInt8(STT_GNU_IFUNC), symbol.st_shndx != UInt16(SHN_UNDEF),
                  name.pointee != 0 else { continue }
            let rank = (symbol.st_size > 0 ? 0 : 2) + (symbol.st_info >> 4 != UInt8(STB_LOCAL) ? 0 : 1)
            found.append((address, rank, symbol.st_size, name))
        }
        found.sort { $0.start != $1.start ? $0.start < $1.start : $0.rank < $1.rank }
        var result: [Symbol] = []
        result.reserveCapacity(found.count)
        var index = 0
        while index < found.count {
            let symbol = found[index]
            var next = index + 1
            while next < found.count && found[next].start == symbol.start { next += 1 }
            // A symbol without a size extends to the next one.
            let end = symbol.size > 0 ? symbol.start &+ symbol.size : (next < found.count ? found[next].start : UInt64.max)
            result.append(Symbol(start: symbol.start, end: end, name: symbol.name))
            index = next
        }
        return result
    }

    // MARK: DWARF

    private func compileUnit(pc: Dwarf_Addr, into die: UnsafeMutablePointer<Dwarf_Die>) -> Bool {
        var bias: Dwarf_Addr = 0
        if let found = dwfl_module_addrdie(module, pc, &bias) {
            die.pointee = found.pointee
            return true
        }
        guard let dwarf else { return false }
        if cuRanges == nil { cuRanges = buildCURanges(dwarf) }
        let target = pc &- dwarfBias
        guard let ranges = cuRanges, !ranges.isEmpty else { return false }
        var low = 0, high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].low <= target { low = mid + 1 } else { high = mid }
        }
        var index = low - 1
        // Ranges may nest or overlap (a CU with a wide low/high); look back a little.
        while index >= 0 && index >= low - 8 {
            if target < ranges[index].high {
                return dwarf_offdie(dwarf, ranges[index].offset, die) != nil
            }
            index -= 1
        }
        return false
    }

    private func buildCURanges(_ dwarf: OpaquePointer) -> [(low: UInt64, high: UInt64, offset: Dwarf_Off)] {
        var ranges: [(low: UInt64, high: UInt64, offset: Dwarf_Off)] = []
        var offset: Dwarf_Off = 0
        var next: Dwarf_Off = 0
        var headerSize = 0
        while dwarf_nextcu(dwarf, offset, &next, &headerSize, nil, nil, nil) == 0 {
            let dieOffset = offset + Dwarf_Off(headerSize)
            var die = Dwarf_Die()
            if dwarf_offdie(dwarf, dieOffset, &die) != nil {
                var base: Dwarf_Addr = 0, start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
                var cursor = dwarf_ranges(&die, 0, &base, &start, &end)
                while cursor > 0 {
                    if end > start { ranges.append((start, end, dieOffset)) }
                    cursor = dwarf_ranges(&die, cursor, &base, &start, &end)
                }
            }
            offset = next
        }
        ranges.sort { $0.low < $1.low }
        return ranges
    }

    private func dwarfFrames(pc: Dwarf_Addr, base: Frame) -> [Frame]? {
        var cu = Dwarf_Die()
        guard compileUnit(pc: pc, into: &cu) else { return nil }
        let relative = pc &- dwarfBias
        var file: String?
        var line = 0
        if let lineRecord = dwarf_getsrc_die(&cu, relative) {
            if let source = dwarf_linesrc(lineRecord, nil, nil) { file = absolutePath(String(cString: source), cu: &cu) }
            var number: Int32 = 0
            if dwarf_lineno(lineRecord, &number) == 0 { line = Int(number) }
        }
        var frames: [Frame] = []
        var current = base
        current.file = file
        current.line = line
        // Innermost scope first: inlined calls, then the function they were inlined into.
        let scopes = scopeIndex(cu: &cu)
        var node = scopes.innermost(containing: relative)
        while let index = node {
            let name = scopes.nodes[index].name ?? {
                var die = scopes.nodes[index].die
                let name = dieName(&die) ?? ""
                scopes.nodes[index].name = name
                return name
            }()
            if !name.isEmpty {
                current.function = name
                var die = scopes.nodes[index].die
                var declared: Int32 = 0
                // Follows DW_AT_abstract_origin and DW_AT_specification to the declaration.
                if dwarf_decl_line(&die, &declared) == 0, declared > 0 { current.functionLine = Int(declared) }
            }
            guard scopes.nodes[index].isInlined else { break }
            current.isInlined = true
            current.symbolOffset = nil
            frames.append(current)
            // The caller's position is where the inlined call was written.
            var die = scopes.nodes[index].die
            var caller = base
            caller.function = nil
            caller.functionLine = 0
            caller.file = callFile(&die, cu: &cu)
            caller.line = callLine(&die)
            current = caller
            node = scopes.nodes[index].parent
        }
        if current.function == nil { current.function = base.function }
        frames.append(current)
        return frames
    }

    /// The function-like DIEs of each CU with their address ranges, built by one walk of the CU the
    /// first time one of its addresses is looked up (dwarf_getscopes walks the CU again on every call).
    private var scopeIndexes: [Dwarf_Off: CUScopes] = [:]

    private func scopeIndex(cu: UnsafeMutablePointer<Dwarf_Die>) -> CUScopes {
        let offset = dwarf_dieoffset(cu)
        if let known = scopeIndexes[offset] { return known }
        let index = CUScopes(cu: cu)
        scopeIndexes[offset] = index
        return index
    }

    private func dieName(_ die: UnsafeMutablePointer<Dwarf_Die>) -> String? {
        var attribute = Dwarf_Attribute()
        for name in [DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name] {
            if dwarf_attr_integrate(die, UInt32(name), &attribute) != nil, let text = dwarf_formstring(&attribute) {
                let raw = String(cString: text)
                return name == DW_AT_name ? raw : demangled(raw)
            }
        }
        return nil
    }

    private func callFile(_ die: UnsafeMutablePointer<Dwarf_Die>, cu: UnsafeMutablePointer<Dwarf_Die>) -> String? {
        var attribute = Dwarf_Attribute()
        var index: Dwarf_Word = 0
        guard dwarf_attr(die, UInt32(DW_AT_call_file), &attribute) != nil, dwarf_formudata(&attribute, &index) == 0
        else { return nil }
        var files: OpaquePointer?
        var count = 0
        guard dwarf_getsrcfiles(cu, &files, &count) == 0, Int(index) < count,
              let name = dwarf_filesrc(files, Int(index), nil, nil) else { return nil }
        return absolutePath(String(cString: name), cu: cu)
    }

    /// Line tables may name files relative to the compilation directory (gcc's DWARF 5 does).
    private func absolutePath(_ path: String, cu: UnsafeMutablePointer<Dwarf_Die>) -> String {
        if path.hasPrefix("/") { return normalizedPath(path) }
        if path.hasPrefix("<") { return path }  // "<compiler-generated>", "<stdin>"
        var attribute = Dwarf_Attribute()
        guard dwarf_attr(cu, UInt32(DW_AT_comp_dir), &attribute) != nil, let directory = dwarf_formstring(&attribute)
        else { return normalizedPath(path) }
        return Symbolizer.sourcePath(file: path, compilationDirectory: String(cString: directory))
    }

    private func callLine(_ die: UnsafeMutablePointer<Dwarf_Die>) -> Int {
        var attribute = Dwarf_Attribute()
        var value: Dwarf_Word = 0
        guard dwarf_attr(die, UInt32(DW_AT_call_line), &attribute) != nil, dwarf_formudata(&attribute, &value) == 0
        else { return 0 }
        return Int(value)
    }

    private func demangled(_ name: String) -> String {
        guard demangle else { return name }
        if let known = names[name] { return known }
        let result = Demangler.demangle(name)
        names[name] = result
        return result
    }
}

/// The subprograms and inlined subroutines of one compile unit, as a tree with sorted address ranges.
final class CUScopes {
    struct Node {
        var die: Dwarf_Die
        /// The nearest enclosing function-like node.
        var parent: Int?
        var depth: Int
        var isInlined: Bool
        var ranges: [(start: UInt64, end: UInt64)]
        /// Filled in on first use ("" when the DIE has none).
        var name: String?
    }

    var nodes: [Node] = []
    /// Every range of every node, by start address, deeper nodes after shallower ones at one address.
    private var ranges: [(start: UInt64, node: Int)] = []

    private static let containerTags: Set<Int32> = [
        Int32(DW_TAG_subprogram), Int32(DW_TAG_inlined_subroutine), Int32(DW_TAG_lexical_block),
        Int32(DW_TAG_namespace), Int32(DW_TAG_class_type), Int32(DW_TAG_structure_type),
        Int32(DW_TAG_union_type), Int32(DW_TAG_module), Int32(DW_TAG_try_block), Int32(DW_TAG_catch_block),
        Int32(DW_TAG_entry_point),
    ]

    init(cu: UnsafeMutablePointer<Dwarf_Die>) {
        walk(cu, parent: nil, depth: 0, budget: 0)
        ranges.sort { a, b in
            a.start != b.start ? a.start < b.start : nodes[a.node].depth < nodes[b.node].depth
        }
    }

    private func walk(_ die: UnsafeMutablePointer<Dwarf_Die>, parent: Int?, depth: Int, budget: Int) {
        guard budget < 256 else { return }  // malformed DWARF must not recurse without end
        var child = Dwarf_Die()
        guard dwarf_child(die, &child) == 0 else { return }
        while true {
            let tag = dwarf_tag(&child)
            var childParent = parent
            var childDepth = depth
            if tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_entry_point {
                var nodeRanges: [(start: UInt64, end: UInt64)] = []
                var base: Dwarf_Addr = 0, start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
                var cursor = dwarf_ranges(&child, 0, &base, &start, &end)
                while cursor > 0 {
                    if end > start { nodeRanges.append((start, end)) }
                    cursor = dwarf_ranges(&child, cursor, &base, &start, &end)
                }
                if !nodeRanges.isEmpty {
                    let index = nodes.count
                    nodes.append(Node(die: child, parent: parent, depth: depth + 1,
                                      isInlined: tag == DW_TAG_inlined_subroutine, ranges: nodeRanges))
                    for range in nodeRanges { ranges.append((range.start, index)) }
                    childParent = index
                    childDepth = depth + 1
                } else if tag != DW_TAG_inlined_subroutine {
                    // A declaration or an out-of-line-only abstract instance: nothing runs here.
                    if !advance(&child) { return }
                    continue
                }
            }
            if Self.containerTags.contains(tag), dwarf_haschildren(&child) != 0 {
                walk(&child, parent: childParent, depth: childDepth, budget: budget + 1)
            }
            if !advance(&child) { return }
        }
    }

    private func advance(_ die: inout Dwarf_Die) -> Bool {
        var next = Dwarf_Die()
        guard dwarf_siblingof(&die, &next) == 0 else { return false }
        die = next
        return true
    }

    private func contains(_ node: Int, _ pc: UInt64) -> Bool {
        nodes[node].ranges.contains { pc >= $0.start && pc < $0.end }
    }

    /// The deepest function-like scope containing `pc` (DWARF address), if any. Scopes nest, so it is
    /// the range starting last at or before `pc`, or one of that range's ancestors.
    func innermost(containing pc: UInt64) -> Int? {
        var low = 0, high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].start <= pc { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return nil }
        var node: Int? = ranges[low - 1].node
        while let current = node {
            if contains(current, pc) { return current }
            node = nodes[current].parent
        }
        // Overlapping siblings (rare, e.g. identical-code folding): look back a little.
        var index = low - 2
        while index >= 0 && index >= low - 16 {
            if contains(ranges[index].node, pc) { return ranges[index].node }
            index -= 1
        }
        return nil
    }
}
