// The one place Snapshot.load reaches the binary reader (SnapshotFile.swift).
func readRawSnapshot(path: String) throws -> RawSnapshot {
    do {
        return try RawSnapshot(contentsOf: path)
    } catch let error as SnapshotFileError {
        throw AnalysisError(error.description)
    }
}
