// `heapsnap snap` on processes as users run them: long /proc/PID/maps (python, a program with 200
// libraries), where the tracker's line comes long after the first 4 KiB.
import Foundation
import TestSupport
import XCTest

final class SnapCommandTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws { folder = try TemporaryDirectory() }

    private func mapsSize(_ pid: Int32) throws -> Int {
        try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/\(pid)/maps")).readDataToEndOfFile().count
    }

    private func assertSnap(_ program: LiveProgram, name: String) throws {
        let result = try CLI.run(["snap", String(program.pid)])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        let path = "\(folder.path)/\(name).\(program.pid).0001.heapsnap"
        XCTAssertEqual(result.stdout, path + "\n")
        let info = try CLI.json(try CLI.run(["info", path, "--format", "json"]))
        XCTAssertEqual(info[object: "snapshot"]?[string: "trigger"], "snap")
        XCTAssertEqual(info[object: "snapshot"]?[int: "pid"], Int(program.pid))
    }

    func testSnapOfPythonWhoseMapsAreLong() throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no \(python)") }
        let program = try LiveProgram([python, "-c", "import os, sys, ssl, sqlite3, decimal, ctypes, hashlib, json, socket; print(os.getpid(), 'ready', flush=True); sys.stdin.read()"],
                                      environment: ["HEAPSNAP_DIR": folder.path])
        defer { program.finish() }
        program.assertReady()
        XCTAssertGreaterThan(try mapsSize(program.pid), 8192)
        try assertSnap(program, name: URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(program.pid)/exe")).lastPathComponent)
    }

    func testSnapOfAProgramWith200Libraries() throws {
        let source = folder.path + "/module.c"
        try "int module_value(void) { return 42; }\n".write(toFile: source, atomically: true, encoding: .utf8)
        let libraries = folder.path + "/libs"
        try FileManager.default.createDirectory(atPath: libraries, withIntermediateDirectories: true)
        let first = libraries + "/libmodule_000.so"
        XCTAssertEqual(try runProcess("/usr/bin/gcc", ["-shared", "-fPIC", "-o", first, source]).status, 0)
        var paths = [first]
        for i in 1..<200 {
            let copy = libraries + String(format: "/libmodule_%03d.so", i)
            try FileManager.default.copyItem(atPath: first, toPath: copy)
            paths.append(copy)
        }
        let program = try LiveProgram([try TestPaths.program("cli_many_modules")] + paths,
                                      environment: ["HEAPSNAP_DIR": folder.path])
        defer { program.finish() }
        program.assertReady()
        XCTAssertGreaterThan(try mapsSize(program.pid), 100_000)
        try assertSnap(program, name: "cli_many_modules")

        // dormant: the library's line, found past 100 KB of maps, tells "not tracking" from "not traced"
        let dormant = try LiveProgram([try TestPaths.program("cli_many_modules")] + paths,
                                      environment: ["HEAPSNAP_DIR": folder.path, "HEAPSNAP_ONLY": "nobody"])
        defer { dormant.finish() }
        dormant.assertReady()
        let maps = String(decoding: try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/\(dormant.pid)/maps")).readDataToEndOfFile(), as: UTF8.self)
        XCTAssertGreaterThan(try XCTUnwrap(maps.range(of: "libheapsnap.so")).lowerBound.utf16Offset(in: maps), 4096)
        let result = try CLI.run(["snap", String(dormant.pid)])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "heapsnap: process \(dormant.pid) is not tracking: libheapsnap.so is loaded but its tracker does not answer (HEAPSNAP_ONLY=nobody likely leaves it dormant)\n")
        XCTAssertTrue(dormant.process.isRunning)
    }
}
