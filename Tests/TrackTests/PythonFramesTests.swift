// The tracker's Python frames, on real interpreters in real child processes: Debian's python3.11 and
// each pyenv build present (a missing one is skipped with a printed line). Everything is asserted from
// the raw snapshot: the code records the frames name, their order, their entry marks, and the lines
// their instructions are on according to the interpreter's own co_positions().
import Foundation
import HeapSnap
import TestSupport
import XCTest

/// One CPython the tests run (named so as not to clash with the model's PythonInterpreter).
struct CPythonUnderTest: CustomStringConvertible {
    var name: String
    var executable: String
    var include: String
    var minor: Int
    var description: String { name }

    static let all: [CPythonUnderTest] = {
        let env = ProcessInfo.processInfo.environment
        let root = (env["PYENV_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.pyenv") + "/versions"
        let candidates = [
            CPythonUnderTest(name: "3.11 (Debian)", executable: "/usr/bin/python3.11", include: "/usr/include/python3.11", minor: 11),
            CPythonUnderTest(name: "3.11.7 (pyenv)", executable: root + "/3.11.7/bin/python3.11", include: root + "/3.11.7/include/python3.11", minor: 11),
            CPythonUnderTest(name: "3.12.1 (pyenv)", executable: root + "/3.12.1/bin/python3.12", include: root + "/3.12.1/include/python3.12", minor: 12),
            CPythonUnderTest(name: "3.13.0 (pyenv)", executable: root + "/3.13.0/bin/python3.13", include: root + "/3.13.0/include/python3.13", minor: 13),
        ]
        return candidates.filter { candidate in
            let present = FileManager.default.isExecutableFile(atPath: candidate.executable)
            if !present { print("PythonFramesTests: skipping Python \(candidate.name): \(candidate.executable) is not installed") }
            return present
        }
    }()
}

final class PythonFramesTests: XCTestCase {
    let pythonBit: UInt64 = 1 << 63
    static let script = TestPaths.packageRoot.appendingPathComponent("Tests/Programs/python/frames.py").path

    /// What one Python frame names, resolved through the snapshot's code records.
    struct Named: Equatable, CustomStringConvertible {
        var file: String
        var qualname: String
        var isEntry: Bool
        var offset: UInt32
        var description: String { "\(file):\(qualname)\(isEntry ? " [entry]" : "") @\(offset)" }
    }

    func named(_ stack: StackRecord, in snapshot: RawSnapshot) -> [Named] {
        let codes = snapshot.python?.codes ?? []
        return stack.pythonFrames.map {
            Named(file: codes[$0.code].filename, qualname: codes[$0.code].qualifiedName, isEntry: $0.isEntry,
                  offset: $0.instructionOffset)
        }
    }

    /// The one live block of exactly `size` bytes.
    func stack(ofBlock size: UInt64, in snapshot: RawSnapshot, file: StaticString = #filePath, line: UInt = #line) throws -> StackRecord {
        let matches = snapshot.stacks.filter { $0.liveBytes == size && $0.liveBlocks == 1 }
        guard matches.count == 1 else {
            XCTFail("\(matches.count) stacks hold one live block of \(size) bytes", file: file, line: line)
            throw SnapshotFileError(path: "", problem: "no block of \(size) bytes")
        }
        return matches[0]
    }

    /// Runs frames.py under the tracker and reads the snapshot it asks for.
    func runScript(_ python: CPythonUnderTest, environment: [String: String] = [:]) throws -> (RawSnapshot, String) {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/frames.heapsnap"
        var env = ["PYTHONMALLOC": "malloc", "HEAPSNAP_DIR": directory.path, "PYTHONDONTWRITEBYTECODE": "1"]
        for (key, value) in environment { env[key] = value }
        let result = try runProcess(python.executable, [Self.script, path], environment: env, preload: true,
                                    directory: directory.path, timeout: 120)
        XCTAssertEqual(result.status, 0, "\(python): \(result.stderr)")
        XCTAssertFalse(result.terminatedBySignal, "\(python) was killed by a signal")
        return (try RawSnapshot(contentsOf: path), result.stdout)
    }

    /// The line of `qualname`'s instruction at code unit `offset` in `file`, by the interpreter itself.
    func lines(_ python: CPythonUnderTest, file: String, frames: [Named]) throws -> [Int] {
        let program = """
            import sys
            def walk(code):
                yield code
                for c in code.co_consts:
                    if hasattr(c, "co_code"): yield from walk(c)
            top = compile(open(sys.argv[1]).read(), sys.argv[1], "exec")
            codes = {c.co_qualname: c for c in walk(top)}
            for arg in sys.argv[2:]:
                name, offset = arg.rsplit("@", 1)
                positions = list(codes[name].co_positions())
                print(positions[int(offset)][0])
            """
        let result = try runProcess(python.executable, ["-c", program, file] + frames.map { "\($0.qualname)@\($0.offset)" })
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.split(separator: "\n").compactMap { Int($0) }
    }

    func lineNumber(of text: String, in file: String, exact: Bool = false) throws -> Int {
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        guard let index = lines.firstIndex(where: { exact ? $0 == text : $0.contains(text) }) else {
            XCTFail("\(text) is not in \(file)")
            return 0
        }
        return index + 1
    }

    // MARK: - the table

    func testOffsetTableMatchesEachInterpretersHeaders() throws {
        var checked = 0
        for python in CPythonUnderTest.all {
            guard FileManager.default.fileExists(atPath: python.include + "/Python.h") else {
                print("PythonFramesTests: skipping the layout check of \(python): no headers in \(python.include)")
                continue
            }
            let directory = try TemporaryDirectory()
            let binary = directory.path + "/layout_check"
            let source = TestPaths.packageRoot.appendingPathComponent("Tests/Programs/python/layout_check.c").path
            let compiled = try runProcess("/usr/bin/gcc", [
                "-I", python.include, "-I", python.include + "/internal",
                "-I", TestPaths.packageRoot.appendingPathComponent("Sources/Track").path, "-o", binary, source,
            ])
            XCTAssertEqual(compiled.status, 0, "\(python): \(compiled.stderr)")
            let run = try runProcess(binary)
            XCTAssertEqual(run.status, 0, "\(python): the tracker's offsets differ from the headers:\n\(run.stdout)")
            XCTAssertEqual(run.stdout, "ok 3.\(python.minor)\n", "\(python)")
            checked += 1
        }
        if checked == 0 { print("PythonFramesTests: no interpreter with headers; the layout table was not checked") }
    }

    // MARK: - frames of known allocations

    func testKnownAllocationsHaveTheirPythonFrames() throws {
        try requireLibrary()
        for python in CPythonUnderTest.all {
            let (snapshot, output) = try runScript(python)
            let script = Self.script
            guard let interpreter = snapshot.python else {
                XCTFail("\(python): no PYTHON section")
                continue
            }
            XCTAssertEqual(Int(interpreter.version >> 24), 3, "\(python)")
            XCTAssertEqual(Int((interpreter.version >> 16) & 0xFF), python.minor, "\(python)")
            XCTAssertEqual(interpreter.status, 0, "\(python): \(interpreter.detail)")
            XCTAssertEqual(interpreter.detail, "", "\(python)")
            XCTAssertEqual(interpreter.pythonMalloc, "malloc", "\(python)")

            // A chain of Python calls: innermost first, one evaluation loop (entry on <module>).
            let big = try stack(ofBlock: 7_340_033, in: snapshot)
            let bigFrames = named(big, in: snapshot)
            XCTAssertEqual(bigFrames.map(\.qualname), ["inner_build", "Holder.build", "main", "<module>"], "\(python): \(bigFrames)")
            XCTAssertEqual(bigFrames.map(\.file), Array(repeating: script, count: 4), "\(python)")
            XCTAssertEqual(bigFrames.map(\.isEntry), [false, false, false, true], "\(python)")
            XCTAssertFalse(big.frames.isEmpty, "\(python): the native frames are kept too")
            // Each instruction is on the line CPython itself gives it.
            let expected = try [
                lineNumber(of: "return bytearray(7_340_032)", in: script),
                lineNumber(of: "return inner_build()", in: script),
                lineNumber(of: "kept.append(Holder().build())", in: script),
                lineNumber(of: "main()", in: script, exact: true),
            ]
            XCTAssertEqual(try lines(python, file: script, frames: bigFrames), expected, "\(python): \(bigFrames)")

            // A function run by a C function (sorted's key): a loop of its own, so an entry mark.
            let keyed = named(try stack(ofBlock: 3_145_739, in: snapshot), in: snapshot)
            XCTAssertEqual(keyed.map(\.qualname), ["make_block", "main", "<module>"], "\(python): \(keyed)")
            XCTAssertEqual(keyed.map(\.isEntry), [true, false, true], "\(python): \(keyed)")

            // A thread that released the GIL (ctypes into libc's malloc) still names its frames.
            let threaded = named(try stack(ofBlock: 5_242_883, in: snapshot), in: snapshot)
            XCTAssertEqual(threaded.map(\.qualname), ["native_worker", "Thread.run", "Thread._bootstrap_inner", "Thread._bootstrap"],
                           "\(python): \(threaded)")
            XCTAssertEqual(threaded.first?.file, script, "\(python)")
            XCTAssertTrue(threaded.last?.file.hasSuffix("/threading.py") ?? false, "\(python)")
            XCTAssertEqual(threaded.last?.isEntry, true, "\(python)")

            // Freed code objects: every "doomed" block names "doomed", also the one whose code object's
            // memory became "reborn"'s; that one is a record of its own at the same address.
            guard let attemptText = output.split(separator: "\n").first(where: { $0.hasPrefix("reused at attempt ") }),
                  let attempt = Int(attemptText.dropFirst("reused at attempt ".count)) else {
                XCTFail("\(python): no code object's address was reused (\(output)); the test cannot check that case")
                continue
            }
            var doomedCode = -1
            for k in 0...attempt {
                let doomed = try stack(ofBlock: UInt64(2_097_169 + 16 * k), in: snapshot)
                let frames = named(doomed, in: snapshot)
                XCTAssertEqual(frames.first?.qualname, "doomed", "\(python) attempt \(k): \(frames)")
                XCTAssertEqual(frames.first?.file, "<doomed>", "\(python) attempt \(k)")
                XCTAssertEqual(frames.dropFirst().first?.qualname, "doomed_then_reborn", "\(python)")
                if k == attempt { doomedCode = doomed.pythonFrames[0].code }
            }
            let reborn = try stack(ofBlock: 1_048_599, in: snapshot)
            let rebornFrames = named(reborn, in: snapshot)
            XCTAssertEqual(rebornFrames.first?.qualname, "reborn", "\(python): \(rebornFrames)")
            XCTAssertEqual(rebornFrames.first?.file, "<reborn>", "\(python)")
            let rebornCode = reborn.pythonFrames[0].code
            XCTAssertNotEqual(rebornCode, doomedCode, "\(python)")
            XCTAssertEqual(interpreter.codes[rebornCode].address, interpreter.codes[doomedCode].address,
                           "\(python): the reborn code object lives where the doomed one did")
            XCTAssertEqual(interpreter.codes[doomedCode].firstLine, 1, "\(python)")
            XCTAssertFalse(interpreter.codes[doomedCode].lineTable.isEmpty, "\(python)")
        }
    }

    func testPythonFramesOffByTheSwitchAndInfoSaysWhy() throws {
        try requireLibrary()
        guard let python = CPythonUnderTest.all.last else { return }
        let (snapshot, _) = try runScript(python, environment: ["HEAPSNAP_PYTHON": "0", "PYTHONMALLOC": "malloc"])
        let interpreter = try XCTUnwrap(snapshot.python)
        XCTAssertEqual(interpreter.status, 1)
        XCTAssertEqual(interpreter.detail, "off by HEAPSNAP_PYTHON: native frames only")
        XCTAssertTrue(interpreter.codes.isEmpty)
        XCTAssertTrue(snapshot.stacks.allSatisfy { $0.pythonFrames.isEmpty })
        // native frames only: the big block shares its stack with other bytearrays
        XCTAssertTrue(snapshot.stacks.contains { $0.liveBytes >= 7_340_033 && !$0.frames.isEmpty })

        // `heapsnap info` on a snapshot with frames and on one without
        let directory = try TemporaryDirectory()
        let on = directory.path + "/on.heapsnap", off = directory.path + "/off.heapsnap"
        for (path, env) in [(on, [String: String]()), (off, ["HEAPSNAP_PYTHON": "0"])] {
            var environment = env
            environment["PYTHONMALLOC"] = path == on ? "malloc" : nil
            let result = try runProcess(python.executable, [Self.script, path], environment: environment, preload: true,
                                        directory: directory.path)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let version = python.name.split(separator: " ")[0]
        let infoOn = try runProcess(TestPaths.cli, ["info", on])
        XCTAssertEqual(infoOn.status, 0, infoOn.stderr)
        let pythonLine = infoOn.stdout.split(separator: "\n").first { $0.hasPrefix("Python ") }.map(String.init) ?? ""
        XCTAssertTrue(pythonLine.hasPrefix("Python        CPython \(version)"), pythonLine)
        XCTAssertTrue(pythonLine.contains(", Python frames recorded ("), pythonLine)
        XCTAssertTrue(infoOn.stdout.contains("\nPYTHONMALLOC  malloc\n"), infoOn.stdout)
        let infoOff = try runProcess(TestPaths.cli, ["info", off])
        XCTAssertEqual(infoOff.status, 0, infoOff.stderr)
        XCTAssertTrue(infoOff.stdout.contains(", Python frames off: off by HEAPSNAP_PYTHON: native frames only\n"), infoOff.stdout)
        XCTAssertTrue(infoOff.stdout.contains("\nPYTHONMALLOC  not set ("), infoOff.stdout)
    }

    // MARK: - the reader's checks on Python frames

    func testReaderRejectsInconsistentPythonFrames() throws {
        try requireLibrary()
        guard let python = CPythonUnderTest.all.first else { return }
        let directory = try TemporaryDirectory()
        let path = directory.path + "/s.heapsnap"
        let result = try runProcess(python.executable, [Self.script, path], environment: ["PYTHONMALLOC": "malloc"],
                                    preload: true, directory: directory.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let original = try RawSnapshot(bytes: bytes, path: path)
        let codeCount = original.python?.codes.count ?? 0
        XCTAssertGreaterThan(codeCount, 0)

        // Find the frames of the big block's stack in the file and rewrite them.
        let big = try stack(ofBlock: 7_340_033, in: original)
        let words = big.frames + big.pythonFrames.map { pythonBit | ($0.isEntry ? 1 << 62 : 0) | (UInt64($0.code) << 32) | UInt64($0.instructionOffset) }
        let needle = words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
        guard let at = find(needle, in: bytes) else { return XCTFail("the stack's frames are not in the file") }
        func word(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        func replaced(_ index: Int, _ value: UInt64) -> [UInt8] {
            var copy = bytes
            copy.replaceSubrange(at + 8 * index..<at + 8 * index + 8, with: word(value))
            return resealed(copy)
        }
        let firstPython = big.frames.count
        expectProblem(replaced(firstPython, pythonBit | (UInt64(codeCount) << 32)), path: path,
                      containing: "refers to code record \(codeCount), but the PYTHON section has only \(codeCount)")
        expectProblem(replaced(firstPython + 1, 0x401000), path: path,
                      containing: "has a native frame after its Python frames (frame \(firstPython + 1))")
        // and the same frames without a PYTHON section
        var sections: [(tag: UInt32, start: Int, end: Int)] = []
        var offset = 16
        while offset + 16 <= bytes.count {
            let tag = u32(bytes, offset), length = Int(u64(bytes, offset + 8))
            sections.append((tag, offset, offset + 16 + length))
            offset += 16 + length
        }
        if let python = sections.first(where: { $0.tag == 5 }) {
            var stripped = bytes
            stripped.removeSubrange(python.start..<python.end)
            expectProblem(resealed(stripped), path: path, containing: "has Python frames but the snapshot has no PYTHON section")
        } else {
            XCTFail("no PYTHON section in the file")
        }
    }

    func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<start + needle.count]) == needle { return start }
        }
        return nil
    }

    func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
    func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * $1) } }

    /// The file with its END section's CRC recomputed.
    func resealed(_ bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        let end = copy.count - 20
        let crc = crc32(copy[0..<end])
        for i in 0..<4 { copy[copy.count - 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * i)) }
        return copy
    }

    func expectProblem(_ bytes: [UInt8], path: String, containing text: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try RawSnapshot(bytes: bytes, path: path)
            XCTFail("accepted a damaged file; expected: \(text)", file: file, line: line)
        } catch let error as SnapshotFileError {
            XCTAssertTrue(error.description.contains(text), "\(error.description) does not say \(text)", file: file, line: line)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }
}
