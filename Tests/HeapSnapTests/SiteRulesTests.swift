// The allocation site: the most recent frame that is not plumbing, per language and per user rule.
import HeapSnap
import XCTest

private func frame(_ module: String, _ function: String? = nil, _ file: String? = nil, _ line: Int = 0) -> Frame {
    Frame(module: module, function: function, file: file, line: line)
}

private let app = "/opt/app/bin/app"

final class SiteRulesTests: XCTestCase {
    private func site(_ frames: [Frame], _ rules: SiteRules = .default) -> Int {
        rules.siteIndex(in: Traceback(frames: frames))
    }

    func testC() {
        XCTAssertEqual(site([frame("/lib/x86_64-linux-gnu/libc.so.6", "strdup"), frame(app, "main", "/src/m.c", 9)]), 1)
        XCTAssertEqual(site([frame(app, "xmalloc", "/src/util.c", 20), frame(app, "load", "/src/load.c", 7)]), 1)
        XCTAssertEqual(site([frame("/lib64/ld-linux-x86-64.so.2"), frame(app, "main", "/src/m.c", 3)]), 1)
    }

    func testCXX() {
        let frames = [
            frame("/lib/x86_64-linux-gnu/libstdc++.so.6", "operator new(unsigned long)"),
            frame(app, "std::__new_allocator<int>::allocate(unsigned long, void const*)",
                  "/usr/include/c++/12/bits/new_allocator.h", 137),
            frame(app, "void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(...)",
                  "/usr/include/c++/12/bits/vector.tcc", 440),
            frame(app, "Cache::add(int)", "/src/cache.cpp", 31),
            frame(app, "main", "/src/main.cpp", 5),
        ]
        XCTAssertEqual(site(frames), 3)
        // Template code without debug info is recognised by name.
        XCTAssertEqual(site([frame(app, "std::make_unique<Widget>()"), frame(app, "build()", "/src/w.cpp", 2)]), 1)
    }

    func testSwift() {
        let frames = [
            frame("/usr/lib/swift/linux/libswiftCore.so", "swift_slowAlloc"),
            frame("/usr/lib/swift/linux/libswiftCore.so", "swift_allocObject"),
            frame(app, "app.Node.__allocating_init(value: Swift.Int) -> app.Node", "/src/main.swift", 0),
            frame(app, "app.makeNode(Swift.Int) -> app.Node", "/src/main.swift", 25),
        ]
        XCTAssertEqual(site(frames), 3)
        XCTAssertEqual(site([frame(app, "merged generic specialization <Swift.UInt8> of Swift.Array.init(repeating: A, count: Swift.Int) -> Swift.Array<A>"),
                             frame(app, "main", "/src/main.swift", 31)]), 1)
        XCTAssertEqual(site([frame(app, "thunk", "<compiler-generated>", 0), frame(app, "main", "/src/main.swift", 4)]), 1)
    }

    func testRust() {
        let frames = [
            frame(app, "__rust_alloc"),
            frame(app, "alloc::raw_vec::finish_grow", "/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/alloc/src/raw_vec.rs", 521),
            frame(app, "<alloc::vec::Vec<T,A> as core::iter::traits::collect::Extend<&T>>::extend", nil),
            frame(app, "mycrate::parse", "/src/parse.rs", 12),
        ]
        XCTAssertEqual(site(frames), 3)
    }

    func testGlibAndCPython() {
        XCTAssertEqual(site([frame("/lib/x86_64-linux-gnu/libglib-2.0.so.0", "g_malloc0"),
                             frame(app, "make_widget", "/src/w.c", 8)]), 1)
        XCTAssertEqual(site([frame("/usr/lib/libfoo.so", "g_strdup"), frame(app, "f", "/src/f.c", 2)]), 1)
        XCTAssertEqual(site([frame("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", "PyObject_Malloc"),
                             frame("/usr/lib/python3/dist-packages/_ext.so", "ext_new", "/src/ext.c", 44)]), 1)
        XCTAssertEqual(site([frame("/usr/bin/python3.11", "PyMem_Malloc"), frame("/x/_ext.so", "ext_new", "/src/ext.c", 44)]), 1)
    }

    func testAllPlumbingKeepsTheMostRecentFrame() {
        let frames = [frame("/lib/x86_64-linux-gnu/libc.so.6", "malloc"), frame("/lib/x86_64-linux-gnu/libc.so.6", "strdup")]
        XCTAssertEqual(site(frames), 0)
        XCTAssertEqual(site([]), 0)
    }

    func testUserPatternsAndTurningBuiltInsOff() {
        let frames = [
            frame("/lib/x86_64-linux-gnu/libc.so.6", "malloc"),
            frame("/opt/app/lib/libarena.so", "arena_alloc", "/src/arena.c", 10),
            frame(app, "Pool::get()", "/src/pool.cpp", 50),
            frame(app, "main", "/src/main.cpp", 7),
        ]
        XCTAssertEqual(site(frames), 1)
        XCTAssertEqual(site(frames, SiteRules(modulePatterns: ["libarena.so*"])), 2)
        XCTAssertEqual(site(frames, SiteRules(functionPatterns: ["arena_*", "Pool::*"])), 3)
        XCTAssertEqual(site(frames, SiteRules(filePatterns: ["*/arena.c", "*/pool.cpp"])), 3)
        XCTAssertEqual(site(frames, SiteRules(useBuiltIn: false)), 0)
        XCTAssertEqual(site(frames, SiteRules(useBuiltIn: false, functionPatterns: ["malloc"])), 1)
        XCTAssertEqual(site(frames, .none), 0)
    }

    func testGroupingUsesTheSiteAndKeepsEveryFrame() {
        let frames = [frame("/lib/x86_64-linux-gnu/libc.so.6", "strdup"), frame(app, "main", "/src/m.c", 9)]
        let snapshot = Snapshot(info: SnapshotInfo(header: SnapshotHeader(pid: 1)), traces: [
            Trace(size: 12, count: 2, traceback: Traceback(frames: frames)),
        ])
        let byLine = snapshot.statistics(by: .line)
        XCTAssertEqual(byLine.map(\.key.description), ["/src/m.c:9"])
        XCTAssertEqual(byLine[0].traceback.frames.count, 2)
        XCTAssertEqual(snapshot.statistics(by: .function).map(\.key.description), ["main"])
        XCTAssertEqual(snapshot.statistics(by: .module).map(\.key.description), [app])
        XCTAssertEqual(snapshot.statistics(by: .module, sites: .none).map(\.key.description), ["/lib/x86_64-linux-gnu/libc.so.6"])
        XCTAssertEqual(snapshot.statistics(by: .line, sites: .none).map(\.key.description), ["strdup"])
    }
}

final class ReturnTypeTests: XCTestCase {
    func testTemplateReturnTypesAreNotPartOfTheName() {
        let cases: [(String, String)] = [
            ("int& std::vector<int, std::allocator<int> >::emplace_back<int>(int&&)",
             "std::vector<int, std::allocator<int> >::emplace_back<int>(int&&)"),
            ("std::pair<int, std::string> std::make_pair<int, std::string>(int&&, std::string&&)",
             "std::make_pair<int, std::string>(int&&, std::string&&)"),
            ("unsigned long std::__detail::__mod<unsigned long, 4294967296ul>(unsigned long)",
             "std::__detail::__mod<unsigned long, 4294967296ul>(unsigned long)"),
            ("foo(int, std::string)", "foo(int, std::string)"),
            ("main", "main"),
            ("operator new(unsigned long)", "operator new(unsigned long)"),
            ("Widget::operator new(unsigned long)", "Widget::operator new(unsigned long)"),
            ("(anonymous namespace)::helper(int)", "(anonymous namespace)::helper(int)"),
            ("Foo::operator()(int) const", "Foo::operator()(int) const"),
            ("app.Node.init(value: Swift.Int) -> app.Node", "app.Node.init(value: Swift.Int) -> app.Node"),
        ]
        for (name, expected) in cases {
            XCTAssertEqual(SiteRules.nameWithoutReturnType(name), expected, name)
        }
    }

    func testTemplatesWithReturnTypesAreRecognisedWithoutDebugInfo() {
        let frames = [
            Frame(module: "/opt/app/bin/app", function: "int& std::vector<int, std::allocator<int> >::emplace_back<int>(int&&)"),
            Frame(module: "/opt/app/bin/app", function: "fill(std::vector<int, std::allocator<int> >&)"),
        ]
        XCTAssertEqual(SiteRules.default.siteIndex(in: Traceback(frames: frames)), 1)
        XCTAssertEqual(SiteRules(useBuiltIn: false, functionPatterns: ["fill"]).siteIndex(in: Traceback(frames: frames)), 0)
        XCTAssertEqual(SiteRules(useBuiltIn: false, functionPatterns: ["fill(*"]).siteIndex(in: Traceback(frames: frames.reversed())), 1)
    }
}
