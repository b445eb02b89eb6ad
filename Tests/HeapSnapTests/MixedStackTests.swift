// Pairing of evaluation-loop frames with runs of Python frames, and the sites of mixed traces.
import HeapSnap
import XCTest

final class MixedStackTests: XCTestCase {
    let lib = "/usr/lib/libpython3.11.so.1.0"
    func native(_ function: String, module: String? = nil, file: String? = nil, line: Int = 0) -> Frame {
        Frame(module: module ?? lib, function: function, file: file, line: line)
    }
    func py(_ function: String, _ line: Int, entry: Bool = false, started: Bool = true) -> RecordedPythonFrame {
        RecordedPythonFrame(frame: .python(file: "app.py", function: function, line: line), isEntry: entry, hasStarted: started)
    }
    func site(_ traceback: Traceback, _ rules: SiteRules) -> Frame {
        traceback.frames[rules.siteIndex(in: traceback)]
    }
    func names(_ traceback: Traceback) -> [String] {
        traceback.frames.map { $0.isPython ? "py:\($0.function!):\($0.line)" : $0.function ?? "?" }
    }

    func testEachLoopFrameIsReplacedByItsRunFromTheOutside() {
        // Innermost first: the extension, a loop running two frames, a C call, the outer loop.
        let nativeFrames = [
            native("malloc", module: "/lib/libc.so.6"), native("grab", module: "/x/ext.so"),
            native("_PyEval_EvalFrameDefault"), native("PyObject_Vectorcall"), native("_PyEval_EvalFrameDefault.cold"),
            native("PyEval_EvalCode"), native("Py_RunMain"),
        ]
        let python = [py("inner", 12), py("middle", 20, entry: true), py("<module>", 30, entry: true)]
        let merged = MixedStack.merge(native: nativeFrames, python: python)
        XCTAssertEqual(names(merged), ["malloc", "grab", "py:inner:12", "py:middle:20", "PyObject_Vectorcall",
                                       "py:<module>:30", "PyEval_EvalCode", "Py_RunMain"])
        XCTAssertNil(merged.pythonStart)
    }

    func testAnExtraInnerLoopFrameStaysNative() {
        // A loop that has not started its Python frame yet: the inner one, since pairing is from outside.
        let nativeFrames = [native("_PyEval_EvalFrameDefault"), native("call"), native("_PyEval_EvalFrameDefault"), native("main")]
        let merged = MixedStack.merge(native: nativeFrames, python: [py("<module>", 3, entry: true)])
        XCTAssertEqual(names(merged), ["_PyEval_EvalFrameDefault", "call", "py:<module>:3", "main"])
        // A run whose only frame had not started keeps its loop frame too.
        let unstarted = MixedStack.merge(native: nativeFrames, python: [py("f", 0, entry: true, started: false), py("<module>", 3, entry: true)])
        XCTAssertEqual(names(unstarted), ["_PyEval_EvalFrameDefault", "call", "py:<module>:3", "main"])
    }

    func testWithoutLoopSymbolsBothListsAreKept() {
        let nativeFrames = [native("malloc", module: "/lib/libc.so.6"), Frame(module: "/usr/bin/python3", moduleOffset: 0x1234)]
        let merged = MixedStack.merge(native: nativeFrames, python: [py("f", 2), py("<module>", 5, entry: true)])
        XCTAssertEqual(merged.frames.count, 4)
        XCTAssertEqual(merged.pythonStart, 2)
        XCTAssertEqual(SiteRules.default.siteIndex(in: merged), 2, "the innermost Python frame is still the site")
    }

    func testCutNativeStackPairsFromTheInside() {
        // The outer loop frame was cut by the frame limit: the inner run pairs with the one loop left.
        let nativeFrames = [native("list_resize", file: "Objects/listobject.c", line: 70), native("_PyEval_EvalFrameDefault"), native("call")]
        let merged = MixedStack.merge(native: nativeFrames, python: [py("f", 2, entry: true), py("<module>", 5, entry: true)], nativeCut: true)
        XCTAssertEqual(names(merged), ["list_resize", "py:f:2", "call", "py:<module>:5"])
    }

    func testSitesOfMixedTraces() {
        let traceback = MixedStack.merge(native: [
            native("malloc", module: "/lib/libc.so.6"), native("_PyMem_RawMalloc", file: "Objects/obmalloc.c", line: 60),
            native("PyObject_Malloc", file: "Objects/obmalloc.c", line: 700),
            native("PyByteArray_Resize", file: "Objects/bytearrayobject.c", line: 240),
            native("_PyEval_EvalFrameDefault", file: "Python/ceval.c", line: 5000), native("Py_RunMain"),
        ], python: [py("grow", 7, entry: true)])
        XCTAssertEqual(site(traceback, SiteRules.default).function, "grow")
        XCTAssertEqual(site(traceback, SiteRules(prefersNative: true)).function, "PyByteArray_Resize")
        // The user's --skip-file reaches Python code; with every Python frame skipped, the innermost stays.
        XCTAssertEqual(site(traceback, SiteRules(filePatterns: ["app.py"])).function, "grow")
        // Without Python frames the interpreter is plumbing, as before.
        let nativeOnly = Traceback(frames: [
            native("PyObject_Malloc", file: "Objects/obmalloc.c", line: 700),
            native("PyByteArray_Resize", file: "Objects/bytearrayobject.c", line: 240),
            native("main", module: "/usr/bin/embedder", file: "main.c", line: 9),
        ])
        XCTAssertEqual(site(nativeOnly, SiteRules.default).function, "main")
    }
}
