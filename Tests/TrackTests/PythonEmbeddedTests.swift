// An interpreter that arrives late: a C program dlopen()s libpython (a pyenv build's shared library)
// and runs Python code with it. The tracker looked for CPython at start-up and found none; it must find
// it once loaded and record the Python frames of what it runs.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class PythonEmbeddedTests: XCTestCase {
    func testALibpythonDlopenedLaterGetsItsPythonFrames() throws {
        try requireLibrary()
        let root = (ProcessInfo.processInfo.environment["PYENV_ROOT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? NSHomeDirectory() + "/.pyenv") + "/versions"
        let candidates = [("3.11.7", "3.11"), ("3.12.1", "3.12"), ("3.13.0", "3.13")]
        var ran = 0
        for (version, minor) in candidates {
            let home = root + "/" + version
            let library = home + "/lib/libpython\(minor).so.1.0"
            guard FileManager.default.fileExists(atPath: library) else {
                print("PythonEmbeddedTests: skipping Python \(version): \(library) is not installed")
                continue
            }
            ran += 1
            let directory = try TemporaryDirectory()
            let source = PythonInterpreters.script("embed_dlopen.c")
            let program = directory.path + "/embed"
            let build = try runProcess("/usr/bin/cc", ["-g", "-o", program, source, "-ldl"])
            XCTAssertEqual(build.status, 0, build.stderr)
            let run = try runProcess(program, [library], environment: [
                "PYTHONHOME": home, "PYTHONMALLOC": "malloc", "HEAPSNAP_DIR": directory.path,
            ], preload: true, timeout: 120)
            XCTAssertEqual(run.status, 0, "\(version): \(run.stderr)")
            let file = try XCTUnwrap(directory.files().first { $0.hasSuffix(".0001.heapsnap") }, "\(version)")
            let snapshot = try Snapshot.load(path: file)
            XCTAssertEqual(snapshot.info.python?.isCapturing, true, "\(version): \(snapshot.info.python?.detail ?? "no PYTHON section")")
            XCTAssertEqual(snapshot.info.python?.versionText, version)
            // 4000 strings of 50+ characters and the list holding them, on line 2 of the code it runs
            let site = try XCTUnwrap(snapshot.statistics(by: .line).first { $0.site.isPython && $0.site.file == "<string>" && $0.site.line == 2 },
                                     "\(version): no statistic for <string>:2")
            // 3.12 inlined comprehensions into their function (PEP 709)
            XCTAssertEqual(site.site.function, version.hasPrefix("3.11") ? "build.<locals>.<listcomp>" : "build", version)
            XCTAssertEqual(site.count, 4001, "\(version): the strings and the list's array")
            let header = version.hasPrefix("3.11") ? 48 : 40 // sizeof(PyASCIIObject)
            var strings = 0
            for i in 0..<4000 { strings += header + String(i).count * 50 + 1 }
            XCTAssertGreaterThanOrEqual(Int(site.size), strings, "\(version)")
        }
        if ran == 0 { throw XCTSkip("no pyenv build with a shared libpython installed") }
    }
}
