// The reader under libFuzzer (`make fuzz`): any bytes go through the binary or JSON reader and, when
// they read, through grouping, diffing and the text reports as `heapsnap top`, `diff` and `info` do (unsymbolized: frames are
// module offsets, so no file the input names is ever opened). Anything but a clean result or a thrown
// error (a trap, an overflow, a crash) is a finding. Built normally, it replays files and folders of
// inputs instead, which is how a crash found once is checked again.
import Foundation
import HeapSnap

enum ReaderFuzz {
    /// The input as is, and resealed: a mutated file's checksum would stop almost every input at the
    /// CRC check, so the END section's CRC is recomputed to let mutations reach the section parsers.
    static func exercise(_ bytes: [UInt8]) {
        read(bytes)
        if let resealed = resealed(bytes) { read(resealed) }
    }

    static func resealed(_ bytes: [UInt8]) -> [UInt8]? {
        let n = bytes.count
        guard n >= 36, bytes[(n - 20)..<(n - 16)].allSatisfy({ $0 == 0xFF }) else { return nil }
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes[0..<(n - 20)] {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        var copy = bytes
        for i in 0..<4 { copy[n - 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        return copy == bytes ? nil : copy
    }

    static func read(_ bytes: [UInt8]) {
        let snapshot: Snapshot
        if bytes.first == UInt8(ascii: "{") {
            guard let parsed = try? Snapshot(jsonData: Data(bytes), name: "input") else { return }
            snapshot = parsed
        } else {
            guard let raw = try? RawSnapshot(bytes: bytes, path: "input") else { return }
            let traces = raw.stacks.map { stack in
                Trace(domain: stack.domain, size: stack.liveBytes, count: stack.liveBlocks,
                      totalAllocations: stack.totalAllocations, totalBytes: stack.totalBytes,
                      traceback: Traceback(frames: stack.frames.map { Frame(module: "m", moduleOffset: $0) },
                                           isTruncated: stack.isTruncated))
            }
            snapshot = Snapshot(info: SnapshotInfo(header: raw.header), traces: traces)
        }
        _ = snapshot.size
        _ = snapshot.count
        let empty = Snapshot(info: snapshot.info, traces: [])
        let text = TextReport()
        _ = text.render(info: snapshot)
        for group in GroupKey.allCases {
            for cumulative in [false, true] where !(cumulative && group == .traceback) {
                let statistics = snapshot.statistics(by: group, cumulative: cumulative)
                _ = text.render(StatisticsReport(top: snapshot, statistics: statistics, groupBy: group, cumulative: cumulative))
                for (old, new) in [(empty, snapshot), (snapshot, empty), (snapshot, snapshot)] {
                    let diff = new.compare(to: old, by: group, cumulative: cumulative)
                    _ = text.render(StatisticsReport(diff: diff, old: old, new: new, groupBy: group, cumulative: cumulative))
                }
            }
        }
    }
}

#if HEAPSNAP_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ReaderFuzz.exercise(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main
struct ReaderReplay {
    static func main() {
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("heapsnap-fuzz: \(argument): no such file\n".utf8))
                exit(1)
            }
            let paths = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []).sorted().map { argument + "/" + $0 }
                : [argument]
            for path in paths {
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                ReaderFuzz.exercise(Array(data))
                count += 1
            }
        }
        print("heapsnap-fuzz: \(count) inputs replayed")
    }
}
#endif
