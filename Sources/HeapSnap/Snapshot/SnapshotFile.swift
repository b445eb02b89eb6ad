// Bytes to model: a snapshot file is read once, recognised by its first bytes (a binary snapshot or an
// offline JSON snapshot), decoded, and symbolized into the Snapshot every command works on.
//
// The binary reader (Docs/FORMAT.md) trusts nothing in the file: every length is checked against the
// bytes that remain, every count against its section, every stack index against the stack table, and
// the CRC before any payload is decoded. Failures are one-line errors that name the file; no input
// makes it allocate more than the file's size justifies.
import CHeapSnapContract
import Foundation
import SystemPackage

/// Why a snapshot file could not be read, e.g.
/// "x.heapsnap: truncated in the STACKS section (needs 1024 bytes at offset 4096, file has 4100)".
public struct SnapshotFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}

extension Snapshot {
    /// Reads a binary snapshot (symbolizing it) or an offline JSON snapshot, whichever the file is.
    public static func load(
        path: String, symbolizer: Symbolizer = Symbolizer(), sites: SiteRules = .default,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> Snapshot {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw AnalysisError("\(path): is a directory; give one of its .heapsnap files")
        }
        let bytes: [UInt8]
        do throws(FileReadFailure) {
            bytes = try readEntireFile(path)
        } catch .open(let errno) {
            throw AnalysisError("\(path): \(errno == .noSuchFileOrDirectory ? "no such file" : "cannot be read")")
        } catch {
            throw AnalysisError("\(path): cannot be read")
        }
        if bytes.starts(with: snapshotMagic) {
            let raw: RawSnapshot
            do { raw = try RawSnapshot(bytes: bytes, path: path) } catch let error as SnapshotFileError {
                throw AnalysisError(error.description)
            }
            return try Snapshot(raw: raw, symbolizer: symbolizer, source: path, sites: sites, progress: progress)
        }
        if let first = bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }), first == UInt8(ascii: "{") {
            var snapshot = try Snapshot(jsonData: Data(bytes), name: path, sites: sites)
            snapshot.info.source = path
            return snapshot
        }
        if bytes.isEmpty { throw AnalysisError("\(path): empty file, not a heapsnap snapshot") }
        throw AnalysisError("\(path): not a heapsnap snapshot (neither a binary snapshot nor heapsnap JSON)")
    }

    /// Symbolizes a raw snapshot and decides each trace's allocation site under `sites`. `progress` is
    /// called with (modules done, modules total).
    public init(
        raw: RawSnapshot, symbolizer: Symbolizer = Symbolizer(), source: String = "", sites: SiteRules = .default,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws {
        let symbols = symbolizer.symbolize(raw, progress: progress)
        var traces: [Trace] = []
        traces.reserveCapacity(raw.stacks.count)
        let python = PythonFrameDecoder(raw.python)
        for stack in raw.stacks {
            var frames: [Frame] = []
            frames.reserveCapacity(stack.frames.count)
            for address in stack.frames {
                frames.append(contentsOf: symbols.frames(for: address))
            }
            traces.append(Trace(
                domain: stack.domain, size: stack.liveBytes, count: stack.liveBlocks,
                totalAllocations: stack.totalAllocations, totalBytes: stack.totalBytes,
                temporaryAllocations: stack.temporaryAllocations,
                traceback: python.traceback(native: frames, stack: stack, maxFrames: raw.header.maxFrames)))
        }
        self.init(info: SnapshotInfo(header: raw.header, modules: symbols.modules, source: source, python: raw.python),
                  traces: traces, sites: sites)
    }
}

extension RawSnapshot {
    /// Reads and validates the snapshot file at `path`.
    public init(contentsOf path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw AnalysisError("\(path): is a directory; give one of its .heapsnap files")
        }
        let bytes: [UInt8]
        do throws(FileReadFailure) {
            bytes = try readEntireFile(path)
        } catch .open(let errno) {
            throw SnapshotFileError(path: path, problem: "cannot open: \(errno.description)")
        } catch .read(let errno) {
            throw SnapshotFileError(path: path, problem: "cannot read: \(errno.description)")
        } catch .size {
            throw SnapshotFileError(path: path, problem: "is not a regular file of a sensible size")
        }
        try self.init(bytes: bytes, path: path)
    }

    /// Validates and decodes a snapshot held in memory; `path` only names it in errors.
    public init(bytes: [UInt8], path: String) throws {
        self = try bytes.withUnsafeBytes { raw in
            var parser = SnapshotParser(raw: raw, path: path)
            return try parser.parse()
        }
    }
}

/// The first bytes of every binary snapshot.
private let snapshotMagic = Array(HEAPSNAP_MAGIC.utf8)

private enum FileReadFailure: Error {
    case open(Errno), read(Errno), size
}

/// The whole file in one read (the file is opened once, whatever it turns out to hold).
private func readEntireFile(_ path: String) throws(FileReadFailure) -> [UInt8] {
    let fd: FileDescriptor
    do {
        fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
    } catch {
        throw .open(error as? Errno ?? .ioError)
    }
    defer { try? fd.close() }
    do {
        let size = try fd.seek(offset: 0, from: .end)
        _ = try fd.seek(offset: 0, from: .start)
        guard size >= 0, size < Int64(Int.max / 2) else { throw FileReadFailure.size }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var filled = 0
        while filled < bytes.count {
            let n = try bytes.withUnsafeMutableBytes { buffer in
                try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), retryOnInterrupt: true)
            }
            if n == 0 { break }
            filled += n
        }
        if filled < bytes.count { bytes.removeSubrange(filled...) }
        return bytes
    } catch let failure as FileReadFailure {
        throw failure
    } catch {
        throw .read(error as? Errno ?? .ioError)
    }
}

/// Section tags of Docs/FORMAT.md.
enum SnapshotSection: CaseIterable {
    case header, modules, stacks, traces, python, sampling, unwind, end

    var tag: UInt32 {
        switch self {
        case .header: return HEAPSNAP_SECTION_HEADER
        case .modules: return HEAPSNAP_SECTION_MODULES
        case .stacks: return HEAPSNAP_SECTION_STACKS
        case .traces: return HEAPSNAP_SECTION_TRACES
        case .python: return HEAPSNAP_SECTION_PYTHON
        case .sampling: return HEAPSNAP_SECTION_SAMPLING
        case .unwind: return HEAPSNAP_SECTION_UNWIND
        case .end: return HEAPSNAP_SECTION_END
        }
    }

    init?(tag: UInt32) {
        guard let section = Self.allCases.first(where: { $0.tag == tag }) else { return nil }
        self = section
    }

    var name: String {
        switch self {
        case .header: return "HEADER"
        case .modules: return "MODULES"
        case .stacks: return "STACKS"
        case .traces: return "TRACES"
        case .python: return "PYTHON"
        case .sampling: return "SAMPLING"
        case .unwind: return "UNWIND"
        case .end: return "END"
        }
    }

    static func name(of tag: UInt32) -> String { SnapshotSection(tag: tag)?.name ?? "unknown (tag \(tag))" }
}

struct SnapshotParser {
    let raw: UnsafeRawBufferPointer
    let path: String

    init(raw: UnsafeRawBufferPointer, path: String) {
        self.raw = raw
        self.path = path
    }

    func fail(_ problem: String) -> SnapshotFileError { SnapshotFileError(path: path, problem: problem) }

    /// A bounded view of one section's payload.
    struct Cursor {
        let raw: UnsafeRawBufferPointer
        var offset: Int
        let end: Int
        let section: String
        let parser: SnapshotParser

        mutating func need(_ count: Int) throws {
            guard count >= 0, count <= end - offset else {
                throw parser.fail("malformed \(section) section (needs \(count) bytes at offset \(offset), section ends at offset \(end))")
            }
        }

        mutating func u16() throws -> UInt16 {
            try need(2)
            defer { offset += 2 }
            return UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
        }

        mutating func u32() throws -> UInt32 {
            try need(4)
            defer { offset += 4 }
            return UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        }

        mutating func u64() throws -> UInt64 {
            try need(8)
            defer { offset += 8 }
            return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }

        mutating func bytes(_ count: Int) throws -> UnsafeRawBufferPointer {
            try need(count)
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: raw[offset..<offset + count])
        }

        mutating func string() throws -> String {
            let length = Int(try u32())
            return String(decoding: try bytes(length), as: UTF8.self)
        }

        /// A count of records of at least `minimumSize` bytes each, checked against the room left.
        mutating func count<T: FixedWidthInteger>(_ value: T, minimumSize: Int, of what: String) throws -> Int {
            let room = (end - offset) / minimumSize
            guard value >= 0, UInt64(value) <= UInt64(room) else {
                throw parser.fail("the \(section) section claims \(value) \(what) but has room for at most \(room)")
            }
            return Int(value)
        }

        func finish() throws {
            if offset != end {
                throw parser.fail("\(end - offset) unexpected bytes at the end of the \(section) section (offset \(offset))")
            }
        }
    }

    mutating func parse() throws -> RawSnapshot {
        let size = raw.count
        let preamble = Int(HEAPSNAP_PREAMBLE_SIZE), sectionHeader = Int(HEAPSNAP_SECTION_HEADER_SIZE)
        guard size >= preamble else {
            throw fail("truncated in the preamble (needs \(preamble) bytes at offset 0, file has \(size))")
        }
        guard Array(raw[0..<Int(HEAPSNAP_MAGIC_LENGTH)]) == snapshotMagic else {
            throw fail("not a heapsnap snapshot (wrong magic)")
        }
        let version = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard version >= HEAPSNAP_FORMAT_VERSION_OLDEST && version <= HEAPSNAP_FORMAT_VERSION else {
            throw fail("unsupported format version \(version) (this reader knows versions \(HEAPSNAP_FORMAT_VERSION_OLDEST) to \(HEAPSNAP_FORMAT_VERSION))")
        }
        guard raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self) == 0 else {
            throw fail("the preamble's reserved field is not zero")
        }

        // Walk the section headers to the END section and check the CRC before decoding anything.
        var sections: [(tag: UInt32, start: Int, length: Int)] = []
        var offset = preamble
        var lastKnownTag: UInt32 = 0
        var previousName = "preamble"
        while true {
            guard size - offset >= sectionHeader else {
                if size == offset {
                    throw fail("truncated after the \(previousName) section (no END section, file has \(size) bytes)")
                }
                throw fail("truncated in a section header after the \(previousName) section (needs \(sectionHeader) bytes at offset \(offset), file has \(size))")
            }
            let tag = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let length64 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            let name = SnapshotSection.name(of: tag)
            // (the END section's header lies outside the CRC, so its reserved field is checked too)
            guard raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self) == 0 else {
                throw fail("the \(name) section header at offset \(offset) has a non-zero reserved field")
            }
            let start = offset + sectionHeader
            guard length64 <= UInt64(size - start) else {
                throw fail("truncated in the \(name) section (needs \(length64) bytes at offset \(start), file has \(size))")
            }
            let length = Int(length64)
            if tag == SnapshotSection.end.tag {
                guard length == 4 else { throw fail("the END section has length \(length), expected 4") }
                let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start, as: UInt32.self))
                let computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<offset]))
                guard stored == computed else {
                    throw fail("checksum mismatch (END section says \(hex(stored)), contents give \(hex(computed))): the file is corrupt")
                }
                guard start + 4 == size else {
                    throw fail("\(size - start - 4) unexpected bytes after the END section (offset \(start + 4))")
                }
                break
            }
            if SnapshotSection(tag: tag) != nil {
                guard tag > lastKnownTag else {
                    throw fail("the \(name) section at offset \(offset) is out of order or repeated")
                }
                lastKnownTag = tag
            }
            sections.append((tag, start, length))
            previousName = name
            offset = start + length
        }

        func payload(_ section: SnapshotSection) throws -> Cursor? {
            guard let entry = sections.first(where: { $0.tag == section.tag }) else { return nil }
            return Cursor(raw: raw, offset: entry.start, end: entry.start + entry.length, section: section.name, parser: self)
        }
        guard var headerCursor = try payload(.header) else { throw fail("has no HEADER section") }
        guard var modulesCursor = try payload(.modules) else { throw fail("has no MODULES section") }
        guard var stacksCursor = try payload(.stacks) else { throw fail("has no STACKS section") }
        var header = try parseHeader(&headerCursor, version: version)
        if var samplingCursor = try payload(.sampling) {
            header.sampling = try parseSampling(&samplingCursor)
        }
        if var unwindCursor = try payload(.unwind) {
            header.unwind = try parseUnwind(&unwindCursor)
        }
        let modules = try parseModules(&modulesCursor)
        var python: PythonInterpreter? = nil
        if var pythonCursor = try payload(.python) {
            guard version >= 2 else { throw fail("has a PYTHON section, which format version \(version) does not have") }
            python = try parsePython(&pythonCursor)
        }
        let stacks = try parseStacks(&stacksCursor, version: version, codeCount: python?.codes.count)
        var traces: [TraceRecord]? = nil
        if var tracesCursor = try payload(.traces) {
            traces = try parseTraces(&tracesCursor, stackCount: stacks.count)
        }
        guard header.hasTraces == (traces != nil) else {
            throw fail(header.hasTraces ? "the HEADER says live blocks were recorded but there is no TRACES section"
                                        : "has a TRACES section but the HEADER says live blocks were not recorded")
        }
        return RawSnapshot(header: header, modules: modules, stacks: stacks, traces: traces, python: python)
    }

    func parseUnwind(_ c: inout Cursor) throws -> SnapshotHeader.Unwind {
        let status = try c.u32()
        let flags = try c.u32()
        var unwind = SnapshotHeader.Unwind(
            status: status, verifying: flags & HEAPSNAP_UNWIND_VERIFYING != 0, verifiedCaptures: try c.u64(),
            mismatches: try c.u64(), fallbacks: try c.u64())
        let hasMismatch = try c.u32()
        let frame = try c.u32(), ownDepth = try c.u32(), libunwindDepth = try c.u32()
        let ownAddress = try c.u64(), libunwindAddress = try c.u64()
        let ownModule = try c.string(), ownOffset = try c.u64()
        let libunwindModule = try c.string(), libunwindOffset = try c.u64()
        try c.finish()
        guard hasMismatch <= 1 else { throw fail("the UNWIND section's mismatch flag is \(hasMismatch), not 0 or 1") }
        guard unwind.mismatches <= unwind.verifiedCaptures else {
            throw fail("the UNWIND section counts \(unwind.mismatches) mismatches in \(unwind.verifiedCaptures) verified captures")
        }
        // FORMAT.md: without a mismatch the description is all zero, so damage there is caught too
        guard hasMismatch == 1 || (frame | ownDepth | libunwindDepth == 0
            && ownAddress | libunwindAddress | ownOffset | libunwindOffset == 0
            && ownModule.isEmpty && libunwindModule.isEmpty)
        else { throw fail("the UNWIND section describes a first mismatch but its mismatch flag is 0") }
        if hasMismatch == 1 {
            unwind.firstMismatch = .init(
                frame: frame, ownDepth: ownDepth, libunwindDepth: libunwindDepth, ownAddress: ownAddress,
                libunwindAddress: libunwindAddress, ownModule: ownModule, ownOffset: ownOffset,
                libunwindModule: libunwindModule, libunwindOffset: libunwindOffset)
        }
        return unwind
    }

    func parseSampling(_ c: inout Cursor) throws -> SnapshotHeader.Sampling {
        let rate = try c.u64()
        guard rate > 0 else { throw fail("the SAMPLING section has a sampling interval of 0 bytes") }
        let sampling = SnapshotHeader.Sampling(
            rateBytes: rate, seed: try c.u64(), recordedLiveBlocks: try c.u64(), recordedAllocations: try c.u64())
        try c.finish()
        return sampling
    }

    func parseHeader(_ c: inout Cursor, version: UInt32) throws -> SnapshotHeader {
        let pid = try c.u32()
        let ppid = try c.u32()
        let time = try c.u64()
        let start = try c.u64()
        let sequence = try c.u32()
        let triggerValue = try c.u32()
        guard let trigger = SnapshotTrigger(value: triggerValue) else {
            throw fail("unknown trigger \(triggerValue) in the HEADER section")
        }
        let maxFrames = try c.u32()
        let flags = try c.u32()
        var header = SnapshotHeader(
            formatVersion: version, pid: pid, parentPID: ppid, timeNanoseconds: time, startNanoseconds: start,
            sequence: sequence, trigger: trigger, maxFrames: maxFrames, hasTraces: flags & HEAPSNAP_HEADER_HAS_TRACES != 0)
        header.currentBytes = try c.u64()
        header.peakBytes = try c.u64()
        header.liveBlocks = try c.u64()
        header.totalAllocations = try c.u64()
        header.totalBytes = try c.u64()
        header.trackerBytes = try c.u64()
        header.untrackedFrees = try c.u64()
        for (value, name) in [(header.currentBytes, "current bytes"), (header.peakBytes, "peak bytes"),
                              (header.liveBlocks, "live blocks"), (header.totalAllocations, "allocations"),
                              (header.totalBytes, "allocated bytes"), (header.trackerBytes, "tracker bytes"),
                              (header.untrackedFrees, "untracked frees")] {
            var total: UInt64 = 0
            try sum(&total, value, "the HEADER's \(name)")
        }
        header.executable = try c.string()
        let argc = try c.count(try c.u32(), minimumSize: 4, of: "arguments")
        var arguments: [String] = []
        arguments.reserveCapacity(argc)
        for _ in 0..<argc { arguments.append(try c.string()) }
        header.arguments = arguments
        try c.finish()
        return header
    }

    func parseModules(_ c: inout Cursor) throws -> [ModuleRecord] {
        let count = try c.count(try c.u32(), minimumSize: 24, of: "modules")
        var modules: [ModuleRecord] = []
        modules.reserveCapacity(count)
        for _ in 0..<count {
            let bias = try c.u64()
            let flags = try c.u32()
            let path = try c.string()
            let buildIDLength = Int(try c.u32())
            let buildID = Array(try c.bytes(buildIDLength))
            let segmentCount = try c.count(try c.u32(), minimumSize: 24, of: "segments")
            var segments: [ModuleRecord.Segment] = []
            segments.reserveCapacity(segmentCount)
            for _ in 0..<segmentCount {
                let start = try c.u64()
                let size = try c.u64()
                guard !start.addingReportingOverflow(size).overflow else {
                    throw fail("corrupt: a segment of module \(path) overflows the address space")
                }
                let segmentFlags = try c.u32()
                _ = try c.u32()
                segments.append(.init(start: start, size: size, flags: segmentFlags))
            }
            modules.append(ModuleRecord(
                loadBias: bias, path: path, buildID: buildID, segments: segments,
                isMainExecutable: flags & HEAPSNAP_MODULE_MAIN_EXECUTABLE != 0,
                wasUnloaded: flags & HEAPSNAP_MODULE_UNLOADED != 0, isVDSO: flags & HEAPSNAP_MODULE_VDSO != 0))
        }
        try c.finish()
        return modules
    }

    /// Adds a count or size from the file to a running total that must stay a signed 64-bit value,
    /// so that no sum, difference or signed conversion made from the file later can overflow.
    func sum(_ total: inout UInt64, _ value: UInt64, _ what: @autoclosure () -> String) throws {
        let (result, overflow) = total.addingReportingOverflow(value)
        guard !overflow, result <= UInt64(Int64.max) else { throw fail("corrupt: \(what()) overflows") }
        total = result
    }

    func parseStacks(_ c: inout Cursor, version: UInt32, codeCount: Int?) throws -> [StackRecord] {
        let count = try c.count(try c.u32(), minimumSize: Int(version >= 2 ? HEAPSNAP_STACK_RECORD_SIZE : HEAPSNAP_STACK_RECORD_SIZE_V1), of: "stacks")
        var stacks: [StackRecord] = []
        stacks.reserveCapacity(count)
        var sums: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for index in 0..<count {
            let domain = try c.u32()
            let depth = Int(try c.u16())
            let flags = try c.u16()
            let liveBytes = try c.u64()
            let liveBlocks = try c.u64()
            let totalAllocations = try c.u64()
            let totalBytes = try c.u64()
            let temporaryAllocations = version >= 2 ? try c.u64() : 0
            try sum(&sums.0, liveBytes, "the sum of live bytes over the stacks (at stack \(index))")
            try sum(&sums.1, liveBlocks, "the sum of live blocks over the stacks (at stack \(index))")
            try sum(&sums.2, totalAllocations, "the sum of allocations over the stacks (at stack \(index))")
            try sum(&sums.3, totalBytes, "the sum of allocated bytes over the stacks (at stack \(index))")
            try c.need(depth * 8)
            var frames = [UInt64](repeating: 0, count: depth)
            for i in 0..<depth { frames[i] = try c.u64() }
            let (native, python) = try splitFrames(frames, stack: index, codeCount: codeCount)
            stacks.append(StackRecord(
                domain: domain, frames: native, pythonFrames: python, isTruncated: UInt32(flags) & HEAPSNAP_STACK_TRUNCATED != 0,
                liveBytes: liveBytes,
                liveBlocks: liveBlocks, totalAllocations: totalAllocations, totalBytes: totalBytes,
                temporaryAllocations: temporaryAllocations))
        }
        try c.finish()
        return stacks
    }

    func parseTraces(_ c: inout Cursor, stackCount: Int) throws -> [TraceRecord] {
        let count = try c.count(try c.u64(), minimumSize: 24, of: "live blocks")
        var traces: [TraceRecord] = []
        traces.reserveCapacity(count)
        var total: UInt64 = 0
        for index in 0..<count {
            let address = try c.u64()
            let size = try c.u64()
            try sum(&total, size, "the sum of the live blocks' sizes (at block \(index))")
            guard !address.addingReportingOverflow(size).overflow else {
                throw fail("corrupt: live block \(index)'s address plus size overflows")
            }
            let stack = try c.u32()
            _ = try c.u32()
            guard Int(stack) < stackCount else {
                throw fail("live block \(index) in the TRACES section refers to stack \(stack), but there are only \(stackCount) stacks")
            }
            traces.append(TraceRecord(address: address, size: size, stack: stack))
        }
        try c.finish()
        return traces
    }

    func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

/// CRC-32 of IEEE 802.3 (zlib's), as the END section stores it: the tracker's own implementation.
enum CRC32 {
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        heapsnap_crc32(bytes.baseAddress, bytes.count)
    }
}
