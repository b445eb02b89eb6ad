// swift-tools-version:5.9
// The tracker (Sources/Track, C) is built by the Makefile as libheapsnap.so with the system C compiler,
// not by SwiftPM: a SwiftPM dynamic product is linked by swiftc, which drags libswiftCore into every
// traced process. No Swift target links it; they only read the files it writes. What both sides share
// (heapsnap_format.h: the file format and the environment; settings.c: the setting grammars) is the C
// target CHeapSnapContract, compiled by SwiftPM from the same files the Makefile puts into the tracker.
import PackageDescription

let package = Package(
    name: "heapsnap",
    products: [
        .executable(name: "heapsnap", targets: ["heapsnap"]),
        .library(name: "HeapSnap", targets: ["HeapSnap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibDW", path: "Sources/CLibDW"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "CHeapSnapContract", path: "Sources/Track", sources: ["settings.c", "crc32.c"], publicHeadersPath: "include"),
        .target(
            name: "HeapSnap",
            dependencies: [
                "CLibDW",
                "CZlib",
                "CHeapSnapContract",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Sources/HeapSnap"
        ),
        .executableTarget(
            name: "heapsnap",
            dependencies: [
                "HeapSnap",
                "CHeapSnapContract",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CLI"
        ),
        // The reader's libFuzzer target (`make fuzz`); built normally it replays saved inputs.
        .executableTarget(name: "heapsnap-fuzz", dependencies: ["HeapSnap"], path: "Fuzz/ReaderFuzz"),
        .target(name: "TestSupport", dependencies: ["HeapSnap"], path: "Tests/TestSupport"),
        .testTarget(name: "TrackTests", dependencies: ["HeapSnap", "TestSupport"], path: "Tests/TrackTests"),
        .testTarget(name: "HeapSnapTests", dependencies: ["HeapSnap", "CLibDW", "TestSupport"], path: "Tests/HeapSnapTests"),
        .testTarget(name: "CLITests", dependencies: ["HeapSnap", "TestSupport"], path: "Tests/CLITests"),
    ]
)
