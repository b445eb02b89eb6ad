// Snapshots of many processes (a folder a build, a shell script or a forking server wrote into) sorted
// into one series per process, so that growth follows each process on its own: a series that mixes
// processes compares unrelated heaps and means nothing.

/// The process a snapshot comes from: its pid and when tracking started in it (a pid is reused, and an
/// exec starts tracking anew), with its executable for the reader.
public struct ProcessIdentity: Hashable, Sendable {
    public var pid: UInt32
    public var startNanoseconds: UInt64
    public var executable: String
    public var parentPID: UInt32

    public init(_ header: SnapshotHeader) {
        pid = header.pid
        startNanoseconds = header.startNanoseconds
        executable = header.executable
        parentPID = header.parentPID
    }

    /// The executable's file name, "?" when unknown.
    public var program: String {
        let name = executable.split(separator: "/").last.map(String.init) ?? ""
        return name.isEmpty ? "?" : name
    }

    /// Two snapshots of one process share pid and start; executable and parent are only for display.
    public static func == (lhs: ProcessIdentity, rhs: ProcessIdentity) -> Bool {
        lhs.pid == rhs.pid && lhs.startNanoseconds == rhs.startNanoseconds
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(pid)
        hasher.combine(startNanoseconds)
    }
}

/// `items` (snapshots, or anything that has a snapshot's header) one group per process, each group in
/// the order its snapshots were taken (the header's time, ties in the order given), the groups in the
/// order their first item was given.
public func groupByProcess<Item>(_ items: [Item], header: (Item) -> SnapshotHeader)
    -> [(process: ProcessIdentity, items: [Item])] {
    var order: [ProcessIdentity] = []
    var groups: [ProcessIdentity: [(offset: Int, time: UInt64, item: Item)]] = [:]
    for (offset, item) in items.enumerated() {
        let head = header(item)
        let process = ProcessIdentity(head)
        if groups[process] == nil { order.append(process) }
        groups[process, default: []].append((offset, head.timeNanoseconds, item))
    }
    return order.map { process in
        (process, groups[process]!.sorted { ($0.time, $0.offset) < ($1.time, $1.offset) }.map(\.item))
    }
}
