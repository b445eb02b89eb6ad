// The offline JSON snapshot of a Python process reads back like the binary one: the same `info` (the
// interpreter, why Python frames were off, PYTHONMALLOC), the same report header warnings, the same
// sites, tracebacks and native sites. Real interpreters, real child processes.
import Foundation
import TestSupport
import XCTest

final class PythonJSONRoundTripTests: XCTestCase {
    /// The commands whose output must not change, byte for byte, once the file's name is the same.
    let commands: [[String]] = [
        ["info"], ["top", "-n", "8"], ["top", "-n", "5", "--native"], ["top", "-n", "3", "--by", "traceback"],
        ["top", "-n", "3", "--by", "file", "--format", "json"],
    ]
    /// Python frames in functions, a method and a comprehension, under -S (no site: a small snapshot,
    /// quick for the debug build to read 2 x 5 times per interpreter).
    let program = """
        class Holder:
            def build(self, n):
                return [str(i) * 40 for i in range(n)]
        def grow(n):
            return Holder().build(n)
        kept = grow(3000)
        import ctypes; ctypes.CDLL(None).heapsnap_snapshot(None)
        """

    /// Runs `script` under `heapsnap run`, exports its exit snapshot and compares every command's output
    /// on both; returns the binary snapshot's path and the export's "python" object.
    func roundTrip(_ python: PythonInterpreter, _ arguments: [String], environment: [String: String] = [:],
                   in directory: TemporaryDirectory) throws -> (snapshot: String, python: [String: Any]?) {
        let run = try CLI.run(["run", "-q", "--dir", directory.path, "--"] + [python.path] + arguments,
                              environment: environment)
        XCTAssertEqual(run.status, 0, "\(python): \(run.stderr)")
        // the program's own snapshot (its objects are gone by the exit snapshot)
        let snapshot = try XCTUnwrap(directory.files().first { $0.hasSuffix(".0001.heapsnap") }, "\(python)")
        let json = directory.path + "/exported.json"
        let export = try CLI.run(["export", "--format", "json", "-o", json, snapshot])
        XCTAssertEqual(export.status, 0, export.stderr)
        // the same name for both, so that headers can be compared whole
        let binaryCopy = directory.path + "/same-name"
        for (source, target) in [(snapshot, binaryCopy + ".heapsnap"), (json, binaryCopy + ".json")] {
            try? FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: source, toPath: target)
        }
        for command in commands {
            let binary = try CLI.run(command + [binaryCopy + ".heapsnap"])
            let offline = try CLI.run(command + [binaryCopy + ".json"])
            XCTAssertEqual(binary.status, 0, "\(python) \(command): \(binary.stderr)")
            XCTAssertEqual(offline.status, 0, "\(python) \(command): \(offline.stderr)")
            let name = binaryCopy + ".heapsnap", offlineName = binaryCopy + ".json"
            let expected = binary.stdout.replacingOccurrences(of: name, with: "SNAPSHOT")
                .replacingOccurrences(of: "same-name.heapsnap", with: "SNAPSHOT")
            let got = offline.stdout.replacingOccurrences(of: offlineName, with: "SNAPSHOT")
                .replacingOccurrences(of: "same-name.json", with: "SNAPSHOT")
            XCTAssertEqual(got, expected, "\(python) \(command.joined(separator: " ")): the JSON snapshot reads differently")
        }
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        return (snapshot, document?["python"] as? [String: Any])
    }

    /// `sys.hexversion` of the interpreter: what the tracker reads as Py_Version.
    func hexVersion(_ python: PythonInterpreter) throws -> Int {
        let result = try runProcess(python.path, ["-c", "import sys; print(sys.hexversion)"])
        return try XCTUnwrap(Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    func testCapturedPythonFramesRoundTripOnEveryInterpreter() throws {
        try XCTSkipIf(PythonInterpreters.available.isEmpty, "no CPython 3.11+ interpreter installed")
        for python in PythonInterpreters.available {
            let directory = try TemporaryDirectory()
            let (snapshot, exported) = try roundTrip(python, ["-S", "-c", program], in: directory)
            let object = try XCTUnwrap(exported, "\(python): no \"python\" in the export")
            XCTAssertEqual(object["py_version"] as? Int, try hexVersion(python), "\(python)")
            XCTAssertEqual(object["status"] as? Int, 0, "\(python)")
            XCTAssertEqual(object["pythonmalloc"] as? String, "malloc", "\(python)")
            XCTAssertEqual(object["detail"] as? String, "", "\(python)")
            // the count of code records the binary snapshot's info names
            let info = try CLI.run(["info", snapshot]).stdout
            let line = try XCTUnwrap(info.split(separator: "\n").first { $0.hasPrefix("Python ") }, info)
            let count = line.split(separator: "(").last.flatMap { Int($0.split(separator: " ")[0]) }
            XCTAssertNotNil(count, String(line))
            XCTAssertEqual(object["code_objects"] as? Int, count, "\(python): \(line)")
            // the program's line is among the top sites, read from the JSON (the comparison above says
            // the binary agrees): 3000 strings and their list, on line 3 of the -c program
            let top = try CLI.run(["top", "-n", "5", directory.path + "/same-name.json"]).stdout
            XCTAssertTrue(top.contains("  <string>:3 (Holder.build"), "\(python): \(top)")
        }
    }

    func testPythonFramesOffAndPymallocRoundTrip() throws {
        guard let python = PythonInterpreters.available.first else { throw XCTSkip("no CPython 3.11+ interpreter installed") }
        // frames off by the setting: the reason in info and in the report header
        let off = try TemporaryDirectory()
        let (offSnapshot, offObject) = try roundTrip(python, ["-S", "-c", program], environment: ["HEAPSNAP_PYTHON": "0"], in: off)
        XCTAssertEqual(offObject?["status"] as? Int, 1, "off by the setting")
        XCTAssertEqual(offObject?["detail"] as? String, "off by HEAPSNAP_PYTHON: native frames only")
        XCTAssertEqual(offObject?["code_objects"] as? Int, 0)
        let offTop = try CLI.run(["top", "-n", "1", off.path + "/same-name.json"]).stdout
        XCTAssertTrue(offTop.contains("warning: Python frames were not captured: off by HEAPSNAP_PYTHON: native frames only"), offTop)
        XCTAssertTrue(try CLI.run(["info", offSnapshot]).stdout.contains("Python frames off: off by HEAPSNAP_PYTHON"))
        // pymalloc: the warning with the fix, from the JSON too
        let arenas = try TemporaryDirectory()
        let (_, arenaObject) = try roundTrip(python, ["-S", "-c", program], environment: ["PYTHONMALLOC": "pymalloc"], in: arenas)
        XCTAssertEqual(arenaObject?["pythonmalloc"] as? String, "pymalloc")
        let arenaTop = try CLI.run(["top", "-n", "1", arenas.path + "/same-name.json"]).stdout
        XCTAssertTrue(arenaTop.contains("warning: small Python objects came from pymalloc's arenas") && arenaTop.contains("PYTHONMALLOC=malloc"),
                      arenaTop)
        let arenaInfo = try CLI.run(["info", arenas.path + "/same-name.json"]).stdout
        XCTAssertTrue(arenaInfo.contains("\nPYTHONMALLOC  pymalloc"), arenaInfo)
    }
}
