import HeapSnap
import XCTest

final class JSONValueTests: XCTestCase {
    func testKeepsKeyOrderAndExactIntegers() {
        let value = JSONValue.object([
            ("zeta", .uint(UInt64.max)),
            ("alpha", .int(-9_007_199_254_740_993)),
            ("list", .array([.bool(true), .null, .string("a\"b\\c\n\u{1}")])),
            ("empty", .object([])),
        ])
        XCTAssertEqual(
            value.serialized(pretty: false),
            #"{"zeta":18446744073709551615,"alpha":-9007199254740993,"list":[true,null,"a\"b\\c\n\u0001"],"empty":{}}"#)
        XCTAssertEqual(
            JSONValue.object([("a", .array([.int(1)]))]).serialized(),
            "{\n  \"a\": [\n    1\n  ]\n}")
    }

    func testOutputParsesAsJSON() throws {
        let value = JSONValue.object([("size", .uint(12)), ("rate", .double(1.5)), ("name", .string("é ✓"))])
        let parsed = try JSONSerialization.jsonObject(with: Data(value.serialized().utf8)) as? [String: Any]
        XCTAssertEqual(parsed?["size"] as? Int, 12)
        XCTAssertEqual(parsed?["rate"] as? Double, 1.5)
        XCTAssertEqual(parsed?["name"] as? String, "é ✓")
    }
}
