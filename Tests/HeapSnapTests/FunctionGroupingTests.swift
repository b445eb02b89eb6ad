// Grouping by function names a function by where it is defined, not by its name alone.
import HeapSnap
import XCTest

final class FunctionGroupingTests: XCTestCase {
    private func trace(_ size: UInt64, function: String, file: String?, line: Int, module: String = "/opt/app/bin/app") -> Trace {
        Trace(size: size, count: 1, traceback: Traceback(frames: [
            Frame(module: module, function: function, file: file, line: line),
        ]))
    }

    func testSameNamedStaticFunctionsInTwoFilesAreTwoGroups() {
        let snapshot = Snapshot(info: SnapshotInfo(header: SnapshotHeader(pid: 1)), traces: [
            trace(100, function: "init", file: "/src/a.c", line: 3),
            trace(50, function: "init", file: "/src/a.c", line: 9),
            trace(70, function: "init", file: "/src/b.c", line: 4),
        ])
        let rows = snapshot.statistics(by: .function, sites: .none).map {
            "\($0.site.file ?? "?") \($0.site.function ?? "?") size=\($0.size) count=\($0.count)"
        }
        XCTAssertEqual(rows, ["/src/a.c init size=150 count=2", "/src/b.c init size=70 count=1"])
    }

    func testFunctionsWithoutDebugInfoAreScopedByModule() {
        let snapshot = Snapshot(info: SnapshotInfo(header: SnapshotHeader(pid: 1)), traces: [
            trace(30, function: "helper", file: nil, line: 0, module: "/usr/lib/libone.so"),
            trace(20, function: "helper", file: nil, line: 0, module: "/usr/lib/libtwo.so"),
            trace(10, function: "helper", file: nil, line: 0, module: "/usr/lib/libone.so"),
        ])
        let rows = snapshot.statistics(by: .function, sites: .none).map { "\($0.site.moduleName) \($0.size) \($0.count)" }
        XCTAssertEqual(rows, ["libone.so 40 2", "libtwo.so 20 1"])
    }
}
