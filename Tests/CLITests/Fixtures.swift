// Synthetic snapshots with known numbers, for the Report layer and for driving the CLI on offline JSON
// snapshots. Shapes follow a small server: a leaking cache, steady request buffers, a freed pool.
import Foundation
import HeapSnap

enum Fixtures {
    static let program = "/srv/app/server"
    static let source = "/srv/app/src"

    static func frame(_ function: String, _ file: String, _ line: Int, module: String = program) -> Frame {
        Frame(module: module, function: function, file: "\(source)/\(file)", line: line,
              address: 0x5555_0000_1000 + UInt64(line), moduleOffset: 0x1000 + UInt64(line))
    }

    static let mallocFrame = Frame(
        module: "/usr/lib/x86_64-linux-gnu/libc.so.6", function: "strdup", address: 0x7f00_0000_2000,
        moduleOffset: 0x2000, symbolOffset: 0x1a)
    static let main = frame("main", "main.c", 40)
    static let handle = frame("handle_request", "server.c", 120)
    static let cachePut = frame("cache_put", "cache.c", 88)
    static let cacheKey = frame("cache_put", "cache.c", 90)
    static let readRequest = frame("read_request", "server.c", 60)
    static let poolInit = frame("pool_init", "pool.c", 12)

    /// Live bytes of the cache's values grow by 4 MiB per snapshot: 12 MiB / 4 MiB blocks… in `index`.
    static func snapshot(index: Int, path: String = "") -> Snapshot {
        let cacheBlocks = UInt64(400 * index)
        var traces = [
            // The leak: 10.5 KiB a block.
            Trace(size: cacheBlocks * 10752, count: cacheBlocks,
                  traceback: Traceback(frames: [cachePut, handle, main])),
            // strdup'ed keys: the site is cache.c:90, not libc.
            Trace(size: cacheBlocks * 32, count: cacheBlocks,
                  traceback: Traceback(frames: [mallocFrame, cacheKey, handle, main])),
            // Steady: 32 request buffers of 4 KiB.
            Trace(size: 32 * 4096, count: 32, traceback: Traceback(frames: [readRequest, handle, main])),
        ]
        if index == 1 {
            // Only in the first snapshot: a pool freed later.
            traces.append(Trace(size: 65536, count: 1, traceback: Traceback(frames: [poolInit, main])))
        }
        let live = traces.reduce(0) { $0 + $1.size }
        let blocks = traces.reduce(0) { $0 + $1.count }
        let header = SnapshotHeader(
            pid: 4711, parentPID: 1, timeNanoseconds: 1_795_000_000_000_000_000 + UInt64(index) * 1_000_000_000,
            startNanoseconds: 1_795_000_000_000_000_000, sequence: UInt32(index), trigger: .api,
            currentBytes: live, peakBytes: live + 1000, liveBlocks: blocks, totalAllocations: blocks * 3,
            totalBytes: live * 2, trackerBytes: 123_456, executable: program, arguments: [program, "--port", "80"])
        let modules = [
            ModuleInfo(path: program, buildID: "ab12", hasDebugInfo: true, isMainExecutable: true),
            ModuleInfo(path: "/usr/lib/x86_64-linux-gnu/libc.so.6", buildID: "cd34"),
        ]
        return Snapshot(info: SnapshotInfo(header: header, modules: modules, source: path), traces: traces)
    }

    /// Writes snapshots 1…count as offline JSON into `directory` and returns their paths.
    static func writeSeries(_ count: Int, into directory: String) throws -> [String] {
        try (1...count).map { index in
            let path = "\(directory)/server.4711.000\(index).json"
            try snapshot(index: index, path: path).write(jsonTo: path)
            return path
        }
    }
}
