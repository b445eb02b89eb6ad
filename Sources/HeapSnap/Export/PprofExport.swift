// A snapshot as a pprof heap profile (github.com/google/pprof proto/profile.proto), the form `go tool
// pprof`, Pyroscope, Grafana and Parca read. Hand-encoded: see Docs/DESIGN.md for why.
//
// The sample types are Go's heap-profile names, so every pprof tool knows them without configuration:
// alloc_objects/count, alloc_space/bytes (since the start), inuse_objects/count, inuse_space/bytes (live),
// inuse_space the default. Values are exact counts (period 1), not sampled estimates.

/// profile.proto's field numbers, the only place they are spelled.
private enum Field {
    enum Profile {
        static let sampleType = 1, sample = 2, mapping = 3, location = 4, function = 5, stringTable = 6
        static let timeNanos = 9, durationNanos = 10, periodType = 11, period = 12, comment = 13
        static let defaultSampleType = 14
    }
    enum ValueType { static let type = 1, unit = 2 }
    enum Sample { static let locationID = 1, value = 2, label = 3 }
    enum Label { static let key = 1, str = 2, num = 3, numUnit = 4 }
    enum Mapping {
        static let id = 1, memoryStart = 2, memoryLimit = 3, fileOffset = 4, filename = 5, buildID = 6
        static let hasFunctions = 7, hasFilenames = 8, hasLineNumbers = 9, hasInlineFrames = 10
    }
    enum Location { static let id = 1, mappingID = 2, address = 3, line = 4 }
    enum Line { static let functionID = 1, line = 2 }
    enum Function { static let id = 1, name = 2, systemName = 3, filename = 4, startLine = 5 }
}

public struct PprofExport {
    /// The sample types, in the order of every sample's values.
    public static let sampleTypes: [(type: String, unit: String)] = [
        ("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes"),
    ]

    /// Frames above the allocation site (malloc wrappers, operator new, …) are left out of each sample,
    /// as Go's runtime leaves out mallocgc, so pprof's "flat" is heapsnap's site (the one the snapshot
    /// decided under its site rules when it was loaded). True keeps them.
    public var keepsPlumbing: Bool

    public init(keepsPlumbing: Bool = false) {
        self.keepsPlumbing = keepsPlumbing
    }

    /// The encoded profile, uncompressed.
    public func profile(of snapshot: Snapshot) -> [UInt8] {
        var builder = Builder(snapshot: snapshot)
        var samples = ProtobufWriter()
        for trace in snapshot.traces where trace.count > 0 || trace.totalAllocations > 0 || trace.size > 0 {
            let frames = trace.traceback.frames
            let first = keepsPlumbing || frames.isEmpty ? 0 : trace.traceback.siteIndex
            let locations = builder.locations(of: frames, from: first)
            samples.message(Field.Profile.sample) { sample in
                sample.packed(Field.Sample.locationID, locations)
                sample.packed(Field.Sample.value, [trace.totalAllocations, trace.totalBytes, trace.count, trace.size])
                if trace.domain != 0 {
                    let key = builder.string("domain")
                    sample.message(Field.Sample.label) { label in
                        label.uint(Field.Label.key, key)
                        label.int(Field.Label.num, Int64(trace.domain))
                    }
                }
            }
        }
        return builder.finish(samples: samples.bytes)
    }

    /// The gzip-compressed profile, as pprof files are kept on disk.
    public func compressedProfile(of snapshot: Snapshot) throws -> [UInt8] {
        try Gzip.compress(profile(of: snapshot))
    }
}

/// The tables of one profile: strings, functions, locations and mappings, each entry once.
private struct Builder {
    let snapshot: Snapshot
    var strings: [String] = [""]
    var stringIndex: [String: UInt64] = ["": 0]

    struct FunctionKey: Hashable {
        var name: String, file: String, startLine: Int
    }
    var functionIDs: [FunctionKey: UInt64] = [:]
    var functions = ProtobufWriter()

    /// A location is one return address with its inline chain; a chain cut at the site (plumbing inlined
    /// into the site's function) is a location of its own, hence the second part of the key.
    struct LocationKey: Hashable {
        var frames: [Frame]
    }
    var locationIDs: [LocationKey: UInt64] = [:]
    var locations = ProtobufWriter()
    var locationCount: UInt64 = 0

    /// Per module path: its mapping id and what its frames carry.
    struct MappingInfo {
        var id: UInt64
        var module: ModuleInfo?
        var lowest: UInt64 = .max
        var highest: UInt64 = 0
        var hasFunctions = false, hasFilenames = false, hasLineNumbers = false, hasInlineFrames = false
    }
    var mappings: [String: MappingInfo] = [:]
    var mappingOrder: [String] = []
    let modulesByPath: [String: ModuleInfo]

    init(snapshot: Snapshot) {
        self.snapshot = snapshot
        var modules: [String: ModuleInfo] = [:]
        for module in snapshot.info.modules where modules[module.path] == nil { modules[module.path] = module }
        modulesByPath = modules
    }

    mutating func string(_ text: String) -> UInt64 {
        if let known = stringIndex[text] { return known }
        let index = UInt64(strings.count)
        strings.append(text)
        stringIndex[text] = index
        return index
    }

    mutating func function(of frame: Frame) -> UInt64 {
        let name = frame.function ?? frame.location
        let key = FunctionKey(name: name, file: frame.file ?? "", startLine: frame.functionLine)
        if let known = functionIDs[key] { return known }
        let id = UInt64(functionIDs.count + 1)
        functionIDs[key] = id
        let nameIndex = string(name), fileIndex = string(key.file)
        functions.message(Field.Profile.function) { function in
            function.uint(Field.Function.id, id)
            function.uint(Field.Function.name, nameIndex)
            function.uint(Field.Function.systemName, nameIndex)
            function.uint(Field.Function.filename, fileIndex)
            function.int(Field.Function.startLine, Int64(frame.functionLine))
        }
        return id
    }

    mutating func mapping(of frame: Frame) -> UInt64? {
        guard !frame.module.isEmpty else { return nil }
        if mappings[frame.module] == nil {
            mappings[frame.module] = MappingInfo(id: UInt64(mappingOrder.count + 1), module: modulesByPath[frame.module])
            mappingOrder.append(frame.module)
        }
        var info = mappings[frame.module]!
        if let address = frame.address {
            info.lowest = min(info.lowest, address)
            info.highest = max(info.highest, address)
        }
        if frame.function != nil { info.hasFunctions = true }
        if frame.file != nil { info.hasFilenames = true }
        if frame.line > 0 { info.hasLineNumbers = true }
        if frame.isInlined { info.hasInlineFrames = true }
        mappings[frame.module] = info
        return info.id
    }

    /// Location ids of `frames[first...]`, leaf first. Consecutive inlined frames and the frame they are
    /// inlined into (the same return address) make one location, innermost line first as pprof wants.
    mutating func locations(of frames: [Frame], from first: Int) -> [UInt64] {
        var result: [UInt64] = []
        var chain: [Frame] = []
        for frame in frames[first...] {
            chain.append(frame)
            guard !frame.isInlined else { continue }
            result.append(location(of: chain))
            chain.removeAll(keepingCapacity: true)
        }
        if !chain.isEmpty { result.append(location(of: chain)) }
        return result
    }

    private mutating func location(of chain: [Frame]) -> UInt64 {
        let key = LocationKey(frames: chain)
        if let known = locationIDs[key] { return known }
        locationCount += 1
        let id = locationCount
        locationIDs[key] = id
        let physical = chain[chain.count - 1]
        let mappingID = chain.compactMap { mapping(of: $0) }.last
        let lines = chain.map { (function: function(of: $0), line: $0.line) }
        locations.message(Field.Profile.location) { location in
            location.uint(Field.Location.id, id)
            if let mappingID { location.uint(Field.Location.mappingID, mappingID) }
            // The call instruction rather than the return address after it, as pprof's own profiles.
            if let address = physical.address, address > 0 { location.uint(Field.Location.address, address - 1) }
            for line in lines {
                location.message(Field.Location.line) { entry in
                    entry.uint(Field.Line.functionID, line.function)
                    entry.int(Field.Line.line, Int64(line.line))
                }
            }
        }
        return id
    }

    mutating func finish(samples: [UInt8]) -> [UInt8] {
        var profile = ProtobufWriter()
        for sampleType in PprofExport.sampleTypes {
            let type = string(sampleType.type), unit = string(sampleType.unit)
            profile.message(Field.Profile.sampleType) { value in
                value.uint(Field.ValueType.type, type)
                value.uint(Field.ValueType.unit, unit)
            }
        }
        var mappingMessages = ProtobufWriter()
        for path in mappingOrder {
            let info = mappings[path]!
            let fileIndex = string(path)
            let buildIDIndex = string(info.module?.buildID ?? "")
            // memory_start is the load bias with file_offset 0, so address - start + offset is the ELF
            // virtual address for executables and shared objects alike (what pprof hands a symbolizer).
            let start = info.module?.loadBias ?? (info.lowest == .max ? 0 : info.lowest)
            let limit = max(info.highest &+ 1, start &+ 1)
            mappingMessages.message(Field.Profile.mapping) { mapping in
                mapping.uint(Field.Mapping.id, info.id)
                mapping.uint(Field.Mapping.memoryStart, start)
                mapping.uint(Field.Mapping.memoryLimit, limit)
                mapping.uint(Field.Mapping.filename, fileIndex)
                mapping.uint(Field.Mapping.buildID, buildIDIndex)
                // Any of these set keeps pprof from re-symbolizing what heapsnap already resolved.
                mapping.bool(Field.Mapping.hasFunctions, info.hasFunctions)
                mapping.bool(Field.Mapping.hasFilenames, info.hasFilenames)
                mapping.bool(Field.Mapping.hasLineNumbers, info.hasLineNumbers)
                mapping.bool(Field.Mapping.hasInlineFrames, info.hasInlineFrames)
            }
        }
        let header = snapshot.info.header
        var comments: [UInt64] = []
        let program = header.arguments.isEmpty ? header.executable : header.arguments.joined(separator: " ")
        comments.append(string("heapsnap: \(program) (pid \(header.pid))"))
        if !snapshot.info.source.isEmpty { comments.append(string("snapshot: \(snapshot.info.source)")) }
        let space = string("space"), bytes = string("bytes"), inuse = string("inuse_space")

        profile.raw(samples)
        profile.raw(mappingMessages.bytes)
        profile.raw(locations.bytes)
        profile.raw(functions.bytes)
        for text in strings { profile.string(Field.Profile.stringTable, text) }
        profile.int(Field.Profile.timeNanos, Int64(clamping: header.timeNanoseconds))
        if header.timeNanoseconds > header.startNanoseconds, header.startNanoseconds > 0 {
            profile.int(Field.Profile.durationNanos, Int64(clamping: header.timeNanoseconds - header.startNanoseconds))
        }
        profile.message(Field.Profile.periodType) { value in
            value.uint(Field.ValueType.type, space)
            value.uint(Field.ValueType.unit, bytes)
        }
        profile.int(Field.Profile.period, 1)
        profile.packed(Field.Profile.comment, comments)
        profile.uint(Field.Profile.defaultSampleType, inuse)
        return profile.bytes
    }
}
