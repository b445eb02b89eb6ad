// The offline JSON snapshot keeps what a Python process's binary snapshot says beyond its frames: the
// interpreter (version, whether frames were recorded and why not, PYTHONMALLOC, how many code objects)
// and, per traceback, where the Python list starts when it could not be paired with the native one.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class PythonSnapshotJSONTests: XCTestCase {
    let libpython = "/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0"

    func snapshot(python: HeapSnap.PythonInterpreter) -> Snapshot {
        let info = SnapshotInfo(header: SnapshotHeader(
            pid: 42, parentPID: 1, timeNanoseconds: 1_795_000_000_500_000_000, startNanoseconds: 1_795_000_000_000_000_000,
            sequence: 1, trigger: .exit, maxFrames: 64, currentBytes: 4600, peakBytes: 4600, liveBlocks: 13,
            totalAllocations: 13, totalBytes: 4600, trackerBytes: 1 << 20, untrackedFrees: 0,
            executable: "/usr/bin/python3.12", arguments: ["python3.12", "app.py"]),
            modules: [ModuleInfo(path: libpython, loadBias: 0x7f00_0000_0000)], python: python)
        let malloc = Frame(module: "/lib/libc.so.6", function: "malloc", address: 0x7f10_0000_0100, moduleOffset: 0x100)
        let resize = Frame(module: libpython, function: "list_resize", file: "Objects/listobject.c", line: 70,
                           address: 0x7f00_0000_2000, moduleOffset: 0x2000)
        let stripped = Frame(module: libpython, address: 0x7f00_0000_3000, moduleOffset: 0x3000)
        let loop = Frame(module: libpython, function: "_PyEval_EvalFrameDefault", address: 0x7f00_0000_4000, moduleOffset: 0x4000)
        let inner = Frame.python(file: "app.py", function: "build", line: 12)
        let outer = Frame.python(file: "app.py", function: "<module>", line: 30)
        // paired: the loop frame replaced by its Python frames
        let paired = MixedStack.merge(native: [malloc, resize, loop], python: [
            RecordedPythonFrame(frame: inner, isEntry: false), RecordedPythonFrame(frame: outer, isEntry: true),
        ])
        // unpaired (no symbol for the loop): both lists, the Python one from index 2
        let unpaired = MixedStack.merge(native: [malloc, stripped], python: [
            RecordedPythonFrame(frame: inner, isEntry: false), RecordedPythonFrame(frame: outer, isEntry: true),
        ])
        return Snapshot(info: info, traces: [
            Trace(size: 4000, count: 10, totalAllocations: 10, totalBytes: 4000, traceback: paired),
            Trace(size: 600, count: 3, totalAllocations: 3, totalBytes: 600, traceback: unpaired),
        ])
    }

    func top(_ snapshot: Snapshot, by group: GroupKey, limit: Int) -> String {
        TextReport().render(StatisticsReport(top: snapshot, statistics: snapshot.statistics(by: group, sites: snapshot.sites),
                                             groupBy: group, limit: limit, sites: snapshot.sites))
    }

    func roundTrip(_ snapshot: Snapshot) throws -> Snapshot {
        try Snapshot(jsonData: try snapshot.jsonData(), name: "s.json")
    }

    func testInterpreterAndSplitPointRoundTrip() throws {
        let python = HeapSnap.PythonInterpreter(version: 0x030C_01F0, status: 0, detail: "2 frame walks stopped at a frame that failed validation",
                                       pythonMalloc: "malloc", codes: [
                                           PythonCodeRecord(firstLine: 1, filename: "app.py", qualifiedName: "<module>"),
                                           PythonCodeRecord(firstLine: 10, filename: "app.py", qualifiedName: "build"),
                                       ])
        let original = snapshot(python: python)
        XCTAssertNil(original.traces[0].traceback.pythonStart)
        XCTAssertEqual(original.traces[1].traceback.pythonStart, 2)
        let loaded = try roundTrip(original)
        let interpreter = try XCTUnwrap(loaded.info.python)
        XCTAssertEqual(interpreter.version, 0x030C_01F0)
        XCTAssertEqual(interpreter.versionText, "3.12.1")
        XCTAssertEqual(interpreter.status, 0)
        XCTAssertEqual(interpreter.detail, "2 frame walks stopped at a frame that failed validation")
        XCTAssertEqual(interpreter.pythonMalloc, "malloc")
        XCTAssertEqual(interpreter.codeCount, 2)
        XCTAssertEqual(interpreter.codes, [], "the records themselves stay in the binary snapshot")
        // tracebacks, split points and sites exactly
        XCTAssertEqual(loaded.traces.map(\.traceback), original.traces.map(\.traceback))
        XCTAssertEqual(loaded.traces.map(\.traceback.pythonStart), [nil, 2])
        XCTAssertEqual(loaded.traces.map { $0.traceback.site.function }, ["build", "build"])
        let native = loaded.withSites(SiteRules(prefersNative: true)), nativeOriginal = original.withSites(SiteRules(prefersNative: true))
        XCTAssertEqual(native.traces.map(\.traceback.siteIndex), nativeOriginal.traces.map(\.traceback.siteIndex))
        XCTAssertEqual(native.traces[0].traceback.site.function, "list_resize")
        // what info and the reports print
        let text = TextReport()
        XCTAssertEqual(text.render(info: loaded).replacingOccurrences(of: "Snapshot      s.json", with: "Snapshot      (in memory)"),
                       text.render(info: original))
        XCTAssertTrue(text.render(info: loaded).contains(
            "\nPython        CPython 3.12.1, Python frames recorded (2 code objects); 2 frame walks stopped at a frame that failed validation\n"))
        XCTAssertEqual(top(loaded, by: .traceback, limit: 5).replacingOccurrences(of: "s.json", with: "(in memory)"),
                       top(original, by: .traceback, limit: 5))
        XCTAssertEqual(top(native, by: .line, limit: 5).replacingOccurrences(of: "s.json", with: "(in memory)"),
                       top(nativeOriginal, by: .line, limit: 5))
        // and once more: the same bytes
        XCTAssertEqual(try loaded.jsonData(), try original.jsonData())
    }

    func testFramesOffAndPymallocRoundTrip() throws {
        let off = HeapSnap.PythonInterpreter(version: 0x030D_00F0, status: 1, detail: "off by HEAPSNAP_PYTHON: native frames only",
                                    pythonMalloc: "")
        var original = snapshot(python: off)
        original = Snapshot(info: original.info, traces: original.traces.map {
            var trace = $0
            trace.traceback = Traceback(frames: $0.traceback.frames.filter { !$0.isPython })
            return trace
        })
        let loaded = try roundTrip(original)
        let interpreter = try XCTUnwrap(loaded.info.python)
        XCTAssertEqual(interpreter, off)
        XCTAssertTrue(interpreter.usesPymalloc)
        let text = TextReport()
        let info = text.render(info: loaded)
        XCTAssertTrue(info.contains("\nPython        CPython 3.13.0, Python frames off: off by HEAPSNAP_PYTHON: native frames only\n"), info)
        let report = top(loaded, by: .line, limit: 3)
        XCTAssertEqual(report.replacingOccurrences(of: "s.json", with: "(in memory)"), top(original, by: .line, limit: 3))
        XCTAssertTrue(report.contains("warning: small Python objects came from pymalloc's arenas"), report)
        XCTAssertTrue(report.contains("warning: Python frames were not captured: off by HEAPSNAP_PYTHON: native frames only"), report)
    }

    func testASplitPointOutsideItsTracebackIsAnError() throws {
        let python = HeapSnap.PythonInterpreter(version: 0x030C_01F0, pythonMalloc: "malloc")
        let text = String(decoding: try snapshot(python: python).jsonData(), as: UTF8.self)
        let broken = text.replacingOccurrences(of: "\"python_start\":2", with: "\"python_start\":9")
        XCTAssertNotEqual(broken, text)
        XCTAssertThrowsError(try Snapshot(jsonData: Data(broken.utf8), name: "s.json")) { error in
            XCTAssertEqual("\(error)", "s.json: trace 1 has python_start 9 outside its 4 frames")
        }
    }
}
