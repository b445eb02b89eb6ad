// Swift's runtime allocates objects through malloc, so the tracker sees them.
#if canImport(Glibc)
import Glibc
#endif

final class Node {
    var value: Int
    init(_ value: Int) { self.value = value }
}

@inline(never)
func makeNodes() -> [Node] {
    var nodes: [Node] = []
    nodes.reserveCapacity(1000)
    for i in 0..<1000 { nodes.append(Node(i)) }
    return nodes
}

let nodes = makeNodes()
typealias SnapshotFunction = @convention(c) (UnsafePointer<CChar>?) -> Int32
guard CommandLine.arguments.count == 2, let symbol = dlsym(nil, "heapsnap_snapshot") else { exit(2) }
let snapshot = unsafeBitCast(symbol, to: SnapshotFunction.self)
guard snapshot(CommandLine.arguments[1]) == 0 else { exit(3) }
print(nodes.count)
