// Wrappers real programs put around malloc, and the site when every frame is plumbing. Function names
// are the demangled symbols of Debian 12's binaries (nm -DC libLLVM-15.so.1, libperl.so.5.36, cc1,
// libsqlite3.so.0, libglib-2.0.so.0, libabsl_*.so); without the rule, each trace's site is the wrapper.
import HeapSnap
import XCTest

private func frame(_ module: String, _ function: String? = nil, _ file: String? = nil, _ line: Int = 0) -> Frame {
    Frame(module: module, function: function, file: file, line: line)
}

private let app = "/opt/app/bin/app"
private let caller = frame(app, "load_config", "/src/config.c", 42)

final class AllocatorWrapperTests: XCTestCase {
    private func site(_ frames: [Frame], _ rules: SiteRules = .default) -> Int {
        rules.siteIndex(in: Traceback(frames: frames))
    }

    /// Each wrapper chain (most recent first) in the module that defines it, followed by the caller:
    /// the site is the caller, and with the built-in rules off it is the innermost wrapper.
    private func assertWrapped(_ module: String, _ wrappers: [String], line: UInt = #line) {
        let frames = wrappers.map { frame(module, $0) } + [caller]
        XCTAssertEqual(site(frames), wrappers.count, wrappers.joined(separator: " <- "), line: line)
        XCTAssertEqual(site(frames, .none), 0, line: line)
    }

    func testWrappersOfRealLibraries() {
        assertWrapped("/usr/lib/x86_64-linux-gnu/libperl.so.5.36", ["Perl_safesysmalloc"])
        assertWrapped("/usr/lib/x86_64-linux-gnu/libperl.so.5.36", ["Perl_safesysrealloc", "Perl_sv_grow"])
        assertWrapped("/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1", ["llvm::allocate_buffer(unsigned long, unsigned long)"])
        assertWrapped("/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1", [
            "llvm::safe_malloc(unsigned long)",
            "llvm::SmallVectorBase<unsigned int>::mallocForGrow(unsigned long, unsigned long, unsigned long&)"])
        // Class-specific operator new (LLVM's User), next to the global one.
        assertWrapped("/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1", ["llvm::User::operator new(unsigned long, unsigned int)"])
        assertWrapped("/usr/lib/gcc/x86_64-linux-gnu/12/cc1", [
            "ggc_internal_alloc(unsigned long, void (*)(void*), unsigned long, unsigned long)",
            "ggc_internal_cleared_alloc(unsigned long, void (*)(void*), unsigned long, unsigned long)"])
        assertWrapped("/usr/lib/gcc/x86_64-linux-gnu/12/cc1", ["xmalloc", "_obstack_newchunk"])
        assertWrapped("/usr/bin/bash", ["sh_xmalloc", "xmalloc"])
        assertWrapped("/usr/bin/git", ["xmalloc", "do_xmalloc", "xmallocz", "strbuf_grow"])
        assertWrapped("/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", [
            "mallocWithAlarm", "sqlite3Malloc", "dbMallocRawFinish", "sqlite3DbMallocRawNN", "sqlite3DbMallocZero"])
        assertWrapped("/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0", ["g_malloc0", "g_slice_alloc0"])
        assertWrapped("/usr/lib/x86_64-linux-gnu/libgobject-2.0.so.0", ["g_type_create_instance", "g_object_new_internal", "g_object_new_with_properties", "g_object_new"])
        assertWrapped("/usr/lib/x86_64-linux-gnu/libQt6Core.so.6", [
            "QArrayData::allocate(QArrayData**, long long, long long, long long, QArrayData::AllocationOption)",
            "QArrayDataPointer<char16_t>::allocateGrow(QArrayDataPointer<char16_t> const&, long long, QArrayData::GrowthPosition)"])
        assertWrapped(app, ["boost::simple_segregated_storage<unsigned long>::malloc_n(unsigned long, unsigned long)",
                            "boost::pool<boost::default_user_allocator_new_delete>::ordered_malloc(unsigned long)"])
        assertWrapped(app, ["absl::debian3::container_internal::raw_hash_set<absl::debian3::container_internal::FlatHashSetPolicy<int>, absl::debian3::hash_internal::Hash<int>, std::equal_to<int>, std::allocator<int> >::resize(unsigned long)"])
        assertWrapped(app, ["folly::checkedMalloc(unsigned long)", "folly::fbstring_core<char>::initMedium(char const*, unsigned long)"])
        assertWrapped(app, ["je_malloc"])
        assertWrapped(app, ["mi_heap_malloc", "mi_malloc"])
        assertWrapped("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", ["imalloc_body", "malloc_default"])
    }

    func testOrdinaryFunctionsAreNotWrappers() {
        // Names that merely look like allocation: an app's own code stays the site.
        for name in ["allocate_user(int)", "mi_parse_line", "tc_run", "Perl_run", "newWindow"] {
            XCTAssertEqual(site([frame(app, name, "/src/app.c", 3), caller]), 0, name)
        }
    }

    func testAllPlumbingTraceIsCreditedToTheCallerOfTheAllocator() {
        // ld.so loading a library: calloc is inlined into _dl_new_object, everything is libc plumbing.
        let loader = "/lib64/ld-linux-x86-64.so.2"
        let frames = [
            frame(loader, "calloc", "include/rtld-malloc.h", 44),
            frame(loader, "_dl_new_object", "elf/dl-object.c", 92),
            frame(loader, "_dl_map_object_from_fd", "elf/dl-load.c", 1063),
            frame("/lib/x86_64-linux-gnu/libc.so.6", "___dlopen", "dlfcn/dlopen.c", 81),
        ]
        XCTAssertEqual(site(frames), 1)
        XCTAssertEqual(frames[SiteRules.default.siteIndex(in: Traceback(frames: frames))].function, "_dl_new_object")
        // Wrappers in an all-plumbing trace are part of the allocator too.
        let python = "/usr/bin/python3.11"
        XCTAssertEqual(site([
            frame(python, "_PyObject_Malloc", "Objects/obmalloc.c", 2003),
            frame(python, "_PyObject_Malloc", "Objects/obmalloc.c", 1996),
            frame(python, "new_keys_object", "Objects/dictobject.c", 632),
            frame(python, "dictresize", "Objects/dictobject.c", 1429),
        ]), 2)
        // The user's --skip-function names wrappers: their caller is the site even when it is plumbing.
        var rules = SiteRules.default
        rules.functionPatterns = ["wrap_*"]
        rules.modulePatterns = ["app"]
        XCTAssertEqual(site([frame("/lib/libwrap.so", "wrap_raw"), frame("/lib/libwrap.so", "wrap_make"),
                             frame(app, "main", "/src/main.c", 7)], rules), 2)
        // Nothing but the allocator: frame 0.
        XCTAssertEqual(site([frame(loader, "malloc"), frame(loader, "calloc")]), 0)
        XCTAssertEqual(site([]), 0)
    }
}
