// growth over the snapshots of many processes: one series per process (pid + start time), each ranked
// on its own, the process whose memory grew steadily the most first; on real processes written by
// `heapsnap run` (a program that forks two children, and two runs into one folder).
import Foundation
import TestSupport
import XCTest

final class ProcessGrowthTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws { folder = try TemporaryDirectory() }

    /// The numbered snapshots of the folder by pid, in sequence order.
    private func snapshotsByPID(_ dir: String) throws -> [Int: [String]] {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasSuffix(".heapsnap") && !$0.hasSuffix(".peak.heapsnap") }.sorted()
        return Dictionary(grouping: names.map { "\(dir)/\($0)" }) { path in
            Int(URL(fileURLWithPath: path).lastPathComponent.split(separator: ".")[1])!
        }
    }

    /// cli_fork_growth 3 under `heapsnap run`: the parent (4 snapshots: 3 of its own and the exit one),
    /// its worker (3) and its helper (1), by pid.
    private func forkingRun() throws -> (dir: String, parent: Int, worker: Int, helper: Int, files: [Int: [String]]) {
        let dir = folder.path + "/forks"
        let result = try CLI.run(["run", "--quiet", "--dir", dir, "--", try TestPaths.program("cli_fork_growth"), "3"],
                                 directory: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "cli_fork_growth: 3 rounds\n")
        let files = try snapshotsByPID(dir)
        XCTAssertEqual(files.values.map(\.count).sorted(), [1, 3, 4], "\(files)")
        let pid = { (count: Int) in files.first { $0.value.count == count }!.key }
        return (dir, pid(4), pid(3), pid(1), files)
    }

    func testFolderOfAForkingProgramGivesASectionPerProcess() throws {
        let run = try forkingRun()
        let source = TestPaths.programSource("cli_fork_growth.c")
        let worker = try ProgramSource.line("worker", in: "cli_fork_growth.c")
        let parent = try ProgramSource.line("parent", in: "cli_fork_growth.c")
        let name = { (pid: Int, seq: Int) in "cli_fork_growth.\(pid).000\(seq).heapsnap" }
        let result = try CLI.run(["growth", run.dir], directory: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        // Every process also holds the parent's stdout buffer (4096 B, allocated before the forks): constant,
        // so in the totals only. The worker grew 30000 B steadily, the parent 16000 B: worker first.
        XCTAssertEqual(result.stdout, """
            Growth per process: 2 processes in 7 snapshots, the most steadily growing memory first; left out, with fewer than 3 snapshots: cli_fork_growth pid \(run.helper) (1 snapshot)

            cli_fork_growth pid \(run.worker) (child of pid \(run.parent)): +29.3 KiB grew steadily (process 1 of 2)
            Top 1 growing line over 3 snapshots, \(name(run.worker, 1)) to \(name(run.worker, 3)): 47.9 KiB (+29.3 KiB) live in 10 blocks (+6)
            #1  \(source):\(worker) (worker_round): +14.6 KiB/snapshot, size=14.6 KiB → 29.3 KiB → 43.9 KiB, count=3 → 6 → 9

            cli_fork_growth pid \(run.parent): +15.6 KiB grew steadily (process 2 of 2)
            Top 1 growing line over 4 snapshots, \(name(run.parent, 1)) to \(name(run.parent, 4)): 27.4 KiB (+15.6 KiB) live in 13 blocks (+8)
            #1  \(source):\(parent) (parent_round): +5333 B/snapshot, size=8000 B → 15.6 KiB → 23.4 KiB → 23.4 KiB, count=4 → 8 → 12 → 12

            """)
    }

    func testFilesOfSeveralProcessesInAnyOrderAsJSON() throws {
        let run = try forkingRun()
        // shuffled: the helper's, the parent's last three, the worker's backwards, the parent's first
        let parentFiles = run.files[run.parent]!, workerFiles = run.files[run.worker]!
        let given = run.files[run.helper]! + parentFiles.dropFirst() + workerFiles.reversed() + [parentFiles[0]]
        let result = try CLI.run(["growth", "--format", "json"] + given)
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try CLI.json(result)
        XCTAssertEqual(document[string: "report"], "growth_by_process")
        XCTAssertEqual(document[string: "group_by"], "line")
        XCTAssertEqual(document[int: "minimum_snapshots"], 3)
        let processes = try XCTUnwrap(document[objects: "processes"])
        XCTAssertEqual(processes.map { $0[int: "pid"] }, [run.worker, run.parent])
        XCTAssertEqual(processes.map { $0[int: "steady_growth"] }, [30000, 16000])
        XCTAssertEqual(processes.map { $0[string: "executable"] }, Array(repeating: try TestPaths.program("cli_fork_growth"), count: 2))

        let workerGrowth = try XCTUnwrap(processes[0][object: "growth"])
        XCTAssertEqual(workerGrowth[string: "report"], "growth")
        // each series in the order it was taken, whatever order the files were given in
        XCTAssertEqual(workerGrowth[objects: "snapshots"]?.map { $0[string: "path"] }, workerFiles)
        let workerEntry = try XCTUnwrap(workerGrowth[objects: "stats"]?.first)
        XCTAssertEqual(workerGrowth[objects: "stats"]?.count, 1)
        XCTAssertEqual(workerEntry["sizes"] as? [Int], [15000, 30000, 45000])
        XCTAssertEqual(workerEntry["counts"] as? [Int], [3, 6, 9])
        XCTAssertEqual((workerEntry["growth_per_snapshot"] as? NSNumber)?.doubleValue, 15000)
        XCTAssertEqual(workerEntry[int: "line"], try ProgramSource.line("worker", in: "cli_fork_growth.c"))
        XCTAssertEqual(workerGrowth[object: "total"]?[int: "size"], 45000 + 4096)
        XCTAssertEqual(workerGrowth[object: "total"]?[int: "size_diff"], 30000)

        let parentGrowth = try XCTUnwrap(processes[1][object: "growth"])
        XCTAssertEqual(parentGrowth[objects: "snapshots"]?.map { $0[string: "path"] }, parentFiles)
        let parentEntry = try XCTUnwrap(parentGrowth[objects: "stats"]?.first)
        XCTAssertEqual(parentEntry["sizes"] as? [Int], [8000, 16000, 24000, 24000])
        XCTAssertEqual(parentEntry["counts"] as? [Int], [4, 8, 12, 12])
        XCTAssertEqual((parentEntry["growth_per_snapshot"] as? NSNumber)?.doubleValue, 16000.0 / 3)
        XCTAssertEqual(parentEntry[int: "line"], try ProgramSource.line("parent", in: "cli_fork_growth.c"))

        let leftOut = try XCTUnwrap(document[objects: "left_out"])
        XCTAssertEqual(leftOut.map { $0[int: "pid"] }, [run.helper])
        XCTAssertEqual(leftOut.first?["snapshots"] as? [String], run.files[run.helper]!)
        XCTAssertNil(leftOut.first?["steady_growth"])
    }

    func testOneProcessStaysOneReportAndAllowMixedMergesAsBefore() throws {
        let run = try forkingRun()
        let workerFiles = run.files[run.worker]!
        let single = try CLI.json(try CLI.run(["growth", "--format", "json"] + workerFiles.reversed()))
        XCTAssertEqual(single[string: "report"], "growth")
        XCTAssertEqual(single[objects: "stats"]?.first?["sizes"] as? [Int], [15000, 30000, 45000])
        let text = try CLI.run(["growth", "-n", "1"] + workerFiles)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("Top 1 growing line over 3 snapshots, cli_fork_growth.\(run.worker).0001.heapsnap to "), text.stdout)

        // --allow-mixed: the old single series over every process (meaningless, but asked for)
        let merged = try CLI.json(try CLI.run(["growth", "--allow-mixed", "--format", "json", run.dir]))
        XCTAssertEqual(merged[string: "report"], "growth")
        XCTAssertEqual(merged[objects: "snapshots"]?.count, 8)
    }

    func testTwoRunsOfOneProgramInOneFolder() throws {
        let dir = folder.path + "/shared"
        for input in ["a\n", "b\n"] {
            let result = try CLI.run(["run", "--quiet", "--dir", dir, "--", try TestPaths.program("cli_alloc"), "0"],
                                     directory: folder.path, stdin: input)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let files = try snapshotsByPID(dir)
        XCTAssertEqual(files.values.map(\.count), [3, 3])
        let document = try CLI.json(try CLI.run(["growth", "--format", "json", dir + "/"]))
        XCTAssertEqual(document[string: "report"], "growth_by_process")
        let processes = try XCTUnwrap(document[objects: "processes"])
        // the same growth (10 to 30 blocks of 1000 B, then the exit snapshot): ties go by pid
        XCTAssertEqual(processes.map { $0[int: "pid"] }, files.keys.sorted())
        XCTAssertEqual(processes.map { $0[int: "steady_growth"] }, [20000, 20000])
        for process in processes {
            let entry = try XCTUnwrap(process[object: "growth"]?[objects: "stats"]?.first)
            XCTAssertEqual(entry["sizes"] as? [Int], [10000, 30000, 30000])
            XCTAssertEqual(entry[int: "line"], try ProgramSource.line("blocks", in: "cli_alloc.c"))
        }
        XCTAssertEqual(document[objects: "left_out"]?.count, 0)
    }

    func testTooFewSnapshotsPerProcessAndEmptyFolders() throws {
        let run = try forkingRun()
        let given = run.files[run.helper]! + run.files[run.worker]!.prefix(2)
        let tooFew = try CLI.run(["growth"] + given)
        XCTAssertEqual(tooFew.status, 1)
        XCTAssertEqual(tooFew.stdout, "")
        XCTAssertEqual(tooFew.stderr, "heapsnap: no process has 3 or more snapshots among these 3 snapshots of 2 processes "
                       + "(cli_fork_growth pid \(run.helper): 1, cli_fork_growth pid \(run.worker): 2); growth follows one "
                       + "process at a time (--allow-mixed treats them as one series)\n")

        let empty = folder.path + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let none = try CLI.run(["growth", empty])
        XCTAssertEqual(none.status, 1)
        XCTAssertEqual(none.stderr, "heapsnap: \(empty): no snapshot files (<prog>.<pid>.<seq>.heapsnap) in this folder\n")

        // a folder with two snapshots: counted after listing it
        let two = folder.path + "/two"
        try FileManager.default.createDirectory(atPath: two, withIntermediateDirectories: true)
        for path in run.files[run.worker]!.prefix(2) {
            try FileManager.default.copyItem(atPath: path, toPath: two + "/" + URL(fileURLWithPath: path).lastPathComponent)
        }
        let short = try CLI.run(["growth", two])
        XCTAssertEqual(short.status, 1)
        XCTAssertEqual(short.stderr, "heapsnap: growth needs at least 3 snapshots, got 2 (from \(two))\n")
    }
}
