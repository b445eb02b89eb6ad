import Foundation
import HeapSnap
import XCTest

final class JSONWriterTests: XCTestCase {
    /// Keys in the order given, a heterogeneous list and an empty object.
    private struct Sample: Encodable {
        enum CodingKeys: String, CodingKey { case zeta, alpha, list, empty }
        struct Empty: Encodable {
            func encode(to encoder: any Encoder) throws { _ = encoder.container(keyedBy: CodingKeys.self) }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(UInt64.max, forKey: .zeta)
            try container.encode(Int64(-9_007_199_254_740_993), forKey: .alpha)
            var list = container.nestedUnkeyedContainer(forKey: .list)
            try list.encode(true)
            try list.encodeNil()
            try list.encode("a\"b\\c\n\u{1}")
            try container.encode(Empty(), forKey: .empty)
        }
    }

    func testKeepsKeyOrderAndExactIntegers() throws {
        XCTAssertEqual(
            try JSONWriter(pretty: false).string(Sample()),
            #"{"zeta":18446744073709551615,"alpha":-9007199254740993,"list":[true,null,"a\"b\\c\n\u0001"],"empty":{}}"#)
        XCTAssertEqual(try JSONWriter().string(["a": [1]]), "{\n  \"a\": [\n    1\n  ]\n}")
    }

    private struct Mixed: Encodable {
        var size: UInt64 = 12
        var rate = 1.5
        var name = "é ✓"
    }

    func testOutputParsesAsJSON() throws {
        let parsed = try JSONSerialization.jsonObject(with: Data(try JSONWriter().string(Mixed()).utf8)) as? [String: Any]
        XCTAssertEqual(parsed?["size"] as? Int, 12)
        XCTAssertEqual(parsed?["rate"] as? Double, 1.5)
        XCTAssertEqual(parsed?["name"] as? String, "é ✓")
    }
}
