// Sampling mode (HEAPSNAP_SAMPLE): the estimates against the exact figures of the same program.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class SamplingTests: XCTestCase {
    override func setUpWithError() throws { try requireLibrary() }

    let sites = ["site_small", "site_medium", "site_large", "site_mixed", "site_minor"]

    /// For every site holding at least 2 % of live memory: each seed's estimate of live bytes and live
    /// blocks lies within 3 standard deviations of the exact value (the variance of the per-size
    /// estimator, sum over live blocks of k^2 (1-p)/p and (1-p)/p, p = 1 - e^(-k/R), from the exact
    /// run's live blocks), and the mean over 10 seeds within 5 %. The seeds make the runs reproducible;
    /// at R = 16 KiB the 5 % is more than 4 standard deviations of the mean for every asserted site.
    func testEstimatesAreUnbiasedAndWithinThePoissonBound() throws {
        let program = try TestPaths.program("track_sampling")
        let symbols = try ProgramSymbols(program: program)
        let rate = 16.0 * 1024

        let exactDir = try TemporaryDirectory()
        try runTracked("track_sampling", environment: ["HEAPSNAP_TRACES": "1"], directory: exactDir)
        let exact = try RawSnapshot(contentsOf: try XCTUnwrap(exactDir.files().first))
        XCTAssertNil(exact.header.sampling)
        let traces = try XCTUnwrap(exact.traces)
        struct Expected { var bytes = 0.0, blocks = 0.0, bytesVariance = 0.0, blocksVariance = 0.0 }
        var expected: [String: Expected] = [:]
        for name in sites {
            let function = try symbols.function(name)
            let ids = Set(exact.stacks.indices.filter { index in
                exact.stacks[index].frames.first.flatMap { exact.elfAddress(ofReturnAddress: $0) }.map(function.contains) ?? false
            }.map(UInt32.init))
            var e = Expected()
            for trace in traces where ids.contains(trace.stack) {
                let k = Double(trace.size), p = -expm1(-k / rate)
                e.bytes += k
                e.blocks += 1
                e.bytesVariance += k * k * (1 - p) / p
                e.blocksVariance += (1 - p) / p
            }
            expected[name] = e
        }
        let live = Double(exact.header.currentBytes)
        let asserted = sites.filter { expected[$0]!.bytes >= 0.02 * live }
        XCTAssertEqual(asserted, ["site_small", "site_medium", "site_large", "site_mixed"], "the workload's shares")
        XCTAssertEqual(expected["site_small"]?.blocks, 200_000)
        XCTAssertEqual(expected["site_medium"]?.blocks, 10_000)

        var sums: [String: (bytes: Double, blocks: Double)] = [:]
        let seeds = 1...10
        for seed in seeds {
            let dir = try TemporaryDirectory()
            try runTracked("track_sampling", environment: ["HEAPSNAP_SAMPLE": "16K", "HEAPSNAP_SAMPLE_SEED": "\(seed)"],
                           directory: dir)
            let sampled = try RawSnapshot(contentsOf: try XCTUnwrap(dir.files().first))
            let sampling = try XCTUnwrap(sampled.header.sampling, "seed \(seed): no SAMPLING section")
            XCTAssertEqual(sampling.rateBytes, 16 * 1024)
            XCTAssertEqual(sampling.seed, UInt64(seed))
            XCTAssertEqual(sampled.header.untrackedFrees, 0, "frees of unrecorded blocks are not 'untracked'")
            // Far fewer blocks recorded than there are: the point of sampling.
            XCTAssertLessThan(sampling.recordedLiveBlocks, 20_000)
            let all = SiteTotals(sampled.stacks)
            XCTAssertEqual(all.liveBytes, sampled.header.currentBytes)
            XCTAssertEqual(all.liveBlocks, sampled.header.liveBlocks)
            for name in asserted {
                let e = expected[name]!
                let got = try SiteTotals(sampled.stacks(allocatedIn: symbols.function(name)))
                // rounding: at most half a byte per recorded block, half a block per stack
                let bytesBound = 3 * e.bytesVariance.squareRoot() + Double(sampling.recordedLiveBlocks)
                let blocksBound = 3 * e.blocksVariance.squareRoot() + 1
                XCTAssertLessThanOrEqual(abs(Double(got.liveBytes) - e.bytes), bytesBound,
                                         "seed \(seed) \(name): \(got.liveBytes) B estimated, \(e.bytes) exact")
                XCTAssertLessThanOrEqual(abs(Double(got.liveBlocks) - e.blocks), blocksBound,
                                         "seed \(seed) \(name): \(got.liveBlocks) blocks estimated, \(e.blocks) exact")
                sums[name, default: (0, 0)].bytes += Double(got.liveBytes)
                sums[name, default: (0, 0)].blocks += Double(got.liveBlocks)
            }
        }
        for name in asserted {
            let e = expected[name]!, n = Double(seeds.count)
            let meanBytes = sums[name]!.bytes / n, meanBlocks = sums[name]!.blocks / n
            XCTAssertLessThanOrEqual(abs(meanBytes - e.bytes), 0.05 * e.bytes, "\(name): mean \(meanBytes) B vs \(e.bytes)")
            XCTAssertLessThanOrEqual(abs(meanBlocks - e.blocks), 0.05 * e.blocks, "\(name): mean \(meanBlocks) blocks vs \(e.blocks)")
        }
    }

    /// Threads each keep a countdown of their own; the estimate of eight threads' known live bytes
    /// stays within the bound, and the process behaves the same.
    func testThreadsSampleIndependently() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/threads.heapsnap"
        try runTracked("track_threads", [path], environment: ["HEAPSNAP_SAMPLE": "4K", "HEAPSNAP_SAMPLE_SEED": "7"], directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_threads"))
        let snapshot = try RawSnapshot(contentsOf: path)
        XCTAssertEqual(snapshot.header.sampling?.rateBytes, 4096)
        var live = 0.0, variance = 0.0
        for i in 0..<100_000 where i % 10 == 0 {
            let k = Double(8 * (1 + i % 16)), p = -expm1(-k / 4096)
            live += k
            variance += k * k * (1 - p) / p
        }
        live *= 8
        variance *= 8
        let got = Double(try SiteTotals(snapshot.stacks(allocatedIn: symbols.function("worker"))).liveBytes)
        XCTAssertLessThanOrEqual(abs(got - live), 3 * variance.squareRoot() + Double(snapshot.header.sampling?.recordedLiveBlocks ?? 0), "\(got) estimated, \(live) exact")
    }

    /// The exact peak of a sampled run is the peak of the estimate; a bad setting is said and ignored.
    func testPeakFileAndBadSetting() throws {
        let dir = try TemporaryDirectory()
        try runTracked("track_exact_peak", environment: ["HEAPSNAP_SAMPLE": "64K", "HEAPSNAP_SAMPLE_SEED": "3"], directory: dir)
        let peak = try RawSnapshot(contentsOf: try XCTUnwrap(dir.files(endingWith: ".peak.heapsnap").first))
        XCTAssertEqual(peak.header.sampling?.rateBytes, 64 * 1024)
        XCTAssertEqual(peak.header.currentBytes, peak.header.peakBytes)
        // blocks of 256 KiB and more at R = 64 KiB: each recorded with p > 0.98, weighed 1/p
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_exact_peak"))
        let c = try SiteTotals(peak.stacks(allocatedIn: symbols.function("site_c")))
        XCTAssertEqual(c.liveBlocks, 3)
        XCTAssertEqual(Double(c.liveBytes), 4.5 * 1048576, accuracy: 1)

        let bad = try TemporaryDirectory()
        let result = try runTracked("track_exact_peak", environment: ["HEAPSNAP_SAMPLE": "often"], directory: bad)
        XCTAssertTrue(result.stderr.contains("HEAPSNAP_SAMPLE=often is not a byte count like 1048576, 512K, 64M or 1GiB (0 = off); tracking every allocation"), result.stderr)
        XCTAssertNil(try RawSnapshot(contentsOf: try XCTUnwrap(bad.files().first)).header.sampling)
    }
}
