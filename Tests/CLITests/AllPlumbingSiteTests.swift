// A trace whose every frame is plumbing (the loader's own allocations) has the caller of the allocator
// as its site, and grouping, filters and diff all see that site, through the built executable.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class AllPlumbingSiteTests: XCTestCase {
    var folder: TemporaryDirectory!
    var paths: [String] = []

    static let loader = "/lib64/ld-linux-x86-64.so.2"
    static func loaderFrame(_ function: String, _ file: String, _ line: Int) -> Frame {
        Frame(module: loader, function: function, file: file, line: line, address: 0x7f00_0000_0000 + UInt64(line),
              moduleOffset: UInt64(line))
    }
    /// calloc inlined from rtld-malloc.h into two loader functions, as Debian's ld.so has it.
    static let calloc = loaderFrame("calloc", "./elf/../include/rtld-malloc.h", 44)
    static let newObject = [calloc, loaderFrame("_dl_new_object", "./elf/dl-object.c", 89),
                            loaderFrame("_dl_map_object_from_fd", "./elf/dl-load.c", 1045)]
    static let versions = [calloc, loaderFrame("_dl_check_map_versions", "./elf/dl-version.c", 274),
                           loaderFrame("_dl_map_object_from_fd", "./elf/dl-load.c", 1045)]

    override func setUpWithError() throws {
        folder = try TemporaryDirectory()
        paths = try (1...3).map { index in
            let traces = [
                Trace(size: UInt64(1000 * index), count: UInt64(index), traceback: Traceback(frames: Self.newObject)),
                Trace(size: 300, count: 3, traceback: Traceback(frames: Self.versions)),
            ]
            let header = SnapshotHeader(pid: 99, timeNanoseconds: 1_795_000_000_000_000_000 + UInt64(index),
                                        startNanoseconds: 1_795_000_000_000_000_000, sequence: UInt32(index),
                                        executable: "/usr/bin/tool")
            let snapshot = Snapshot(info: SnapshotInfo(header: header, modules: [
                ModuleInfo(path: "/usr/bin/tool", isMainExecutable: true), ModuleInfo(path: Self.loader)]), traces: traces)
            let path = "\(folder.path)/tool.99.000\(index).json"
            try snapshot.write(jsonTo: path)
            return path
        }
    }

    private func sites(_ arguments: [String]) throws -> [String] {
        let result = try CLI.run(arguments + ["--format", "json", "-n", "0"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return (try CLI.json(result)[objects: "stats"] ?? []).map {
            "\($0[string: "file"] ?? "?"):\($0[int: "line"] ?? 0) \($0[int: "size_diff"] ?? $0[int: "size"] ?? 0)"
        }
    }

    func testGroupingFiltersAndDiffSeeTheCallerOfTheAllocator() throws {
        XCTAssertEqual(try sites(["top", paths[1]]), ["./elf/dl-object.c:89 2000", "./elf/dl-version.c:274 300"],
                       "two sites, not one rtld-malloc.h:44")
        XCTAssertEqual(try sites(["top", paths[1], "--by", "function"]).map { $0.split(separator: " ")[1] }, ["2000", "300"])
        let byFunction = try CLI.json(try CLI.run(["top", paths[1], "--by", "function", "--format", "json"]))
        XCTAssertEqual(byFunction[objects: "stats"]?.map { $0[string: "function"] ?? "?" },
                       ["_dl_new_object", "_dl_check_map_versions"])
        XCTAssertEqual(try sites(["top", paths[1], "--include-function", "_dl_check_map_versions"]),
                       ["./elf/dl-version.c:274 300"])
        XCTAssertEqual(try sites(["top", paths[1], "--exclude", "*/dl-object.c"]), ["./elf/dl-version.c:274 300"])
        XCTAssertEqual(try sites(["top", paths[1], "--include-function", "calloc"]), [], "calloc is never the site")
        XCTAssertEqual(try sites(["diff", paths[0], paths[1]]), ["./elf/dl-object.c:89 1000"])
        // tracemalloc's view (no plumbing rules): the innermost frame.
        XCTAssertEqual(try sites(["top", paths[1], "--no-builtin-plumbing"]), ["./elf/../include/rtld-malloc.h:44 2300"])
    }

    func testFileTracebackAndGrowthGroupingSeeTheCallerOfTheAllocator() throws {
        let byFile = try CLI.json(try CLI.run(["top", paths[1], "--by", "file", "--format", "json"]))
        XCTAssertEqual(byFile[objects: "stats"]?.map { "\($0[string: "file"] ?? "?") \($0[int: "size"] ?? 0)" },
                       ["./elf/dl-object.c 2000", "./elf/dl-version.c 300"])
        // A whole-traceback group is shown at its site too.
        XCTAssertEqual(try sites(["top", paths[1], "--by", "traceback"]), ["./elf/dl-object.c:89 2000", "./elf/dl-version.c:274 300"])
        // growth ranks the loader's growing link_maps at _dl_new_object's line; the steady versions stay out.
        let growth = try CLI.json(try CLI.run(["growth", "--format", "json"] + paths))
        let ranked = try XCTUnwrap(growth[objects: "stats"])
        XCTAssertEqual(ranked.map { "\($0[string: "file"] ?? "?"):\($0[int: "line"] ?? 0) \($0[string: "function"] ?? "?")" },
                       ["./elf/dl-object.c:89 _dl_new_object"])
        XCTAssertEqual(ranked.first?["sizes"] as? [Int], [1000, 2000, 3000])
    }

    /// --skip-function names wrappers, part of the allocator: with _dl_new_object one of them, the site
    /// of its all-plumbing trace is its caller, in top, filters, diff and growth alike.
    func testSkippedFunctionsCountAsTheAllocator() throws {
        let skip = ["--skip-function", "_dl_new_object"]
        XCTAssertEqual(try sites(["top", paths[1]] + skip), ["./elf/dl-load.c:1045 2000", "./elf/dl-version.c:274 300"])
        XCTAssertEqual(try sites(["top", paths[1], "--include-function", "_dl_map_object_from_fd"] + skip),
                       ["./elf/dl-load.c:1045 2000"])
        XCTAssertEqual(try sites(["diff", paths[0], paths[1]] + skip), ["./elf/dl-load.c:1045 1000"])
        let growth = try CLI.json(try CLI.run(["growth", "--format", "json"] + paths + skip))
        XCTAssertEqual(growth[objects: "stats"]?.map { "\($0[string: "file"] ?? "?"):\($0[int: "line"] ?? 0)" },
                       ["./elf/dl-load.c:1045"])
    }
}
