// diff and growth compare snapshots of one program (diff) or one process (growth): snapshots of two
// programs give a diff that means nothing, and a series over several processes a growth that means nothing.
import Foundation
import HeapSnap

enum SeriesCheck {
    static let hint = "pass --allow-mixed to go ahead anyway"

    /// The program's name and pid, as the user knows them from the file names.
    static func describe(_ snapshot: Snapshot) -> String {
        let executable = snapshot.info.executable
        let name = executable.isEmpty ? "?" : URL(fileURLWithPath: executable).lastPathComponent
        return "\(name) pid \(snapshot.info.pid)"
    }

    /// Throws unless both snapshots come from the same executable.
    static func sameProgram(_ old: Snapshot, _ new: Snapshot) throws {
        guard old.info.executable != new.info.executable else { return }
        throw CLIError("the snapshots come from different programs (\(describe(old)): \(old.info.executable), "
                       + "\(describe(new)): \(new.info.executable)); \(hint)")
    }

    /// Throws unless every snapshot comes from one process: one pid and one start time (a pid is reused).
    static func oneProcess(_ series: [Snapshot]) throws {
        var processes: [(pid: UInt32, start: UInt64, name: String)] = []
        for snapshot in series where !processes.contains(where: {
            $0.pid == snapshot.info.pid && $0.start == snapshot.info.startNanoseconds
        }) {
            processes.append((snapshot.info.pid, snapshot.info.startNanoseconds, describe(snapshot)))
        }
        guard processes.count > 1 else { return }
        let shown = processes.prefix(4).map(\.name).joined(separator: ", ") + (processes.count > 4 ? ", ..." : "")
        throw CLIError("the snapshots come from \(processes.count) processes (\(shown)); growth follows one process: "
                       + "give one process's snapshots, or \(hint)")
    }
}
