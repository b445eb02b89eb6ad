// Sizes must read exactly as tracemalloc's _format_size prints them (values checked against CPython 3).
import HeapSnap
import XCTest

final class SizeFormatTests: XCTestCase {
    func testUnsignedSizesMatchTracemalloc() {
        XCTAssertEqual(SizeFormat.string(0), "0 B")
        XCTAssertEqual(SizeFormat.string(1), "1 B")
        XCTAssertEqual(SizeFormat.string(1023), "1023 B")
        XCTAssertEqual(SizeFormat.string(1024), "1024 B")
        XCTAssertEqual(SizeFormat.string(10 * 1024 - 1), "10239 B")
        XCTAssertEqual(SizeFormat.string(10 * 1024), "10.0 KiB")
        XCTAssertEqual(SizeFormat.string(102_348.8), "100.0 KiB")
        XCTAssertEqual(SizeFormat.string(100 * 1024), "100 KiB")
        XCTAssertEqual(SizeFormat.string(1_572_864), "1536 KiB")  // 1.5 MiB
        XCTAssertEqual(SizeFormat.string(10 * 1024 * 1024), "10.0 MiB")
        XCTAssertEqual(SizeFormat.string(13_207_024_435.2), "12.3 GiB")
        XCTAssertEqual(SizeFormat.string(10_994_016_766_132_224.0), "9999 TiB")
        // Python's "%.0f" rounds half to even on the exact binary value, as C's printf does.
        XCTAssertEqual(SizeFormat.string(10.5), "10 B")
        XCTAssertEqual(SizeFormat.string(11.5), "12 B")
    }

    func testSignedSizesMatchTracemalloc() {
        XCTAssertEqual(SizeFormat.string(0, signed: true), "+0 B")
        XCTAssertEqual(SizeFormat.string(1023, signed: true), "+1023 B")
        XCTAssertEqual(SizeFormat.string(-1023, signed: true), "-1023 B")
        XCTAssertEqual(SizeFormat.string(10 * 1024, signed: true), "+10.0 KiB")
        XCTAssertEqual(SizeFormat.string(-10 * 1024, signed: true), "-10.0 KiB")
        XCTAssertEqual(SizeFormat.string(1_572_864, signed: true), "+1536 KiB")
        XCTAssertEqual(SizeFormat.string(-4_299_161.6, signed: true), "-4198 KiB")
        XCTAssertEqual(SizeFormat.string(Int64(-12_897_484), signed: true), "-12.3 MiB")
        XCTAssertEqual(SizeFormat.string(UInt64(4_299_161), signed: true), "+4198 KiB")
    }

    func testSignedCounts() {
        XCTAssertEqual(SizeFormat.signedCount(0), "+0")
        XCTAssertEqual(SizeFormat.signedCount(400), "+400")
        XCTAssertEqual(SizeFormat.signedCount(Int64(-3)), "-3")
    }
}
