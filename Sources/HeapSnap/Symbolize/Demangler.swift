// Symbol names as people write them: C++ (the C++ runtime's __cxa_demangle), Swift (the Swift runtime's
// swift_demangle) and Rust (legacy and v0, RustDemangler.swift). Unknown schemes come back unchanged.
import Foundation

@_silgen_name("swift_demangle")
private func swift_demangle(
    _ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: UInt,
    _ outputBuffer: UnsafeMutablePointer<CChar>?, _ outputBufferSize: UnsafeMutablePointer<UInt>?,
    _ flags: UInt32
) -> UnsafeMutablePointer<CChar>?

public enum Demangler {
    private typealias CxaDemangle = @convention(c) (
        UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int32>?
    ) -> UnsafeMutablePointer<CChar>?

    // The Swift runtime links libstdc++, so __cxa_demangle is normally already in the process.
    private static let cxaDemangle: CxaDemangle? = {
        let handle = dlopen(nil, RTLD_NOW)
        var symbol = dlsym(handle, "__cxa_demangle")
        if symbol == nil, let libstdcxx = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL) {
            symbol = dlsym(libstdcxx, "__cxa_demangle")
        }
        return symbol.map { unsafeBitCast($0, to: CxaDemangle.self) }
    }()

    /// The readable form of `name`, or `name` itself when it is not mangled or cannot be demangled.
    public static func demangle(_ name: String) -> String {
        if name.hasPrefix("_R") || name.hasPrefix("__R") {
            return RustDemangler.demangleV0(name) ?? name
        }
        if name.hasPrefix("_ZN") || name.hasPrefix("__ZN"), let rust = RustDemangler.demangleLegacy(name) {
            return rust
        }
        if name.hasPrefix("_Z") { return demangleCXX(name) ?? name }
        if name.hasPrefix("$s") || name.hasPrefix("$S") || name.hasPrefix("_$s") || name.hasPrefix("_T0")
            || name.hasPrefix("$e") {
            return demangleSwift(name) ?? name
        }
        return name
    }

    public static func demangleCXX(_ name: String) -> String? {
        guard let cxaDemangle else { return nil }
        var status: Int32 = 0
        guard let result = cxaDemangle(name, nil, nil, &status), status == 0 else { return nil }
        defer { free(result) }
        return String(cString: result)
    }

    public static func demangleSwift(_ name: String) -> String? {
        let utf8 = Array(name.utf8CString)
        return utf8.withUnsafeBufferPointer { buffer -> String? in
            guard let result = swift_demangle(buffer.baseAddress, UInt(buffer.count - 1), nil, nil, 0) else {
                return nil
            }
            defer { free(result) }
            return String(cString: result)
        }
    }
}
