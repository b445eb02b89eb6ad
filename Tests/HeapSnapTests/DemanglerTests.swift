// Demangling: Rust legacy and v0 (our own), C++ and Swift (the runtimes' demanglers).
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class RustDemanglerTests: XCTestCase {
    func testLegacy() {
        let cases: [(String, String)] = [
            ("_ZN3foo17h05af221e174051e9E", "foo"),
            ("_ZN5alloc7raw_vec11finish_grow17h6e1f2a8bd1b0e3c4E", "alloc::raw_vec::finish_grow"),
            ("_ZN35Bar$LT$$u5b$u32$u3b$$u20$4$u5d$$GT$17h0123456789abcdefE", "Bar<[u32; 4]>"),
            ("_ZN71_$LT$Test$u20$$u2b$$u20$$u27$static$u20$as$u20$foo..Bar$LT$Test$GT$$GT$3bar17h930b740aa94f1d3aE",
             "<Test + 'static as foo::Bar<Test>>::bar"),
            ("_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$17h0b1c2d3e4f506172E",
             "core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>"),
            ("_ZN8$RF$test4foob17h0123456789abcdefE", "&test::foob"),
            ("_ZN3foo3bar17h05af221e174051e9E.llvm.1234", "foo::bar"),
        ]
        for (mangled, expected) in cases {
            XCTAssertEqual(RustDemangler.demangleLegacy(mangled), expected, mangled)
            XCTAssertEqual(Demangler.demangle(mangled), expected, mangled)
        }
        // C++ symbols have no hash component: not Rust.
        XCTAssertNil(RustDemangler.demangleLegacy("_ZN3foo3barEv"))
        XCTAssertNil(RustDemangler.demangleLegacy("_ZN3fooE"))
        XCTAssertNil(RustDemangler.demangleLegacy("_ZN99fooE"))
    }

    func testV0() {
        let cases: [(String, String)] = [
            ("_RNvC6_123foo3bar", "123foo::bar"),
            ("_RNvNtCs1234_7mycrate3foo3bar", "mycrate::foo::bar"),
            ("_RNCNCNgCs6DXkGYLi8lr_2cc5spawn00B5_", "cc::spawn::{closure#0}::{closure#0}"),
            ("_RINbNbCskIICzLVDPPb_5alloc5alloc8box_freeDINbNiB4_5boxed5FnBoxuEp6OutputuEL_ECs1iopQbuBiw2_3std",
             "alloc::alloc::box_free::<dyn alloc::boxed::FnBox<(), Output = ()>>"),
            ("_RMCs4fqI2P2rA04_13const_genericINtB0_8UnsignedKhb_E", "<const_generic::Unsigned<11>>"),
            ("_RMCs4fqI2P2rA04_13const_genericINtB0_6SignedKs98_E", "<const_generic::Signed<152>>"),
            ("_RMCs4fqI2P2rA04_13const_genericINtB0_6SignedKanb_E", "<const_generic::Signed<-11>>"),
            ("_RMCs4fqI2P2rA04_13const_genericINtB0_4BoolKb1_E", "<const_generic::Bool<true>>"),
            ("_RMCs4fqI2P2rA04_13const_genericINtB0_4CharKc76_E", "<const_generic::Char<'v'>>"),
            // Punycode identifiers (RFC 3492 with "_" as the delimiter).
            ("_RNvCs1234_7mycrateu10mnchen_3ya", "mycrate::münchen"),
            ("_RNvCs1234_7mycrateu9Bcher_kva", "mycrate::Bücher"),
            ("_RNCINkXs25_NgCsbmNqQUJIY6D_4core5sliceINyB9_4IterhENuNgNoBb_4iter8iterator8Iterator9rpositionNCNgNpB9_6memchr7memrchrs_0E0Bb_",
             "<core::slice::Iter<u8> as core::iter::iterator::Iterator>::rposition::<core::slice::memchr::memrchr::{closure#1}>::{closure#0}"),
            ("_RINvNtC3std3mem8align_ofjEC3foo", "std::mem::align_of::<usize>"),
            ("_RNvXCs1234_7mycrateINtB2_3FooRShEINtNtB2_5trait5TraitpE3run", "<mycrate::Foo<&[u8]> as mycrate::trait::Trait<_>>::run"),
            ("_RINvCs1234_1a1fFUKCRmEuE", "a::f::<unsafe extern \"C\" fn(&u32)>"),
            ("_RINvCs1234_1a1fTlhEE", "a::f::<(i32, u8)>"),
            ("_RINvCs1234_1a1fAhj4_E", "a::f::<[u8; 4]>"),
        ]
        for (mangled, expected) in cases {
            XCTAssertEqual(RustDemangler.demangleV0(mangled), expected, mangled)
            XCTAssertEqual(Demangler.demangle(mangled), expected, mangled)
        }
    }

    func testMalformedV0IsLeftAlone() {
        for bad in ["_R", "_RNvC", "_RB_", "_RNvC999_abc", "_RINvC1a1fKz_E", "_RNvC3foo", "_RBz_"] {
            XCTAssertNil(RustDemangler.demangleV0(bad), bad)
            XCTAssertEqual(Demangler.demangle(bad), bad)
        }
    }
}

final class RuntimeDemanglerTests: XCTestCase {
    func testCXX() {
        XCTAssertEqual(Demangler.demangle("_Znwm"), "operator new(unsigned long)")
        XCTAssertEqual(Demangler.demangle("_ZNSt6vectorIiSaIiEE9push_backERKi"),
                       "std::vector<int, std::allocator<int> >::push_back(int const&)")
        XCTAssertEqual(Demangler.demangle("_ZN3foo3barEv"), "foo::bar()")
    }

    func testSwift() {
        XCTAssertEqual(Demangler.demangle("$sSa6appendyyxnF"), "Swift.Array.append(__owned A) -> ()")
        XCTAssertEqual(Demangler.demangle("$s4main4NodeC5valueACSi_tcfc"), "main.Node.init(value: Swift.Int) -> main.Node")
    }

    func testPlainNamesAreUnchanged() {
        XCTAssertEqual(Demangler.demangle("main"), "main")
        XCTAssertEqual(Demangler.demangle("g_malloc0"), "g_malloc0")
        XCTAssertEqual(Demangler.demangle("_Zgarbage"), "_Zgarbage")
    }
}

final class RealRustSymbolTests: XCTestCase {
    /// Every v0 and legacy symbol rustc put into a real binary (std included) demangles.
    func testEverySymbolOfARustBinaryDemangles() throws {
        let program = TestPaths.programs + "/analysis_rust_sites"
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw XCTSkip("no Rust toolchain: analysis_rust_sites was not built")
        }
        let names = try runProcess("/usr/bin/nm", ["--format=just-symbols", program]).stdout.split(separator: "\n").map(String.init)
        let v0 = names.filter { $0.hasPrefix("_R") }
        let legacy = names.filter { $0.hasPrefix("_ZN") && $0.contains("17h") }
        XCTAssertGreaterThan(v0.count, 100)
        XCTAssertGreaterThan(legacy.count, 5)
        let failedV0 = v0.filter { RustDemangler.demangleV0($0) == nil }
        XCTAssertEqual(failedV0, [])
        let failedLegacy = legacy.filter { RustDemangler.demangleLegacy($0) == nil }
        XCTAssertEqual(failedLegacy, [])
        XCTAssertTrue(legacy.contains { RustDemangler.demangleLegacy($0) == "analysis_rust_sites::make_boxes" })
        XCTAssertTrue(v0.compactMap(RustDemangler.demangleV0).contains { $0.hasPrefix("<alloc::") || $0.hasPrefix("alloc::") })
    }
}
