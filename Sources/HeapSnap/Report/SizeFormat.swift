// Byte sizes printed the way tracemalloc prints them (Lib/tracemalloc.py, _format_size), so numbers read
// the same to anyone who has used it: "1023 B", "10.0 KiB", "1536 KiB", "+4.1 MiB".
#if canImport(Glibc)
import Glibc
#endif

public enum SizeFormat {
    /// `size` in B, KiB, MiB, GiB or TiB: three significant digits ("xx.x UNIT") below 100 of a unit
    /// other than bytes, otherwise four or five digits ("xxxx UNIT"); `signed` adds "+" to positive values.
    public static func string(_ size: Double, signed: Bool = false) -> String {
        var value = size
        for unit in ["B", "KiB", "MiB", "GiB", "TiB"] {
            if abs(value) < 100 && unit != "B" {
                return printf(signed ? "%+.1f" : "%.1f", value) + " " + unit
            }
            if abs(value) < 10 * 1024 || unit == "TiB" {
                return printf(signed ? "%+.0f" : "%.0f", value) + " " + unit
            }
            value /= 1024
        }
        fatalError("unreachable: TiB always returns")
    }

    public static func string<T: BinaryInteger>(_ size: T, signed: Bool = false) -> String {
        string(Double(size), signed: signed)
    }

    /// An integer count with an explicit sign, as Python's "%+i".
    public static func signedCount<T: BinaryInteger>(_ count: T) -> String {
        count >= 0 ? "+\(count)" : "\(count)"
    }

    /// C's printf rounding (round-half-even on the exact binary value), which is what Python's "%" uses.
    private static func printf(_ format: String, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
        return String(cString: buffer)
    }
}
