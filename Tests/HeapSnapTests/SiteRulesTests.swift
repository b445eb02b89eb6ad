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

/// Wrappers of real programs' allocators, and the site of a trace whose every frame is plumbing.
final class AllocatorWrapperTests: XCTestCase {
    private let libc = "/lib/x86_64-linux-gnu/libc.so.6"
    private let loader = "/lib64/ld-linux-x86-64.so.2"

    /// `wrappers` (innermost first) in `module` above a caller in the program: the site is the caller.
    private func siteAfter(_ wrappers: [String], module: String = "/usr/lib/libwrapped.so.1") -> Int {
        let frames = [frame(libc, "malloc")] + wrappers.map { frame(module, $0, "/src/lib/alloc.c", 10) }
            + [frame(app, "caller", "/src/app.c", 5)]
        return SiteRules.default.siteIndex(in: Traceback(frames: frames))
    }

    func testWrappersThreeDeepAreSkipped() {
        let families: [[String]] = [
            ["Perl_safesysmalloc", "Perl_safesyscalloc", "Perl_safesysrealloc"],
            ["llvm::allocate_buffer(unsigned long, unsigned long)", "llvm::safe_malloc(unsigned long)",
             "void* llvm::safe_realloc(void*, unsigned long)"],
            ["ggc_internal_alloc(unsigned long, void (*)(void*), unsigned long, unsigned long)",
             "ggc_internal_cleared_alloc(unsigned long, void (*)(void*), unsigned long, unsigned long)",
             "ggc_alloc_string(char const*, int)"],
            ["Pool::operator new(unsigned long)", "Arena::operator new[](unsigned long)", "Node::operator delete(void*)"],
            ["g_malloc", "g_malloc0_n", "g_slice_alloc0"],
            ["xmalloc", "xcalloc", "xstrdup"], ["xrealloc", "xmallocz", "sh_xmalloc"],
            ["sqlite3Malloc", "sqlite3MallocZero", "sqlite3DbMallocRawNN"],
            ["sqlite3DbMallocZero", "sqlite3DbRealloc", "sqlite3_malloc64"],
            ["je_malloc", "je_calloc", "_rjem_mallocx"], ["mi_malloc", "mi_heap_malloc", "_mi_malloc_generic"],
            ["tc_malloc", "tc_newarray", "tcmalloc::allocate_full_malloc_oom(unsigned long)"],
            ["folly::checkedMalloc(unsigned long)", "void* folly::checkedRealloc(void*, unsigned long)",
             "folly::fbstring_core<char>::initMedium(char const*, unsigned long)"],
            ["absl::base_internal::LowLevelAlloc::Alloc(unsigned long)",
             "absl::container_internal::raw_hash_set<int>::resize(unsigned long)",
             "QArrayData::allocate(QArrayData**, long long, long long, QArrayData::AllocationOption)"],
        ]
        for wrappers in families {
            XCTAssertEqual(siteAfter(wrappers), 4, "\(wrappers)")
        }
        // The patterns are specific: a program's own tc_/mi_ functions that do not allocate stay sites.
        XCTAssertFalse(SiteRules.default.isPlumbing(frame(app, "tc_parse_rule", "/src/tc.c", 3)))
        XCTAssertFalse(SiteRules.default.isPlumbing(frame(app, "mi_open_device", "/src/mi.c", 3)))
    }

    func testAllPlumbingSiteIsTheCallerOfTheAllocator() {
        // The loader's own allocation, as Debian's ld.so records it: calloc inlined from rtld-malloc.h.
        let loaderFrames = [
            frame(loader, "calloc", "./elf/../include/rtld-malloc.h", 44),
            frame(loader, "_dl_new_object", "./elf/dl-object.c", 89),
            frame(loader, "_dl_map_object_from_fd", "./elf/dl-load.c", 1045),
            frame(libc, "dlopen_doit", "./dlfcn/dlopen.c", 56),
        ]
        XCTAssertEqual(SiteRules.default.siteIndex(in: Traceback(frames: loaderFrames)), 1)
        // Wrappers and the allocator library are skipped too; a user's --skip-function counts as a wrapper.
        let wrapped = [
            frame("/usr/lib/libjemalloc.so.2", "imalloc_body"), frame(libc, "xmalloc"),
            frame("/usr/lib/libstdc++.so.6", "std::locale::_Impl::_Impl(unsigned long)"),
            frame(loader, "_dl_init"),
        ]
        XCTAssertEqual(SiteRules.default.siteIndex(in: Traceback(frames: wrapped)), 2)
        let user = SiteRules(functionPatterns: ["my_pool_alloc"])
        XCTAssertEqual(user.siteIndex(in: Traceback(frames: [frame(libc, "malloc"), frame(libc, "my_pool_alloc"),
                                                             frame(libc, "qsort")])), 2)
        // Nothing but the allocator, or plumbing that is not an allocator first: frame 0.
        XCTAssertEqual(SiteRules.default.siteIndex(in: Traceback(frames: [frame(libc, "malloc"), frame(libc, "calloc")])), 0)
        XCTAssertEqual(SiteRules.default.siteIndex(in: Traceback(frames: [frame(libc, "qsort"), frame(libc, "malloc")])), 0)
        // Without built-in rules every frame counts, as in tracemalloc.
        XCTAssertEqual(SiteRules.none.siteIndex(in: Traceback(frames: loaderFrames)), 0)
    }
}
