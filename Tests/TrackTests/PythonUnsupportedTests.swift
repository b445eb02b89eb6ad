// The interpreters whose frames the tracker does not read: it must record native frames only, leave
// the program's behaviour alone, and say why in the snapshot and in `heapsnap info`.
// - A CPython older than 3.11 is real here: pyenv's 3.10.13 (skipped with a printed line if absent).
// - 3.14, a free-threaded 3.13, a 3.13 whose debug offsets moved, a 3.13 image without the debug
//   offsets and an interpreter that hides PyGILState_GetThisThreadState do not exist on this machine.
//   They are stand-in libraries (Tests/Programs/python/stand_in_interpreter.c) that hold exactly the
//   symbols the tracker inspects; the 3.13 ones carry the real 3.13.0 _Py_DebugOffsets bytes, read from
//   pyenv's interpreter, with one field changed. A C program dlopen()s each, as an embedder would.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class PythonUnsupportedTests: XCTestCase {
    static let pyenvVersions = (ProcessInfo.processInfo.environment["PYENV_ROOT"].flatMap { $0.isEmpty ? nil : $0 }
        ?? NSHomeDirectory() + "/.pyenv") + "/versions"

    /// What one traced run of the loader left: the raw snapshot, the model, `info`'s Python line.
    struct Outcome {
        var raw: RawSnapshot
        var snapshot: Snapshot
        var pythonLine: String
        var stdout: String
    }

    /// Builds the stand-in as `libraryName` with `flags`, runs the loader on it under the tracker and
    /// checks what must hold whatever the interpreter: the program's own output and status, native
    /// frames only, and the three kept blocks at their lines.
    func runStandIn(_ libraryName: String, _ flags: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let directory = try TemporaryDirectory()
        let library = directory.path + "/" + libraryName
        let built = try runProcess("/usr/bin/cc", ["-shared", "-fPIC", "-o", library] + flags + [PythonInterpreters.script("stand_in_interpreter.c")])
        XCTAssertEqual(built.status, 0, built.stderr, file: file, line: line)
        let loaderSource = PythonInterpreters.script("load_interpreter.c")
        let loader = directory.path + "/load_interpreter"
        let compiled = try runProcess("/usr/bin/cc", ["-g", "-O0", "-o", loader, loaderSource, "-ldl"])
        XCTAssertEqual(compiled.status, 0, compiled.stderr, file: file, line: line)

        let plain = try runProcess(loader, [library])
        let traced = try runProcess(loader, [library], environment: ["HEAPSNAP_DIR": directory.path], preload: true, timeout: 60)
        XCTAssertEqual(plain.status, 0, plain.stderr, file: file, line: line)
        XCTAssertEqual(traced.status, plain.status, file: file, line: line)
        XCTAssertEqual(traced.stdout, "loaded \(library)\n", file: file, line: line)
        XCTAssertEqual(traced.stdout, plain.stdout, file: file, line: line)
        XCTAssertEqual(traced.stderr, plain.stderr, file: file, line: line)

        let path = try XCTUnwrap(directory.files().first { $0.hasSuffix(".0001.heapsnap") }, "no exit snapshot", file: file, line: line)
        let raw = try RawSnapshot(contentsOf: path)
        XCTAssertTrue(raw.stacks.allSatisfy { $0.pythonFrames.isEmpty }, "Python frames were recorded", file: file, line: line)
        XCTAssertEqual(raw.python?.codes.count, 0, file: file, line: line)

        let snapshot = try Snapshot.load(path: path)
        let sites = snapshot.statistics(by: .line)
        let sourceLines = try String(contentsOfFile: loaderSource, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        for size in [1111, 2222, 3333] {
            let expected = try XCTUnwrap(sourceLines.firstIndex { $0.contains("/* KEPT \(size) */") }, file: file, line: line) + 1
            let site = sites.first { $0.size == UInt64(size) && $0.count == 1 }
            XCTAssertEqual(site?.site.file?.hasSuffix("load_interpreter.c"), true, "\(size): \(String(describing: site?.site))", file: file, line: line)
            XCTAssertEqual(site?.site.line, expected, "\(size)", file: file, line: line)
        }

        let info = try runProcess(TestPaths.cli, ["info", path])
        XCTAssertEqual(info.status, 0, info.stderr, file: file, line: line)
        let pythonLine = info.stdout.split(separator: "\n").first { $0.hasPrefix("Python ") }.map(String.init) ?? ""
        return Outcome(raw: raw, snapshot: snapshot, pythonLine: pythonLine, stdout: traced.stdout)
    }

    /// `_PyRuntime`'s first `count` bytes in pyenv's real 3.13.0 (the debug offsets), and where its
    /// fields sit by the 3.13 headers; nil (with a printed line) when that build is not installed.
    func realDebugOffsets() throws -> (bytes: [UInt8], freeThreaded: Int, framePrevious: Int)? {
        let home = Self.pyenvVersions + "/3.13.0"
        let python = home + "/bin/python3.13", include = home + "/include/python3.13"
        guard FileManager.default.isExecutableFile(atPath: python), FileManager.default.fileExists(atPath: include + "/Python.h") else {
            print("PythonUnsupportedTests: skipping the 3.13 stand-ins: pyenv's 3.13.0 with headers is not installed")
            return nil
        }
        let directory = try TemporaryDirectory()
        let probe = directory.path + "/probe"
        let compiled = try runProcess("/usr/bin/cc", ["-I", include, "-I", include + "/internal", "-o", probe,
                                                      PythonInterpreters.script("debug_offsets_probe.c")])
        XCTAssertEqual(compiled.status, 0, compiled.stderr)
        let layout = try runProcess(probe).stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(layout.count, 3)
        guard layout.count == 3 else { return nil }
        let read = try runProcess(python, ["-c", """
            import ctypes
            runtime = ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime")
            print(ctypes.string_at(ctypes.addressof(runtime), \(layout[0])).hex())
            """])
        XCTAssertEqual(read.status, 0, read.stderr)
        let hex = Array(read.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: hex.count - 1, by: 2) { bytes.append(UInt8(String(hex[i...i + 1]), radix: 16)!) }
        XCTAssertEqual(bytes.count, layout[0])
        XCTAssertEqual(Array(bytes.prefix(8)), Array("xdebugpy".utf8), "the real 3.13.0 starts with its cookie")
        XCTAssertEqual(bytes[layout[1]..<layout[1] + 8].reduce(0, |), 0, "pyenv's 3.13.0 is not free-threaded")
        return (bytes, layout[1], layout[2])
    }

    /// Writes `bytes` as a C initializer list the stand-in includes; returns the -D flag naming it.
    func runtimeFlag(_ bytes: [UInt8]) throws -> (String, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/runtime.inc"
        try bytes.map { String(format: "0x%02x,", $0) }.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return ("-DSTAND_IN_RUNTIME=\"\(path)\"", directory)
    }

    // MARK: - a real interpreter older than 3.11

    func testCPython310IsNamedAndTracedWithNativeFramesOnly() throws {
        try requireLibrary()
        let python = Self.pyenvVersions + "/3.10.13/bin/python3.10"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw XCTSkip("pyenv's 3.10.13 is not installed (\(python))")
        }
        let directory = try TemporaryDirectory()
        // a snapshot while the bytearray lives (at exit the interpreter has freed it)
        let script = "import ctypes\nkept = bytearray(7_000_000)\nsnap = getattr(ctypes.CDLL(None), 'heapsnap_snapshot', None)\nif snap: snap(None)\nprint('kept', len(kept))\n"
        let plain = try runProcess(python, ["-c", script], environment: ["PYTHONMALLOC": "malloc"])
        let traced = try runProcess(python, ["-c", script], environment: ["PYTHONMALLOC": "malloc", "HEAPSNAP_DIR": directory.path],
                                    preload: true, timeout: 120)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(traced.status, 0, traced.stderr)
        XCTAssertEqual(traced.stdout, "kept 7000000\n")
        XCTAssertEqual(traced.stderr, plain.stderr)

        let path = try XCTUnwrap(directory.files().first { $0.hasSuffix(".0001.heapsnap") })
        let raw = try RawSnapshot(contentsOf: path)
        let interpreter = try XCTUnwrap(raw.python, "a snapshot of a CPython process has a PYTHON section")
        XCTAssertEqual(interpreter.status, 2) // HEAPSNAP_PYTHON_UNSUPPORTED
        // 3.10 is built with a shared libpython here: the symbols are in the library, not the executable
        let library = Self.pyenvVersions + "/3.10.13/lib/libpython3.10.so.1.0"
        XCTAssertEqual(interpreter.detail, "a CPython older than 3.11 (no Py_Version) in \(library)")
        XCTAssertTrue(interpreter.codes.isEmpty)
        XCTAssertTrue(raw.stacks.allSatisfy { $0.pythonFrames.isEmpty })
        XCTAssertTrue(raw.stacks.contains { $0.liveBytes >= 7_000_000 && $0.liveBlocks >= 1 }, "the bytearray is traced natively")

        let info = try runProcess(TestPaths.cli, ["info", path])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("\nPython        CPython unknown (older than 3.11), Python frames off: a CPython older than 3.11 (no Py_Version) in \(library)\n"),
                      info.stdout)
    }

    // MARK: - stand-ins for builds this machine does not have

    func testAnInterpreterNewerThan313IsNamedWithItsVersion() throws {
        try requireLibrary()
        let outcome = try runStandIn("libpython3.14.so", ["-DSTAND_IN_VERSION=0x030e00f0"])
        XCTAssertEqual(outcome.raw.python?.status, 2)
        XCTAssertEqual(outcome.raw.python?.detail, "CPython 3.14.0 is not supported (heapsnap reads Python frames of 3.11 to 3.13)")
        XCTAssertEqual(outcome.pythonLine,
                       "Python        CPython 3.14.0, Python frames off: CPython 3.14.0 is not supported (heapsnap reads Python frames of 3.11 to 3.13)")
    }

    func testAFreeThreadedBuildIsRefused() throws {
        try requireLibrary()
        guard var real = try realDebugOffsets() else { throw XCTSkip("no 3.13 build to copy the debug offsets from") }
        real.bytes[real.freeThreaded] = 1
        let (flag, keep) = try runtimeFlag(real.bytes)
        let outcome = try runStandIn("libpython3.13t.so", ["-DSTAND_IN_VERSION=0x030d00f0", flag])
        withExtendedLifetime(keep) {}
        XCTAssertEqual(outcome.raw.python?.status, 2)
        XCTAssertEqual(outcome.raw.python?.detail, "free-threaded CPython builds are not supported")
        XCTAssertEqual(outcome.pythonLine, "Python        CPython 3.13.0, Python frames off: free-threaded CPython builds are not supported")
    }

    func testDebugOffsetsThatDisagreeWithTheTableAreRefused() throws {
        try requireLibrary()
        guard var real = try realDebugOffsets() else { throw XCTSkip("no 3.13 build to copy the debug offsets from") }
        real.bytes[real.framePrevious] &+= 8 // interpreter_frame.previous moved by a word
        let (flag, keep) = try runtimeFlag(real.bytes)
        let outcome = try runStandIn("libpython3.13.so", ["-DSTAND_IN_VERSION=0x030d00f0", flag])
        withExtendedLifetime(keep) {}
        XCTAssertEqual(outcome.raw.python?.status, 3) // HEAPSNAP_PYTHON_LAYOUT_MISMATCH
        XCTAssertEqual(outcome.raw.python?.detail, "the interpreter's debug offsets disagree with heapsnap's table at interpreter_frame.previous")
    }

    func testARealImageUnchangedIsAcceptedSoTheRefusalsAreTheirFieldsDoing() throws {
        // The control case: the copied bytes as they are pass every check, so the two tests above fail
        // because of the one field each changes and nothing else. With no thread state, no frame is read.
        try requireLibrary()
        guard let real = try realDebugOffsets() else { throw XCTSkip("no 3.13 build to copy the debug offsets from") }
        let (flag, keep) = try runtimeFlag(real.bytes + [UInt8](repeating: 0, count: 4096))
        let outcome = try runStandIn("libpython3.13.so", ["-DSTAND_IN_VERSION=0x030d00f0", flag])
        withExtendedLifetime(keep) {}
        XCTAssertEqual(outcome.raw.python?.status, 0, outcome.raw.python?.detail ?? "") // capturing
        XCTAssertEqual(outcome.pythonLine, "Python        CPython 3.13.0, Python frames recorded (0 code objects)")
    }

    func testA313ImageWithoutDebugOffsetsIsRefused() throws {
        try requireLibrary()
        let outcome = try runStandIn("libpython3.13.so", ["-DSTAND_IN_VERSION=0x030d00f0"])
        XCTAssertEqual(outcome.raw.python?.status, 3)
        XCTAssertEqual(outcome.raw.python?.detail, "_PyRuntime does not start with the debug offsets (cookie xdebugpy)")
    }

    func testAnInterpreterThatHidesTheThreadStateFunctionIsIncomplete() throws {
        try requireLibrary()
        let outcome = try runStandIn("libpython3.12.so", ["-DSTAND_IN_VERSION=0x030c01f0", "-DSTAND_IN_HIDE_THREAD_STATE"])
        XCTAssertEqual(outcome.raw.python?.status, 4) // HEAPSNAP_PYTHON_INCOMPLETE
        XCTAssertEqual(outcome.raw.python?.detail, "PyGILState_GetThisThreadState is not exported by the interpreter")
        XCTAssertEqual(outcome.pythonLine,
                       "Python        CPython 3.12.1, Python frames off: PyGILState_GetThisThreadState is not exported by the interpreter")
    }
}
