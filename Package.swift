// swift-tools-version:6.0
import PackageDescription

// Hot-path modules skip Swift's run-time exclusivity checks: in the request path they cost about a
// quarter of all instructions (callgrind). Their classes document which single thread owns them.
// Cross-module optimisation lets generic storage calls (`get<R>`) specialise in the node's module
// instead of going through run-time generic metadata on every request.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"])]

let package = Package(
    name: "flare",
    products: [
        .executable(name: "flared", targets: ["flared"]),
        .executable(name: "flarei", targets: ["flarei"]),
        .executable(name: "flare-bench", targets: ["flare-bench"]),
        .executable(name: "flare-admin", targets: ["flare-admin"]),
        .executable(name: "flare-stats", targets: ["flare-stats"]),
        .executable(name: "flare-zkadmin", targets: ["flare-zkadmin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
    ],
    targets: [
        // C libraries from Debian, one module each; only FlareNet imports libevent.
        .systemLibrary(name: "CLibevent", pkgConfig: "libevent", providers: [.apt(["libevent-dev"])]),
        // No pkg-config file in Debian's libzookeeper-mt-dev: the module map links it by name.
        .systemLibrary(name: "CZooKeeper", providers: [.apt(["libzookeeper-mt-dev"])]),
        .systemLibrary(name: "CTkrzw", pkgConfig: "tkrzw", providers: [.apt(["libtkrzw-dev", "liblz4-dev", "libzstd-dev", "liblzma-dev", "zlib1g-dev"])]),

        // Pure protocol: parsing requests in place and formatting replies. No I/O.
        .target(name: "FlareProtocol", swiftSettings: hotPath),
        // Cluster logic: key hashing, partition resolver, node map. Pure, no I/O.
        .target(name: "FlareCluster", swiftSettings: hotPath),
        // Item storage: engine abstraction, Tkrzw hash and in-memory engines, memcached item semantics.
        .target(name: "FlareStorage", dependencies: [
            "CTkrzw",
            .product(name: "Atomics", package: "swift-atomics"),
        ], swiftSettings: hotPath),
        // Configuration files and command-line options of both daemons.
        .target(name: "FlareConfig", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Thin libevent layer: listener, worker event loops, connections and their buffers.
        .target(name: "FlareNet", dependencies: [
            "CLibevent", "FlareProtocol",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Atomics", package: "swift-atomics"),
        ], swiftSettings: hotPath),
        // Daemon plumbing shared by flared and flarei: detaching, pid file, logging set-up.
        .target(name: "FlareDaemon", dependencies: [
            .product(name: "Logging", package: "swift-log"),
        ]),
        // ZooKeeper sessions (the C client's boundary) and the index's znode layout in a tree.
        .target(name: "FlareZooKeeper", dependencies: ["CZooKeeper", "FlareCluster"]),
        // The index server's behaviour: node map authority, persistence, monitoring, pushes.
        .target(name: "FlareIndex", dependencies: [
            "FlareProtocol", "FlareConfig", "FlareNet", "FlareCluster", "FlareDaemon", "FlareZooKeeper",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Atomics", package: "swift-atomics"),
        ]),
        // The node daemon's behaviour: command execution, stats, standalone/cluster start-up.
        .target(name: "FlareNode", dependencies: [
            "FlareProtocol", "FlareStorage", "FlareConfig", "FlareNet", "FlareCluster", "FlareDaemon",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Atomics", package: "swift-atomics"),
        ], swiftSettings: hotPath),

        // Operator tools (flare-admin, flare-stats): wire client, reply parsers, sub-commands and
        // their output formats. Key hashing, the resolver and node roles/states come from FlareCluster;
        // `stats nodes` replies are parsed here with the tools' own tolerance (values kept as text).
        .target(name: "FlareTools", dependencies: [
            "FlareCluster",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "flare-admin", dependencies: [
            "FlareTools",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "flare-stats", dependencies: [
            "FlareTools",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "flare-zkadmin", dependencies: [
            "FlareZooKeeper", "FlareCluster", "FlareConfig",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "flared", dependencies: [
            "FlareNode", "FlareConfig", "FlareDaemon",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "flarei", dependencies: [
            "FlareIndex", "FlareConfig", "FlareDaemon",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "flare-bench", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "FlareProtocolTests", dependencies: ["FlareProtocol"]),
        .testTarget(name: "FlareStorageTests", dependencies: ["FlareStorage"]),
        .testTarget(name: "FlareConfigTests", dependencies: ["FlareConfig"]),
        .testTarget(name: "FlareClusterTests", dependencies: ["FlareCluster"]),
        .testTarget(name: "FlareToolsTests", dependencies: ["FlareTools"]),
        .testTarget(name: "FlareZooKeeperTests", dependencies: ["FlareZooKeeper"]),
        .testTarget(name: "FlareIndexTests", dependencies: [
            "FlareIndex", "FlareCluster", "FlareNet",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "FlaredIntegrationTests", dependencies: ["FlareProtocol"]),
        .testTarget(name: "FlareBenchTests", dependencies: ["flare-bench"]),
        .testTarget(name: "FlareNodeTests", dependencies: ["FlareNode", "FlareNet", "FlareCluster", "FlareProtocol", "FlareConfig"]),
        // Real flarei/flared processes on loopback, driven end to end (and by flare-admin/flare-stats).
        .testTarget(name: "ClusterIntegrationTests", dependencies: ["FlareCluster"]),
        // Deterministic cluster simulation: the real index, store and replication logic under a
        // simulated network, clock and faults, one seed per run (docs/simulation.md).
        .testTarget(name: "SimulationTests", dependencies: ["FlareCluster", "FlareStorage"]),
        // flared and flarei started in process with their command handlers as fuzzing targets: shared by
        // the deterministic fuzzer (HandlerFuzzTests) and the libFuzzer harness (flare-handler-fuzzer).
        .target(name: "HandlerFuzzing", dependencies: [
            "FlareNode", "FlareIndex", "FlareNet", "FlareConfig",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/HandlerFuzzing"),
        // The command handlers of flared and flarei, in process, under a deterministic mutation fuzzer.
        .testTarget(name: "HandlerFuzzTests", dependencies: ["HandlerFuzzing"]),
    ]
)

// The libFuzzer entry point links only with `-sanitize=fuzzer` (libFuzzer supplies `main`), so it is
// part of the package only for scripts/libfuzz-handlers, which sets FLARE_LIBFUZZER to the sanitizers
// (`fuzzer` or `fuzzer,address`) and builds in a scratch path of its own under .build-fuzz. Only the
// daemons' modules are instrumented: coverage then guides by the daemons' code alone, and the harness's
// reply checks do not pay for comparison tracing.
if let sanitizers = Context.environment["FLARE_LIBFUZZER"] {
    let instrumented: Set<String> = ["FlareProtocol", "FlareCluster", "FlareStorage", "FlareConfig", "FlareNet", "FlareDaemon",
                                     "FlareZooKeeper", "FlareIndex", "FlareNode"]
    for target in package.targets where instrumented.contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-sanitize=\(sanitizers)"])]
    }
    package.targets.append(.executableTarget(name: "flare-handler-fuzzer", dependencies: ["HandlerFuzzing"],
                                             path: "Tests/HandlerLibFuzzer",
                                             swiftSettings: [.unsafeFlags(["-parse-as-library"])],
                                             linkerSettings: [.unsafeFlags(["-sanitize=\(sanitizers)"])]))
}
