// How line-table file names are joined with DW_AT_comp_dir (Symbolizer.sourcePath), on the shapes real
// compilers write: absolute (gcc, clang), relative under -fdebug-prefix-map (Debian's glibc), ".".
import HeapSnap
import XCTest

final class SourcePathTests: XCTestCase {
    func path(_ file: String, _ directory: String) -> String {
        Symbolizer.sourcePath(file: file, compilationDirectory: directory)
    }

    func testRelativeCompilationDirectoryIsNotJoinedTwice() {
        // Debian's libc6-dbg: comp_dir "./elf", directory entry 0 already joined by libdw.
        XCTAssertEqual(path("./elf/dl-object.c", "./elf"), "elf/dl-object.c")
        XCTAssertEqual(path("./libio/filedoalloc.c", "./libio"), "libio/filedoalloc.c")
        // Other directory entries are relative to the compilation directory.
        XCTAssertEqual(path("../include/rtld-malloc.h", "./elf"), "include/rtld-malloc.h")
        XCTAssertEqual(path("./a.c", "."), "a.c")
        XCTAssertEqual(path("src/a.c", "build"), "build/src/a.c")
    }

    func testAbsolutePaths() {
        XCTAssertEqual(path("Tests/Programs/names_alloc.c", "/work/heapsnap"), "/work/heapsnap/Tests/Programs/names_alloc.c")
        XCTAssertEqual(path("/usr/include/stdio.h", "/work/heapsnap"), "/usr/include/stdio.h")
        XCTAssertEqual(path("/work/heapsnap/./src/../a.c", "/elsewhere"), "/work/heapsnap/a.c")
        // An absolute compilation directory is always joined, even with a name that repeats it.
        XCTAssertEqual(path("tmp/b/x.c", "/tmp/b"), "/tmp/b/tmp/b/x.c")
        XCTAssertEqual(path("x.c", "/tmp/b/"), "/tmp/b/x.c")
        XCTAssertEqual(path("x.c", "/"), "/x.c")
        XCTAssertEqual(path("x.c", ""), "x.c")
    }
}
