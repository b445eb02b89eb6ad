// One table of edge values for every setting `heapsnap run` passes to the tracker, fed to both: to the
// built CLI as an option, and to a real traced child as its environment variable. The CLI must reject
// exactly the values the tracker warns about, and both must use the same value.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class SettingsAgreementTests: XCTestCase {
    struct Row {
        var option: String, variable: String, text: String
        /// Whether the tracker takes the value silently (and the CLI accepts it).
        var accepted: Bool
        /// For --frames: the frames the tracker records with.
        var frames: UInt32? = nil
    }

    static let rows: [Row] = [
        Row(option: "frames", variable: "HEAPSNAP_FRAMES", text: "", accepted: true, frames: 64),
        Row(option: "frames", variable: "HEAPSNAP_FRAMES", text: "8", accepted: true, frames: 8),
        Row(option: "frames", variable: "HEAPSNAP_FRAMES", text: "08", accepted: true, frames: 8),
        Row(option: "frames", variable: "HEAPSNAP_FRAMES", text: "256", accepted: true, frames: 256),
        Row(option: "frames", variable: "HEAPSNAP_FRAMES", text: "257", accepted: false, frames: 256),
        Row(option: "frames", variable: "HEAPSNAP_FRAMES", text: "99999999999999999999", accepted: false, frames: 256),
        Row(option: "frames", variable: "HEAPSNAP_FRAMES", text: "0", accepted: false, frames: 64),
        Row(option: "frames", variable: "HEAPSNAP_FRAMES", text: "-1", accepted: false, frames: 64),
        Row(option: "frames", variable: "HEAPSNAP_FRAMES", text: "1.5", accepted: false, frames: 64),
        Row(option: "frames", variable: "HEAPSNAP_FRAMES", text: "lots", accepted: false, frames: 64),
        Row(option: "interval", variable: "HEAPSNAP_INTERVAL", text: "", accepted: true),
        Row(option: "interval", variable: "HEAPSNAP_INTERVAL", text: "0", accepted: true),
        Row(option: "interval", variable: "HEAPSNAP_INTERVAL", text: "0.25", accepted: true),
        Row(option: "interval", variable: "HEAPSNAP_INTERVAL", text: ".5", accepted: true),
        Row(option: "interval", variable: "HEAPSNAP_INTERVAL", text: "1000000000.5", accepted: true),
        Row(option: "interval", variable: "HEAPSNAP_INTERVAL", text: "1000000001", accepted: false),
        Row(option: "interval", variable: "HEAPSNAP_INTERVAL", text: "0.0000000001", accepted: false),
        Row(option: "interval", variable: "HEAPSNAP_INTERVAL", text: "5.", accepted: false),
        Row(option: "interval", variable: "HEAPSNAP_INTERVAL", text: "-1", accepted: false),
        Row(option: "interval", variable: "HEAPSNAP_INTERVAL", text: "1e3", accepted: false),
        Row(option: "interval", variable: "HEAPSNAP_INTERVAL", text: "soon", accepted: false),
        Row(option: "peak-step", variable: "HEAPSNAP_PEAK_STEP", text: "", accepted: true),
        Row(option: "peak-step", variable: "HEAPSNAP_PEAK_STEP", text: "0", accepted: true),
        Row(option: "peak-step", variable: "HEAPSNAP_PEAK_STEP", text: "100B", accepted: true),
        Row(option: "peak-step", variable: "HEAPSNAP_PEAK_STEP", text: "64MiB", accepted: true),
        Row(option: "peak-step", variable: "HEAPSNAP_PEAK_STEP", text: "1k", accepted: true),
        Row(option: "peak-step", variable: "HEAPSNAP_PEAK_STEP", text: "18446744073709551610", accepted: true),
        Row(option: "peak-step", variable: "HEAPSNAP_PEAK_STEP", text: "18446744073709551616", accepted: false),
        Row(option: "peak-step", variable: "HEAPSNAP_PEAK_STEP", text: "17179869184G", accepted: false),
        Row(option: "peak-step", variable: "HEAPSNAP_PEAK_STEP", text: "1.5M", accepted: false),
        Row(option: "peak-step", variable: "HEAPSNAP_PEAK_STEP", text: "-5", accepted: false),
        Row(option: "peak-step", variable: "HEAPSNAP_PEAK_STEP", text: "12Q", accepted: false),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "", accepted: true),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "USR1", accepted: true),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "sigusr1", accepted: true),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "12", accepted: true),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "0", accepted: true),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "none", accepted: true),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "RTMIN+3", accepted: true),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "rtmax-1", accepted: true),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "RTMIN+99", accepted: false),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "KILL", accepted: false),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "9", accepted: false),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "SIGSTOP", accepted: false),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "65", accepted: false),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "-1", accepted: false),
        Row(option: "signal", variable: "HEAPSNAP_SIGNAL", text: "SIGNOPE", accepted: false),
    ]

    func testTheCLIRejectsExactlyWhatTheTrackerWarnsAbout() throws {
        let program = try TestPaths.program("cli_alloc")
        for row in Self.rows {
            let label = "\(row.variable)=\(row.text)"
            // The tracker, in a real child: its warning and the header it wrote.
            let direct = try TemporaryDirectory()
            let traced = try runProcess(program, ["0"], environment: [row.variable: row.text, "HEAPSNAP_DIR": direct.path],
                                        preload: true, directory: direct.path, stdin: "x\n", timeout: 60)
            XCTAssertEqual(traced.status, 0, label)
            let warnings = traced.stderr.split(separator: "\n")
            if row.accepted {
                XCTAssertEqual(warnings, [], label)
            } else {
                XCTAssertEqual(warnings.count, 1, "\(label): \(traced.stderr)")
                XCTAssertTrue(warnings.first?.hasPrefix("heapsnap: \(row.variable)=\(row.text) ") == true, traced.stderr)
            }
            let directExit = try RawSnapshot(contentsOf: try XCTUnwrap(direct.files().last, label))
            if let frames = row.frames { XCTAssertEqual(directExit.header.maxFrames, frames, label) }

            // The CLI, with the same text as an option. An empty value means "the default" to the tracker,
            // as if unset; argument-parser refuses an empty option value before any grammar sees it, and
            // leaving the option out is the CLI's way of saying the same.
            if row.text.isEmpty {
                let run = try CLI.run(["run", "--\(row.option)=", "--", program, "0"], stdin: "x\n")
                XCTAssertEqual(run.status, 64, label)
                XCTAssertTrue(run.stderr.contains("Missing value for '--\(row.option)"), run.stderr)
                continue
            }
            let viaCLI = try TemporaryDirectory()
            let run = try CLI.run(["run", "--dir", viaCLI.path, "--quiet", "--\(row.option)=\(row.text)", "--", program, "0"],
                                  directory: viaCLI.path, stdin: "x\n")
            if row.accepted {
                XCTAssertEqual(run.status, 0, "\(label): \(run.stderr)")
                XCTAssertEqual(run.stderr, "", "\(label): the tracker took what the CLI passed, silently")
                let exit = try RawSnapshot(contentsOf: try XCTUnwrap(viaCLI.files().last, label))
                XCTAssertEqual(exit.header.maxFrames, directExit.header.maxFrames, label)
            } else {
                XCTAssertEqual(run.status, 64, "\(label): \(run.stderr)")
                XCTAssertTrue(run.stderr.contains("--\(row.option) takes "), "\(label): \(run.stderr)")
                XCTAssertEqual(viaCLI.files(), [], label)
            }
        }
    }
}
