// Allocation functions and the wrappers real programs put around them. A frame of one of these is
// plumbing (its caller is the site), and it is part of "the allocator" when every frame of a trace is
// plumbing: then the site is the first frame outside the allocator, the one that called into it.
// Names are demangled, as the symbolizer gives them; each family is shown by a test in
// SiteRulesTests (names from Debian 12's binaries: nm -DC).

extension SiteRules {
    /// Allocation entry points: the C allocator, operator new, and the allocators people link instead.
    static let allocatorFunctionPatterns: [String] = [
        "malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign", "aligned_alloc", "memalign",
        "valloc", "pvalloc", "__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_memalign",
        "__libc_valloc", "__libc_pvalloc", "__GI___libc_malloc", "__GI___libc_calloc", "__GI___libc_realloc", "_int_malloc", "_int_realloc", "_int_memalign",
        "tcache_init*", "__rtld_malloc*", "__rtld_calloc*", "__minimal_malloc", "__minimal_calloc",
        "strdup", "strndup", "__strdup", "__strndup", "asprintf", "vasprintf", "__vasprintf*", "open_memstream",
        // Global and class-specific operator new (llvm::User::operator new(unsigned long, unsigned int)).
        "operator new*", "operator delete*", "*::operator new*", "*::operator delete*",
        // jemalloc, mimalloc, tcmalloc and rpmalloc, also when linked statically (no module of their own).
        "je_*", "mallocx", "rallocx", "xallocx", "sdallocx", "mi_malloc*", "mi_zalloc*", "mi_calloc*", "mi_realloc*",
        "mi_rezalloc*", "mi_recalloc*", "mi_heap_*", "mi_new*", "mi_strdup", "mi_strndup", "mi_aligned_alloc",
        "mi_posix_memalign", "mi_memalign", "_mi_*", "tc_malloc*", "tc_calloc", "tc_realloc", "tc_new*",
        "tc_memalign", "tc_posix_memalign", "tcmalloc::*",
        "rpmalloc*", "rpcalloc", "rprealloc", "rpaligned_alloc",
    ]

    /// Wrappers around the allocator, by library. Plumbing, and part of the allocator for the fallback.
    static let wrapperFunctionPatterns: [String] = [
        // libiberty and gnulib (gcc, binutils, coreutils), git, bash, PHP.
        "xmalloc", "xcalloc", "xrealloc", "xstrdup", "xstrndup", "xzalloc", "xmemdup", "xmemdupz",
        "xmallocz", "xmallocz_gently", "do_xmalloc", "xasprintf", "xvasprintf", "xstrfmt", "xstrvfmt",
        "xnmalloc", "xnrealloc", "x2realloc", "x2nrealloc", "ximalloc", "xicalloc", "xirealloc",
        "sh_xmalloc", "sh_xrealloc", "emalloc", "ecalloc", "erealloc", "estrdup", "strbuf_grow",
        // gcc's garbage-collected heap and obstacks.
        "ggc_internal_alloc*", "ggc_internal_cleared_alloc*", "ggc_alloc*", "ggc_cleared_alloc*",
        "ggc_realloc*", "ggc_alloc_string*", "ggc_cleared_vec_alloc*", "ggc_vec_alloc*",
        "_obstack_newchunk", "_obstack_begin*", "obstack_alloc_failed*",
        // perl.
        "Perl_safesys*", "Perl_malloc", "Perl_calloc", "Perl_realloc", "Perl_sv_grow*", "Perl_more_bodies",
        "Perl_more_sv", "Perl_savepv*", "Perl_savesharedpv*", "Perl_savesvpv", "Perl_newSV_type*",
        // sqlite3.
        "sqlite3_malloc*", "sqlite3_realloc*", "sqlite3Malloc", "sqlite3MallocZero", "sqlite3Realloc",
        "sqlite3DbMallocRaw*", "sqlite3DbMallocZero", "sqlite3DbRealloc*", "sqlite3DbStrDup", "sqlite3DbStrNDup",
        "sqlite3MemMalloc", "sqlite3MemRealloc", "mallocWithAlarm", "dbMallocRawFinish", "dbReallocFinish",
        "sqlite3PageMalloc", "pcache1Alloc", "sqlite3DbSpanDup",
        // glib and GObject (GTK's base).
        "g_malloc*", "g_malloc0*", "g_realloc*", "g_try_malloc*", "g_try_realloc*", "g_new*", "g_slice_*",
        "g_aligned_alloc*", "g_rc_box_*", "g_atomic_rc_box_*", "g_strdup*", "g_strndup", "g_memdup*",
        "g_strconcat", "g_strjoin*", "g_type_create_instance", "g_object_new*",
        // LLVM and clang.
        "llvm::allocate_buffer*", "llvm::safe_malloc*", "llvm::safe_calloc*", "llvm::safe_realloc*",
        "llvm::MallocAllocator::*", "llvm::BumpPtrAllocatorImpl<*", "llvm::SpecificBumpPtrAllocator<*",
        "llvm::SmallVectorBase<*>::mallocForGrow*", "llvm::SmallVectorBase<*>::grow_pod*",
        "llvm::SmallVectorTemplateBase<*>::grow*", "llvm::StringMapImpl::*", "llvm::StringMapEntry<*>::create*",
        "llvm::RecyclingAllocator<*", "clang::ASTContext::Allocate*",
        // Qt 5 and 6.
        "QArrayData::*", "QTypedArrayData<*", "QArrayDataPointer<*", "QListData::*", "QHashData::*",
        "QMapDataBase::*", "QString::reallocData*", "QByteArray::reallocData*", "qMalloc*", "qRealloc*",
        // Boost.
        "boost::pool<*", "boost::singleton_pool<*", "boost::object_pool<*", "boost::simple_segregated_storage<*",
        "boost::default_user_allocator_*", "boost::pool_allocator<*", "boost::fast_pool_allocator<*",
        "boost::alignment::aligned_alloc*", "boost::container::*", "boost::unordered::detail::*",
        "boost::make_shared<*", "boost::allocate_shared<*",
        // abseil (inline namespace: absl::lts_2023…:: or Debian's absl::debian3::).
        "absl::container_internal::*", "absl::*::container_internal::*", "absl::inlined_vector_internal::*",
        "absl::*::inlined_vector_internal::*", "absl::base_internal::LowLevelAlloc::*",
        "absl::*::base_internal::LowLevelAlloc::*",
        // folly.
        "folly::checkedMalloc*", "folly::checkedCalloc*", "folly::checkedRealloc*", "folly::smartRealloc*",
        "folly::allocateBytes*", "folly::SysAllocator<*", "folly::SysArena*", "folly::Arena<*",
        "folly::fbstring_core<*", "folly::fbvector<*", "folly::small_vector<*", "folly::f14::detail::*",
        // Rust and Swift allocation entry points.
        "__rust_alloc*", "__rust_realloc", "__rdl_alloc*", "__rdl_realloc", "__rg_alloc*", "__rg_realloc",
        "alloc::alloc::*", "swift_slowAlloc", "swift_allocObject", "swift_allocBox", "swift_allocEmptyBox",
        // CPython's allocators.
        "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc", "PyMem_*", "_PyMem_*", "pymalloc_*",
        "_PyObject_Malloc", "_PyObject_Calloc", "_PyObject_Realloc", "PyObject_GC_*", "_PyObject_GC_*",
    ]

    /// Source files of allocator code inlined into its callers (ld.so's calloc is rtld-malloc.h:44).
    static let allocatorFilePatterns: [String] = ["*/rtld-malloc.h", "*/malloc/malloc.c", "*/malloc/*.c"]

    /// Modules that are nothing but an allocator.
    static let allocatorModulePatterns: [String] = [
        "libheapsnap.so", "libjemalloc.so*", "libtcmalloc*.so*", "libmimalloc.so*", "librpmalloc.so*",
    ]

    /// True when `frame` is the allocator or a wrapper of it: built-in names when the built-in rules are
    /// on, and the user's --skip-function patterns (wrappers by their definition).
    public func isAllocator(_ frame: Frame) -> Bool {
        if useBuiltIn, Self.isBuiltInAllocator(frame) { return true }
        guard let function = frame.function, !functionPatterns.isEmpty else { return false }
        let name = Self.nameWithoutReturnType(function)
        return functionPatterns.contains { globMatches($0, function) || globMatches($0, name) }
    }

    /// The built-in half of isAllocator (also plumbing under the built-in rules).
    static func isBuiltInAllocator(_ frame: Frame) -> Bool {
        let moduleName = frame.moduleName
        if !moduleName.isEmpty, allocatorModulePatterns.contains(where: { globMatches($0, moduleName) }) {
            return true
        }
        if let file = frame.file, allocatorFilePatterns.contains(where: { globMatches($0, file) }) { return true }
        guard let function = frame.function else { return false }
        let name = nameWithoutReturnType(function)
        let matches = { (pattern: String) in globMatches(pattern, function) || globMatches(pattern, name) }
        return allocatorFunctionPatterns.contains(where: matches) || wrapperFunctionPatterns.contains(where: matches)
    }

    /// The site among `frames` (most recent first): the first frame that is not plumbing; when all are,
    /// the first frame outside the allocator (the caller of malloc or of its wrappers); when even that
    /// is missing, frame 0. The one definition every site comes from.
    static func siteIndex(
        in frames: [Frame], isPlumbing: (Frame) -> Bool, isAllocator: (Frame) -> Bool
    ) -> Int {
        if let site = frames.firstIndex(where: { !isPlumbing($0) }) { return site }
        return frames.firstIndex { !isAllocator($0) } ?? 0
    }
}
