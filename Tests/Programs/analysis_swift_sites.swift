// Swift allocation sites the analysis tests know by their marker comments: class instances (through
// swift_allocObject) and an array buffer (through the stdlib). Prints its module table and the return
// addresses of mark() calls; swiftc emits no .debug_aranges, so this exercises the CU-range fallback.
import Glibc

final class Node {
    var value: Int
    var next: Node?
    init(value: Int) { self.value = value }
}

// glibc's backtrace(3), which the Glibc module does not export.
typealias BacktraceFunction = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int32) -> Int32
let backtrace = unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "backtrace")!, to: BacktraceFunction.self)

@inline(never) func mark(_ label: String) {
    var frames = [UnsafeMutableRawPointer?](repeating: nil, count: 4)
    _ = backtrace(&frames, 4) // MARK:inside-mark
    // frames[0] is inside mark(), frames[1] the return address into its caller.
    print("MARK \(label) \(String(UInt(bitPattern: frames[1]), radix: 16))")
    print("MARK inside-mark \(String(UInt(bitPattern: frames[0]), radix: 16))")
}

@inline(never) func makeNode(_ value: Int) -> Node {
    return Node(value: value) // SITE:class
}

var nodes: [Node] = []
nodes.reserveCapacity(64)
for i in 0..<64 { nodes.append(makeNode(i)) }
// The first [UInt8] also instantiates its type metadata; do that here so the marked line holds only its buffer.
let warmUp = [UInt8](repeating: 1, count: 1)
let bytes = [UInt8](repeating: 7, count: 4000) // SITE:array
mark("main") // MARK:main

// The main executable's mappings (/proc/self/maps); a PIE's first mapping starts at its load bias.
var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
let executable = realpath("/proc/self/exe", &resolved).map { String(cString: $0) } ?? ""
var segments: [String] = []
var bias: UInt?
if let maps = fopen("/proc/self/maps", "r") {
    var line = [CChar](repeating: 0, count: 4096)
    while fgets(&line, Int32(line.count), maps) != nil {
        let fields = String(cString: line).split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 6, fields[5].split(separator: "\n").first.map(String.init) == executable else { continue }
        let range = fields[0].split(separator: "-").map { UInt($0, radix: 16)! }
        if bias == nil { bias = range[0] }
        let flags = (fields[1].contains("x") ? 1 : 0) | (fields[1].contains("w") ? 2 : 0) | 4
        segments.append("SEGMENT \(String(range[0], radix: 16)) \(String(range[1] - range[0], radix: 16)) \(flags)")
    }
    fclose(maps)
}
print("MODULE \(String(bias ?? 0, radix: 16))")
for segment in segments { print(segment) }

typealias SnapshotFunction = @convention(c) (UnsafePointer<CChar>?) -> Int32
if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "heapsnap_snapshot") {
    _ = unsafeBitCast(symbol, to: SnapshotFunction.self)(nil)
}
print("KEPT \(nodes.count) \(bytes.count) \(warmUp.count)")
