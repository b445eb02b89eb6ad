// Return addresses → module, function, file:line and inlined frames, with elfutils libdwfl/libdw.
// Each module is opened once, each distinct address resolved once; modules are spread over threads,
// each with its own Dwfl (a Dwfl is not thread-safe). Fallbacks: DWARF → ELF symbol + offset →
// module + offset. Details and reasons in Docs/ANALYSIS.md.
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

        public init(debugInfoPath: String? = nil, demangle: Bool = true,
                    threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
            self.debugInfoPath = debugInfoPath
            self.demangle = demangle
            self.threads = max(1, threads)
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
            find_debuginfo: dwfl_standard_find_debuginfo,
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

        let jobs = modules.indices.filter { !work[$0].isEmpty }
        let results = ResultBox(count: modules.count)
        let total = jobs.count
        let threads = min(options.threads, max(1, jobs.count))
        // Largest modules first so one big module does not start last.
        let ordered = jobs.sorted { work[$0].count > work[$1].count }
        let next = ManagedAtomicCounter()
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while true {
                let slot = next.increment()
                guard slot < ordered.count else { return }
                let index = ordered[slot]
                let resolver = ModuleResolver(record: modules[index], callbacks: callbacks, demangle: options.demangle)
                let frames = resolver.resolve(work[index])
                let done = results.store(index, info: resolver.info, frames: frames)
                progress?(done, total)
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
}

/// A lock-protected slot per module for the workers' results.
private final class ResultBox: @unchecked Sendable {
    private var slots: [(info: ModuleInfo, frames: [UInt64: [Frame]])?]
    private var done = 0
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func store(_ index: Int, info: ModuleInfo, frames: [UInt64: [Frame]]) -> Int {
        lock.lock()
        defer { lock.unlock() }
        slots[index] = (info, frames)
        done += 1
        return done
    }
    func result(_ index: Int) -> (info: ModuleInfo, frames: [UInt64: [Frame]])? { slots[index] }
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

/// Removes "." and "dir/.." segments, as a debugger shows paths.
func normalizedPath(_ path: String) -> String {
    guard path.contains("/.") else { return path }
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

    static func unresolvedInfo(_ record: ModuleRecord) -> ModuleInfo {
        ModuleInfo(path: record.path, buildID: hexString(record.buildID), wasUnloaded: record.wasUnloaded,
                   isMainExecutable: record.isMainExecutable, loadBias: record.loadBias)
    }

    init(record: ModuleRecord, callbacks: UnsafeMutablePointer<Dwfl_Callbacks>, demangle: Bool) {
        self.record = record
        self.demangle = demangle
        info = Self.unresolvedInfo(record)
        if record.isVDSO || record.path.isEmpty || record.path.hasPrefix("[") {
            info.problem = record.isVDSO ? "vdso: no file to read" : "no file"
            return
        }
        guard access(record.path, R_OK) == 0 else {
            info.problem = FileManager.default.fileExists(atPath: record.path) ? "cannot be read" : "not found"
            return
        }
        guard let dwfl = dwfl_begin(callbacks) else {
            info.problem = "libdw: \(String(cString: dwfl_errmsg(-1)))"
            return
        }
        self.dwfl = dwfl
        dwfl_report_begin(dwfl)
        let name = (record.path as NSString).lastPathComponent
        module = dwfl_report_elf(dwfl, name, record.path, -1, record.loadBias, false)
        dwfl_report_end(dwfl, nil, nil)
        guard let module else {
            info.problem = "cannot open as ELF: \(String(cString: dwfl_errmsg(-1)))"
            return
        }
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
    }

    deinit {
        if let dwfl { dwfl_end(dwfl) }
    }

    func resolve(_ addresses: [UInt64]) -> [UInt64: [Frame]] {
        var result: [UInt64: [Frame]] = [:]
        result.reserveCapacity(addresses.count)
        for address in addresses { result[address] = resolve(address) }
        return result
    }

    func resolve(_ address: UInt64) -> [Frame] {
        let offset = address &- record.loadBias
        var base = Frame(module: record.path, address: address, moduleOffset: offset)
        guard let module else { return [base] }
        // A return address points after the call; the call itself is one byte earlier.
        let pc = address > 0 ? address - 1 : address
        var symbolOffset: GElf_Off = 0
        var symbol = GElf_Sym()
        if let name = dwfl_module_addrinfo(module, pc, &symbolOffset, &symbol, nil, nil, nil) {
            base.function = demangled(String(cString: name))
            base.symbolOffset = symbolOffset + (address - pc)
        }
        if dwarf != nil, let frames = dwarfFrames(pc: pc, base: base), !frames.isEmpty { return frames }
        return [base]
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
        var scopes: UnsafeMutablePointer<Dwarf_Die>?
        let count = dwarf_getscopes(&cu, relative, &scopes)
        defer { free(scopes) }
        var frames: [Frame] = []
        var current = base
        current.file = file
        current.line = line
        if count > 0, let scopes {
            for index in 0..<Int(count) {
                let tag = dwarf_tag(&scopes[index])
                guard tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_entry_point
                else { continue }
                if let name = dieName(&scopes[index]) {
                    current.function = name
                    current.symbolOffset = tag == DW_TAG_inlined_subroutine ? nil : current.symbolOffset
                }
                if tag == DW_TAG_inlined_subroutine {
                    current.isInlined = true
                    frames.append(current)
                    // The caller's position is where the inlined call was written.
                    var caller = base
                    caller.function = nil
                    caller.symbolOffset = base.symbolOffset
                    caller.file = callFile(&scopes[index], cu: &cu)
                    caller.line = callLine(&scopes[index])
                    current = caller
                } else {
                    break
                }
            }
        }
        if current.function == nil { current.function = base.function }
        frames.append(current)
        return frames
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
        var attribute = Dwarf_Attribute()
        guard dwarf_attr(cu, UInt32(DW_AT_comp_dir), &attribute) != nil, let directory = dwarf_formstring(&attribute)
        else { return normalizedPath(path) }
        return normalizedPath(String(cString: directory) + "/" + path)
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
