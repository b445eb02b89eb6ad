// The contents of one snapshot file exactly as the tracker wrote it (Docs/FORMAT.md): counters, modules,
// stacks of raw return addresses, optional live blocks. Nothing here is symbolized; see Symbolize/.
import CHeapSnapContract

/// What made the tracker write a snapshot.
public enum SnapshotTrigger: Sendable, CaseIterable, Codable {
    case api, exit, signal, interval, peak, snap

    /// The value in the HEADER section (heapsnap_format.h).
    public var value: UInt32 {
        switch self {
        case .api: return HEAPSNAP_TRIGGER_API
        case .exit: return HEAPSNAP_TRIGGER_EXIT
        case .signal: return HEAPSNAP_TRIGGER_SIGNAL
        case .interval: return HEAPSNAP_TRIGGER_INTERVAL
        case .peak: return HEAPSNAP_TRIGGER_PEAK
        case .snap: return HEAPSNAP_TRIGGER_SNAP
        }
    }

    public init?(value: UInt32) {
        guard let trigger = Self.allCases.first(where: { $0.value == value }) else { return nil }
        self = trigger
    }

    /// The trigger's name as the JSON documents spell it (heapsnap_trigger_name).
    public var name: String { String(cString: heapsnap_trigger_name(value)) }

    static let unknownPrefix = "unknown trigger"

    /// JSON documents spell a trigger by its name.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let trigger = Self.allCases.first(where: { $0.name == name }) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(Self.unknownPrefix) \"\(name)\"")
        }
        self = trigger
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

/// The HEADER section; in JSON documents, under the keys of `CodingKeys` (Docs/SNAPSHOT-JSON.md).
public struct SnapshotHeader: Sendable, Equatable, Codable {
    public var formatVersion: UInt32
    public var pid: UInt32
    public var parentPID: UInt32
    /// CLOCK_REALTIME in nanoseconds since the epoch.
    public var timeNanoseconds: UInt64
    public var startNanoseconds: UInt64
    public var sequence: UInt32
    public var trigger: SnapshotTrigger
    public var maxFrames: UInt32
    /// Every live block is in the TRACES section (not in JSON: exports carry no live blocks).
    public var hasTraces: Bool = false
    public var currentBytes: UInt64
    public var peakBytes: UInt64
    public var liveBlocks: UInt64
    public var totalAllocations: UInt64
    public var totalBytes: UInt64
    public var trackerBytes: UInt64
    public var untrackedFrees: UInt64
    public var executable: String
    public var arguments: [String]
    /// Set when the tracker sampled (HEAPSNAP_SAMPLE): every byte and block figure is then an estimate.
    public var sampling: Sampling? = nil

    /// The UNWIND section: which unwinder captured the stacks and what HEAPSNAP_VERIFY_UNWIND found
    /// (absent from files of older trackers).
    public var unwind: Unwind? = nil

    /// The UNWIND section (Docs/FORMAT.md, tag 7).
    public struct Unwind: Sendable, Equatable, Codable {
        /// HEAPSNAP_UNWINDER_* of heapsnap_format.h.
        public var status: UInt32
        /// HEAPSNAP_VERIFY_UNWIND was on: libunwind ran beside the own unwinder on every capture.
        public var verifying: Bool
        /// Captures compared with libunwind, and how many of them differed.
        public var verifiedCaptures: UInt64
        public var mismatches: UInt64
        /// Captures the own unwinder handed to libunwind (signal frames, DWARF expressions, code without CFI).
        public var fallbacks: UInt64
        /// The first difference: the frame's index (0 = innermost) and each side's frame there.
        public var firstMismatch: Mismatch?

        public struct Mismatch: Sendable, Equatable, Codable {
            public var frame: UInt32
            public var ownDepth: UInt32
            public var libunwindDepth: UInt32
            public var ownAddress: UInt64
            public var libunwindAddress: UInt64
            public var ownModule: String
            public var ownOffset: UInt64
            public var libunwindModule: String
            public var libunwindOffset: UInt64
            enum CodingKeys: String, CodingKey {
                case frame, ownDepth = "own_depth", libunwindDepth = "libunwind_depth", ownAddress = "own_address"
                case libunwindAddress = "libunwind_address", ownModule = "own_module", ownOffset = "own_offset"
                case libunwindModule = "libunwind_module", libunwindOffset = "libunwind_offset"
            }
            public init(frame: UInt32, ownDepth: UInt32, libunwindDepth: UInt32, ownAddress: UInt64, libunwindAddress: UInt64,
                        ownModule: String, ownOffset: UInt64, libunwindModule: String, libunwindOffset: UInt64) {
                self.frame = frame
                self.ownDepth = ownDepth
                self.libunwindDepth = libunwindDepth
                self.ownAddress = ownAddress
                self.libunwindAddress = libunwindAddress
                self.ownModule = ownModule
                self.ownOffset = ownOffset
                self.libunwindModule = libunwindModule
                self.libunwindOffset = libunwindOffset
            }
        }

        /// The keys of the UNWIND object in JSON documents (Docs/SNAPSHOT-JSON.md).
        enum CodingKeys: String, CodingKey {
            case status, verifying, verifiedCaptures = "verified_captures", mismatches, fallbacks = "fallback_captures"
            case firstMismatch = "first_mismatch"
        }

        public init(status: UInt32, verifying: Bool, verifiedCaptures: UInt64 = 0, mismatches: UInt64 = 0,
                    fallbacks: UInt64 = 0, firstMismatch: Mismatch? = nil) {
            self.status = status
            self.verifying = verifying
            self.verifiedCaptures = verifiedCaptures
            self.mismatches = mismatches
            self.fallbacks = fallbacks
            self.firstMismatch = firstMismatch
        }

        /// Verification found the own unwinder and libunwind to differ (and the process switched to libunwind).
        public var foundMismatch: Bool { mismatches > 0 || status == HEAPSNAP_UNWINDER_LIBUNWIND_AFTER_MISMATCH }

        /// HEAPSNAP_UNWINDER=libunwind chose libunwind for every capture.
        public var libunwindBySetting: Bool { status == HEAPSNAP_UNWINDER_LIBUNWIND_BY_SETTING }

        /// The own unwinder captured the stacks (libunwind only where it could not).
        public var usedOwnUnwinder: Bool { status == HEAPSNAP_UNWINDER_OWN }

        /// `heapsnap info`'s line: "own, verified 123,456 captures, 0 mismatches" and the like.
        public var description: String {
            var parts: [String] = []
            switch status {
            case HEAPSNAP_UNWINDER_OWN: parts.append("own")
            case HEAPSNAP_UNWINDER_LIBUNWIND_BY_SETTING: parts.append("libunwind (HEAPSNAP_UNWINDER=libunwind)")
            case HEAPSNAP_UNWINDER_LIBUNWIND_AFTER_MISMATCH: parts.append("libunwind since the own unwinder's first mismatch")
            case HEAPSNAP_UNWINDER_LIBUNWIND_NO_FIND_OBJECT: parts.append("libunwind (this glibc has no _dl_find_object)")
            case HEAPSNAP_UNWINDER_LIBUNWIND_UNSUPPORTED_ARCH: parts.append("libunwind (no own unwinder for this architecture)")
            default: parts.append("libunwind (status \(status))")
            }
            if verifying {
                parts.append("verified \(Self.grouped(verifiedCaptures)) captures, \(Self.grouped(mismatches)) "
                    + (mismatches == 1 ? "mismatch" : "mismatches"))
            }
            if fallbacks > 0 {
                parts.append("\(Self.grouped(fallbacks)) " + (fallbacks == 1 ? "capture" : "captures") + " by libunwind")
            }
            var text = parts.joined(separator: ", ")
            if let m = firstMismatch {
                text += "; first mismatch at frame \(m.frame): own \(Self.place(m.ownModule, m.ownOffset, m.ownAddress, present: m.frame < m.ownDepth))"
                    + ", libunwind \(Self.place(m.libunwindModule, m.libunwindOffset, m.libunwindAddress, present: m.frame < m.libunwindDepth))"
                    + " (\(m.ownDepth) vs \(m.libunwindDepth) frames)"
            }
            return text
        }

        static func place(_ module: String, _ offset: UInt64, _ address: UInt64, present: Bool) -> String {
            guard present else { return "(no frame)" }
            if module.isEmpty { return "0x" + String(address, radix: 16) }
            return (module.split(separator: "/").last.map(String.init) ?? module) + "+0x" + String(offset, radix: 16)
        }

        static func grouped(_ n: UInt64) -> String {
            let digits = Array(String(n))
            var out = ""
            for (i, d) in digits.enumerated() {
                if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
                out.append(d)
            }
            return out
        }
    }

    /// The SAMPLING section: the mean interval and what was really recorded.
    public struct Sampling: Sendable, Equatable, Codable {
        /// Mean bytes between two sample points (R).
        public var rateBytes: UInt64
        /// HEAPSNAP_SAMPLE_SEED, 0 when seeded from the clock.
        public var seed: UInt64
        /// Blocks in the tracker's table (recorded and still live), and allocations recorded.
        public var recordedLiveBlocks: UInt64
        public var recordedAllocations: UInt64
        public init(rateBytes: UInt64, seed: UInt64 = 0, recordedLiveBlocks: UInt64 = 0, recordedAllocations: UInt64 = 0) {
            self.rateBytes = rateBytes
            self.seed = seed
            self.recordedLiveBlocks = recordedLiveBlocks
            self.recordedAllocations = recordedAllocations
        }

        /// "estimated, sampled every 512 KiB": said wherever a sampled figure is shown.
        public var description: String { "estimated, sampled every \(SizeFormat.string(rateBytes))" }

        enum CodingKeys: String, CodingKey {
            case estimated, rateBytes = "rate_bytes", seed, recordedLiveBlocks = "recorded_live_blocks"
            case recordedAllocations = "recorded_allocations", description
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            rateBytes = try container.decode(UInt64.self, forKey: .rateBytes)
            guard rateBytes > 0 else {
                throw DecodingError.dataCorruptedError(forKey: .rateBytes, in: container, debugDescription: "must be above 0")
            }
            seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
            recordedLiveBlocks = try container.decodeIfPresent(UInt64.self, forKey: .recordedLiveBlocks) ?? 0
            recordedAllocations = try container.decodeIfPresent(UInt64.self, forKey: .recordedAllocations) ?? 0
        }

        /// With "estimated": true and the description, for a reader of the document that knows nothing else.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(true, forKey: .estimated)
            try container.encode(rateBytes, forKey: .rateBytes)
            try container.encode(seed, forKey: .seed)
            try container.encode(recordedLiveBlocks, forKey: .recordedLiveBlocks)
            try container.encode(recordedAllocations, forKey: .recordedAllocations)
            try container.encode(description, forKey: .description)
        }
    }

    public init(
        formatVersion: UInt32 = HEAPSNAP_FORMAT_VERSION, pid: UInt32, parentPID: UInt32 = 0,
        timeNanoseconds: UInt64 = 0, startNanoseconds: UInt64 = 0, sequence: UInt32 = 1,
        trigger: SnapshotTrigger = .api, maxFrames: UInt32 = HEAPSNAP_FRAMES_DEFAULT, hasTraces: Bool = false,
        currentBytes: UInt64 = 0, peakBytes: UInt64 = 0, liveBlocks: UInt64 = 0,
        totalAllocations: UInt64 = 0, totalBytes: UInt64 = 0, trackerBytes: UInt64 = 0,
        untrackedFrees: UInt64 = 0, executable: String = "", arguments: [String] = []
    ) {
        self.formatVersion = formatVersion
        self.pid = pid
        self.parentPID = parentPID
        self.timeNanoseconds = timeNanoseconds
        self.startNanoseconds = startNanoseconds
        self.sequence = sequence
        self.trigger = trigger
        self.maxFrames = maxFrames
        self.hasTraces = hasTraces
        self.currentBytes = currentBytes
        self.peakBytes = peakBytes
        self.liveBlocks = liveBlocks
        self.totalAllocations = totalAllocations
        self.totalBytes = totalBytes
        self.trackerBytes = trackerBytes
        self.untrackedFrees = untrackedFrees
        self.executable = executable
        self.arguments = arguments
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", pid, parentPID = "ppid", timeNanoseconds = "time_ns"
        case startNanoseconds = "start_ns", sequence, trigger, maxFrames = "max_frames"
        case currentBytes = "current_bytes", peakBytes = "peak_bytes", liveBlocks = "live_blocks"
        case totalAllocations = "total_allocations", totalBytes = "total_bytes", trackerBytes = "tracker_bytes"
        case untrackedFrees = "untracked_frees", executable, arguments
        case sampling /* absent for exact snapshots */
        case unwind /* absent in files of trackers before the UNWIND section */
    }
}

/// One record of the MODULES section.
public struct ModuleRecord: Sendable, Equatable {
    public struct Segment: Sendable, Equatable {
        public var start: UInt64
        public var size: UInt64
        public var flags: UInt32
        public var isExecutable: Bool { flags & 1 != 0 }
        public init(start: UInt64, size: UInt64, flags: UInt32) {
            self.start = start
            self.size = size
            self.flags = flags
        }
    }

    public var loadBias: UInt64
    public var isMainExecutable: Bool
    public var wasUnloaded: Bool
    public var isVDSO: Bool
    public var path: String
    public var buildID: [UInt8]
    public var segments: [Segment]

    public init(
        loadBias: UInt64, path: String, buildID: [UInt8] = [], segments: [Segment] = [],
        isMainExecutable: Bool = false, wasUnloaded: Bool = false, isVDSO: Bool = false
    ) {
        self.loadBias = loadBias
        self.path = path
        self.buildID = buildID
        self.segments = segments
        self.isMainExecutable = isMainExecutable
        self.wasUnloaded = wasUnloaded
        self.isVDSO = isVDSO
    }

    /// True when `address` falls inside one of the module's mapped segments.
    public func contains(_ address: UInt64) -> Bool {
        segments.contains { address >= $0.start && address - $0.start < $0.size }
    }
}

/// One record of the STACKS section: a distinct (domain, call stack) and its aggregates.
public struct StackRecord: Sendable, Equatable {
    public var domain: UInt32
    /// Return addresses, most recent first.
    public var frames: [UInt64]
    /// The calling thread's Python frames, innermost first (PythonRecords.swift); empty for stacks
    /// recorded outside Python code or with Python frames off.
    public var pythonFrames: [PythonFrame]
    /// The native frames or the Python frames were cut at their cap.
    public var isTruncated: Bool
    public var liveBytes: UInt64
    public var liveBlocks: UInt64
    public var totalAllocations: UInt64
    public var totalBytes: UInt64
    /// Allocations from this stack freed before their thread allocated again (format version 2).
    public var temporaryAllocations: UInt64

    public init(
        domain: UInt32 = 0, frames: [UInt64], pythonFrames: [PythonFrame] = [], isTruncated: Bool = false,
        liveBytes: UInt64 = 0, liveBlocks: UInt64 = 0, totalAllocations: UInt64 = 0, totalBytes: UInt64 = 0,
        temporaryAllocations: UInt64 = 0
    ) {
        self.temporaryAllocations = temporaryAllocations
        self.domain = domain
        self.frames = frames
        self.pythonFrames = pythonFrames
        self.isTruncated = isTruncated
        self.liveBytes = liveBytes
        self.liveBlocks = liveBlocks
        self.totalAllocations = totalAllocations
        self.totalBytes = totalBytes
    }
}

/// One record of the TRACES section: a live block.
public struct TraceRecord: Sendable, Equatable {
    public var address: UInt64
    public var size: UInt64
    /// Index into `RawSnapshot.stacks`.
    public var stack: UInt32

    public init(address: UInt64, size: UInt64, stack: UInt32) {
        self.address = address
        self.size = size
        self.stack = stack
    }
}

/// A whole snapshot file, unsymbolized.
public struct RawSnapshot: Sendable, Equatable {
    public var header: SnapshotHeader
    public var modules: [ModuleRecord]
    public var stacks: [StackRecord]
    /// Present only when the tracker ran with HEAPSNAP_TRACES=1.
    public var traces: [TraceRecord]?
    /// Present when the traced process ran a CPython interpreter (format version 2).
    public var python: PythonInterpreter?

    public init(header: SnapshotHeader, modules: [ModuleRecord], stacks: [StackRecord], traces: [TraceRecord]? = nil,
                python: PythonInterpreter? = nil) {
        self.header = header
        self.modules = modules
        self.stacks = stacks
        self.traces = traces
        self.python = python
    }
}
