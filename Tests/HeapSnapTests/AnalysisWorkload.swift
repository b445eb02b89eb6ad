// A reproducible analysis workload (test support, not library API): real ELF files of this machine laid
// out at made-up load addresses, with distinct return addresses spread evenly over their executable
// segments, resolved by the same Symbolizer path `heapsnap` uses for a snapshot, then every later stage
// timed on it.
import CLibDW
import Foundation
import HeapSnap

enum AnalysisWorkload {
    /// The result of one run.
    struct Result: Sendable, CustomStringConvertible {
        var modules: Int
        var distinctAddresses: Int
        /// Addresses that got a file:line (debug info found).
        var withLines: Int
        /// Addresses that got at least a function name.
        var withFunctions: Int
        var seconds: Double

        var description: String {
            String(format: "%d distinct addresses in %d modules: %.3f s (%d with file:line, %d with a function)",
                   distinctAddresses, modules, seconds, withLines, withFunctions)
        }
    }

    /// Shared libraries of the system and the Swift toolchain, up to `count`, the C library (which has
    /// separate debug info here) first.
    static func defaultLibraries(count: Int = 30) -> [String] {
        var result: [String] = []
        let fileManager = FileManager.default
        for path in ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                     "/lib/x86_64-linux-gnu/libm.so.6", "/lib/x86_64-linux-gnu/libdw.so.1",
                     "/lib/x86_64-linux-gnu/libelf.so.1"] where fileManager.fileExists(atPath: path) {
            result.append(path)
        }
        for directory in ["/opt/swift/usr/lib/swift/linux", "/usr/lib/x86_64-linux-gnu"] {
            let names = ((try? fileManager.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            for name in names where name.hasSuffix(".so") || name.contains(".so.") {
                guard result.count < count else { return result }
                let path = directory + "/" + name
                if !result.contains(path), (try? executableSegments(of: path))?.isEmpty == false { result.append(path) }
            }
        }
        return Array(result.prefix(count))
    }

    /// The PT_LOAD segments of an ELF file: (virtual address, memory size, flags).
    static func executableSegments(of path: String) throws -> [(vaddr: UInt64, size: UInt64, flags: UInt32)] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AnalysisError("\(path): cannot be opened") }
        defer { close(fd) }
        elf_version(UInt32(EV_CURRENT))
        guard let elf = elf_begin(fd, ELF_C_READ, nil) else { throw AnalysisError("\(path): not an ELF file") }
        defer { elf_end(elf) }
        var count = 0
        guard elf_getphdrnum(elf, &count) == 0 else { throw AnalysisError("\(path): no program headers") }
        var segments: [(vaddr: UInt64, size: UInt64, flags: UInt32)] = []
        for index in 0..<count {
            var header = GElf_Phdr()
            guard gelf_getphdr(elf, Int32(index), &header) != nil, header.p_type == UInt32(PT_LOAD) else { continue }
            segments.append((header.p_vaddr, header.p_memsz, header.p_flags))
        }
        return segments
    }

    /// A raw snapshot whose stacks hold `distinctAddresses` different return addresses spread over the
    /// executable segments of `libraries`, in stacks of `depth` frames.
    static func syntheticSnapshot(libraries: [String], distinctAddresses: Int, depth: Int = 16) throws -> RawSnapshot {
        var modules: [ModuleRecord] = []
        var executable: [(start: UInt64, size: UInt64)] = []
        for (index, path) in libraries.enumerated() {
            let bias = 0x7f00_0000_0000 + UInt64(index) * 0x1000_0000
            let segments = try executableSegments(of: path)
            modules.append(ModuleRecord(
                loadBias: bias, path: path,
                segments: segments.map { .init(start: bias + $0.vaddr, size: $0.size, flags: $0.flags) }))
            for segment in segments where segment.flags & 1 != 0 {
                executable.append((bias + segment.vaddr, segment.size))
            }
        }
        guard !executable.isEmpty else { throw AnalysisError("no executable segments in the given libraries") }
        let perSegment = max(1, distinctAddresses / executable.count + 1)
        var addresses: [UInt64] = []
        addresses.reserveCapacity(distinctAddresses)
        outer: for round in 0..<perSegment {
            for segment in executable {
                guard addresses.count < distinctAddresses else { break outer }
                // Evenly spaced, never at the segment start (a return address follows a call).
                let step = max(1, segment.size / UInt64(perSegment + 1))
                addresses.append(segment.start + step * UInt64(round + 1) + 1)
            }
        }
        var stacks: [StackRecord] = []
        var index = 0
        while index < addresses.count {
            let frames = Array(addresses[index..<min(index + depth, addresses.count)])
            stacks.append(StackRecord(frames: frames, liveBytes: 64, liveBlocks: 1, totalAllocations: 1, totalBytes: 64))
            index += depth
        }
        return RawSnapshot(header: SnapshotHeader(pid: 1, executable: libraries.first ?? ""), modules: modules,
                           stacks: stacks)
    }

    /// Symbolizes the synthetic snapshot once, timing what `Snapshot.load` spends on symbolization.
    static func run(
        libraries: [String] = defaultLibraries(), distinctAddresses: Int = 20_000,
        symbolizer: Symbolizer = Symbolizer()
    ) throws -> Result {
        let raw = try syntheticSnapshot(libraries: libraries, distinctAddresses: distinctAddresses)
        let start = DispatchTime.now().uptimeNanoseconds
        let table = symbolizer.symbolize(raw)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var withLines = 0, withFunctions = 0
        for frames in table.framesByAddress.values {
            if frames.last?.file != nil { withLines += 1 }
            if frames.last?.function != nil { withFunctions += 1 }
        }
        return Result(modules: libraries.count, distinctAddresses: table.framesByAddress.count,
                      withLines: withLines, withFunctions: withFunctions, seconds: seconds)
    }
}

extension AnalysisWorkload {
    /// Timings of the whole analysis on a large synthetic snapshot: `stacks` stacks of `depth` frames
    /// drawn from `distinctAddresses` real addresses (see `syntheticSnapshot`), each stack holding one
    /// 100-byte block. Returns (step, seconds) in order: load (symbolize and build), statistics by line,
    /// by traceback, cumulative by line, compare, an all-frames filter, JSON export and JSON import.
    static func runAnalysis(
        libraries: [String] = defaultLibraries(), distinctAddresses: Int = 20_000, stacks: Int = 100_000,
        depth: Int = 32
    ) throws -> [(step: String, seconds: Double)] {
        var raw = try syntheticSnapshot(libraries: libraries, distinctAddresses: distinctAddresses)
        let addresses = raw.stacks.flatMap(\.frames)
        // A fixed linear congruential sequence, so every run analyses the same snapshot.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33) % addresses.count
        }
        raw.stacks = (0..<stacks).map { _ in
            StackRecord(frames: (0..<depth).map { _ in addresses[next()] }, liveBytes: 100, liveBlocks: 1,
                        totalAllocations: 1, totalBytes: 100)
        }
        var timings: [(step: String, seconds: Double)] = []
        func time<T>(_ step: String, _ body: () throws -> T) rethrows -> T {
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try body()
            timings.append((step, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            return result
        }
        let snapshot = try time("load") { try Snapshot(raw: raw) }
        _ = time("statistics by line") { snapshot.statistics(by: .line) }
        _ = time("statistics by traceback") { snapshot.statistics(by: .traceback) }
        _ = time("cumulative by line") { snapshot.statistics(by: .line, cumulative: true) }
        _ = time("compare by line") { snapshot.compare(to: snapshot, by: .line) }
        _ = time("filter on all frames") { snapshot.filtered([.module("libc.so*", allFrames: true)]) }
        let data = try time("JSON export") { try snapshot.jsonData() }
        _ = try time("JSON import") { try Snapshot(jsonData: data) }
        return timings
    }
}
