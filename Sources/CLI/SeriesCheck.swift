// diff compares snapshots of one program: snapshots of two programs give a diff that means nothing.
// (growth sorts snapshots of several processes into a series each: GrowthCommand, ProcessSeries.swift.)
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
}
