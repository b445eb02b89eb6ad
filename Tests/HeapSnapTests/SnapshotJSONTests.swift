// The offline JSON snapshot: exact round trips, and clear one-line errors for anything else.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class SnapshotJSONTests: XCTestCase {
    private func richSnapshot() -> Snapshot {
        var info = SnapshotInfo(header: SnapshotHeader(
            pid: 4711, parentPID: 1, timeNanoseconds: 1_795_000_000_123_456_789, startNanoseconds: 1_795_000_000_000_000_000,
            sequence: 3, trigger: .signal, maxFrames: 32, currentBytes: 5123, peakBytes: 9000, liveBlocks: 7,
            totalAllocations: 99, totalBytes: 123_456, trackerBytes: 65536, untrackedFrees: 2,
            executable: "/opt/app/bin/app", arguments: ["app", "--flag", "ünïcode"]))
        info.modules = [
            ModuleInfo(path: "/opt/app/bin/app", buildID: "0a1b2c", hasDebugInfo: true, isMainExecutable: true,
                       loadBias: 0x5555_0000_0000),
            ModuleInfo(path: "/lib/libgone.so", buildID: "ff", wasUnloaded: true, loadBias: 0x7f00_0000_0000,
                       problem: "file changed since the snapshot (build-id mismatch)"),
        ]
        let inlined = Frame(module: "/opt/app/bin/app", function: "helper", file: "/src/h.h", line: 3,
                            address: 0x5555_0000_1234, moduleOffset: 0x1234, isInlined: true)
        let caller = Frame(module: "/opt/app/bin/app", function: "main", file: "/src/main.c", line: 40,
                           address: 0x5555_0000_1234, moduleOffset: 0x1234, symbolOffset: 0x34)
        let gone = Frame(module: "/lib/libgone.so", address: 0x7f00_0000_0042, moduleOffset: 0x42)
        let libc = Frame(module: "/lib/libc.so.6", function: "strdup", address: 0x7f10_0000_0010, moduleOffset: 0x10,
                         symbolOffset: 0x10)
        info.source = "ignored"
        return Snapshot(info: info, traces: [
            Trace(domain: 0, size: 5000, count: 5, totalAllocations: 50, totalBytes: 50000,
                  traceback: Traceback(frames: [inlined, caller])),
            Trace(domain: 7, size: 100, count: 1, totalAllocations: 1, totalBytes: 100,
                  traceback: Traceback(frames: [libc, caller], isTruncated: true)),
            Trace(domain: 0, size: 23, count: 1, traceback: Traceback(frames: [gone])),
            Trace(domain: 0, size: 0, count: 0, totalAllocations: 9, totalBytes: 900, traceback: Traceback(frames: [])),
        ])
    }

    func testRoundTripIsExact() throws {
        let snapshot = richSnapshot()
        let directory = try TemporaryDirectory()
        let path = directory.path + "/snap.json"
        try snapshot.write(jsonTo: path)
        let loaded = try Snapshot.load(path: path)
        XCTAssertEqual(loaded.info.source, path)
        XCTAssertEqual(loaded.info.header, snapshot.info.header)
        XCTAssertEqual(loaded.info.modules, snapshot.info.modules)
        XCTAssertEqual(loaded.traces.map(\.traceback), snapshot.traces.map(\.traceback))
        XCTAssertEqual(loaded.traces.map(\.domain), [0, 7, 0, 0])
        XCTAssertEqual(loaded.traces.map(\.size), [5000, 100, 23, 0])
        XCTAssertEqual(loaded.traces.map(\.count), [5, 1, 1, 0])
        XCTAssertEqual(loaded.traces.map(\.totalAllocations), [50, 1, 0, 9])
        XCTAssertEqual(loaded.traces.map(\.totalBytes), [50000, 100, 0, 900])
        for group in GroupKey.allCases {
            let before = snapshot.statistics(by: group), after = loaded.statistics(by: group)
            XCTAssertEqual(after.map(\.key), before.map(\.key), "\(group)")
            XCTAssertEqual(after.map(\.size), before.map(\.size), "\(group)")
            XCTAssertEqual(after.map(\.count), before.map(\.count), "\(group)")
        }
        // Written twice, the same bytes: frames are shared through one table in a stable order.
        XCTAssertEqual(try loaded.jsonData(), try snapshot.jsonData())
    }

    func testDocumentShape() throws {
        let object = try JSONSerialization.jsonObject(with: try richSnapshot().jsonData()) as! [String: Any]
        XCTAssertEqual(object["format"] as? String, "heapsnap-snapshot")
        XCTAssertEqual(object["version"] as? Int, 1)
        let info = object["info"] as! [String: Any]
        XCTAssertEqual(info["trigger"] as? String, "signal")
        XCTAssertEqual(info["pid"] as? Int, 4711)
        let frames = object["frames"] as! [[String: Any]]
        XCTAssertEqual(frames.count, 4, "the caller frame is shared by two traces")
        let traces = object["traces"] as! [[String: Any]]
        XCTAssertEqual(traces[0]["frames"] as? [Int], [0, 1])
        XCTAssertEqual(traces[1]["frames"] as? [Int], [2, 1])
        XCTAssertEqual(frames[0]["inlined"] as? Bool, true)
        XCTAssertEqual(frames[0]["file"] as? String, "/src/h.h")
    }

    func testRealSnapshotRoundTrip() throws {
        let snapshot = try XCTUnwrap(try snapshotsOfTracedRun("analysis_c_sites").first)
        let directory = try TemporaryDirectory()
        let path = directory.path + "/c.json"
        try snapshot.write(jsonTo: path)
        let loaded = try Snapshot.load(path: path)
        let before = snapshot.statistics(by: .line), after = loaded.statistics(by: .line)
        XCTAssertEqual(after.map(\.key), before.map(\.key))
        XCTAssertEqual(after.map(\.size), before.map(\.size))
        XCTAssertEqual(after.map(\.count), before.map(\.count))
        XCTAssertEqual(after.map(\.site), before.map(\.site))
    }

    private func loadError(_ contents: String?, name: String = "x.json") throws -> String {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/" + name
        if let contents { try Data(contents.utf8).write(to: URL(fileURLWithPath: path)) }
        do {
            _ = try Snapshot.load(path: path)
            XCTFail("\(name) loaded")
            return ""
        } catch {
            let message = "\(error)"
            XCTAssertFalse(message.contains("\n"), message)
            XCTAssertTrue(message.hasPrefix(path + ": "), message)
            return String(message.dropFirst(path.count + 2))
        }
    }

    func testErrors() throws {
        XCTAssertEqual(try loadError(nil), "no such file")
        XCTAssertEqual(try loadError(""), "empty file, not a heapsnap snapshot")
        XCTAssertEqual(try loadError("hello"), "not a heapsnap snapshot (neither a binary snapshot nor heapsnap JSON)")
        XCTAssertEqual(try loadError("{\"name\": 1}"), "JSON but not a heapsnap snapshot (no \"format\": \"heapsnap-snapshot\")")
        XCTAssertEqual(try loadError("[1,2]"), "not a heapsnap snapshot (neither a binary snapshot nor heapsnap JSON)")
        XCTAssertEqual(try loadError("{\"format\": \"heapsnap-snapshot\""), "not valid JSON")
        XCTAssertEqual(try loadError("{\"format\": \"heapsnap-snapshot\", \"version\": 9}"),
                       "heapsnap snapshot JSON version 9 is not supported (this build reads 1)")
        XCTAssertEqual(try loadError("{\"format\": \"heapsnap-snapshot\", \"version\": 1, \"info\": {}}"),
                       "missing \"format_version\" at .info")
        var document = try JSONSerialization.jsonObject(with: try richSnapshot().jsonData()) as! [String: Any]
        var traces = document["traces"] as! [[String: Any]]
        traces[0]["frames"] = [0, 99]
        document["traces"] = traces
        let bad = String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
        XCTAssertEqual(try loadError(bad), "trace 0 refers to a frame that is not in \"frames\"")
        XCTAssertTrue(try loadError("HEAPSNAP\u{1}\0\0\0", name: "t.heapsnap").contains("trunc"))

        func withFirstTrace(_ change: (inout [String: Any]) -> Void) throws -> String {
            var document = try JSONSerialization.jsonObject(with: try richSnapshot().jsonData()) as! [String: Any]
            var traces = document["traces"] as! [[String: Any]]
            change(&traces[0])
            document["traces"] = traces
            return String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
        }
        XCTAssertEqual(try loadError(try withFirstTrace { $0["size"] = nil }), "missing \"size\" at .traces[0]")
        XCTAssertEqual(try loadError(try withFirstTrace { $0["size"] = -5 }), "wrong value at .traces[0].size")
        XCTAssertEqual(try loadError(try withFirstTrace { $0["count"] = 1.5 }), "wrong value at .traces[0].count")
        XCTAssertEqual(try loadError(try withFirstTrace { $0["frames"] = ["a"] }), "wrong value at .traces[0].frames")
        XCTAssertEqual(try loadError(try withFirstTrace { $0["truncated"] = 1 }), "wrong value at .traces[0].truncated")
    }

    /// Another tool's rewrite of the document (keys in any order, spaces, new keys) reads the same.
    func testReformattedDocumentReadsTheSame() throws {
        let snapshot = richSnapshot()
        var document = try JSONSerialization.jsonObject(with: try snapshot.jsonData()) as! [String: Any]
        var traces = document["traces"] as! [[String: Any]]
        traces[1]["comment"] = ["nested": [1, "two", ["three": nil as Any?]]]
        document["traces"] = traces
        document["producer"] = "another tool"
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted])
        let loaded = try Snapshot(jsonData: data)
        XCTAssertEqual(loaded.traces.map(\.traceback), snapshot.traces.map(\.traceback))
        XCTAssertEqual(loaded.traces.map(\.size), snapshot.traces.map(\.size))
        XCTAssertEqual(loaded.traces.map(\.count), snapshot.traces.map(\.count))
        XCTAssertEqual(loaded.traces.map(\.domain), snapshot.traces.map(\.domain))
        XCTAssertEqual(loaded.info.header, snapshot.info.header)
    }
}
