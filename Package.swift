// swift-tools-version: 6.0
// Respite: a SIP server with Kamailio's async machinery, in Swift with a C core.
import PackageDescription

let package = Package(
    name: "Respite",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "respite", targets: ["respite"]),
        .executable(name: "respite-shm", targets: ["respite-shm"]),
        .executable(name: "respite-db", targets: ["respite-db"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ],
    targets: [
        // C owns everything that lives in the shared arena: layout, allocator, locks, queues.
        .target(
            name: "CShared",
            path: "CShared",
            cSettings: [.unsafeFlags(["-O2"]), .define("_GNU_SOURCE")],
            linkerSettings: [
                .linkedLibrary("urcu-cds"), .linkedLibrary("urcu-common"),
                .linkedLibrary("pthread"), .linkedLibrary("rt"),
            ]
        ),
        // libcurl's variadic calls as typed functions, and its response collectors.
        .target(name: "CCurl", path: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        // libjansson (Debian libjansson-dev), the JSON library of Kamailio's jansson module.
        .systemLibrary(name: "CJansson", path: "CJansson", providers: [.apt(["libjansson-dev"])]),
        // libsqlite3 and libpq (Debian libsqlite3-dev, libpq-dev): db_sqlite and db_postgres.
        .systemLibrary(name: "CSQLite", path: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "CLibPQ", providers: [.apt(["libpq-dev"])]),
        // libcrypto (Debian libssl-dev): auth's digest hashes and nonce signatures.
        .systemLibrary(name: "CCrypto", path: "CCrypto", providers: [.apt(["libssl-dev"])]),
        // Databases behind Kamailio's URLs (sqlite://, postgres://): connections, statements
        // with parameters, version checks. Knows nothing of SIP or the arena.
        .target(name: "Database", dependencies: ["CSQLite", "CLibPQ"]),
        // Swift views over the arena.
        .target(name: "Shared", dependencies: ["CShared"]),
        // SIP messages: parse, inspect, build. Pure; imports nothing of ours.
        .target(name: "SIP"),
        // The configuration language: preprocess, lex, parse, resolve, run.
        .target(name: "Script", dependencies: ["SIP"]),

        // The server: processes, transport, modules; brings Shared, SIP and Script together.
        .target(
            name: "Runtime",
            dependencies: ["Shared", "SIP", "Script", "Database", "CCurl", "CJansson", "CCrypto"]
        ),
        .executableTarget(
            name: "respite",
            dependencies: ["Runtime", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "respite-shm",
            dependencies: ["Shared", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The schema command (kamdbctl's role): the Database layer, and Script for MD5 (ha1).
        .executableTarget(
            name: "respite-db",
            dependencies: ["Database", "Script", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // Benchmarks: release builds, one parseable result line each (`make bench`).
        .executableTarget(
            name: "respite-bench-handoff",
            dependencies: ["Shared", .product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "Benchmarks/handoff"
        ),
        .executableTarget(
            name: "respite-stress",
            dependencies: [
                "SIP", "Shared",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/stress"
        ),
        .executableTarget(
            name: "respite-bench-sip",
            dependencies: ["SIP"],
            path: "Benchmarks/sip-parse"
        ),

        // A helper the multi-process tests start: it forks from its own single-threaded main.
        .executableTarget(
            name: "respite-arena-helper",
            dependencies: ["Shared"],
            path: "Tests/Helpers/respite-arena-helper"
        ),

        // What the multi-process tests share: starting built executables (posix_spawn, each
        // in its own process group), a respite server with its readiness check, loopback
        // ports. Foundation only: it links none of the code under test.
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(name: "SharedTests", dependencies: ["Shared", "TestSupport", "respite-arena-helper", "respite-shm"]),
        .testTarget(name: "SIPTests", dependencies: ["SIP", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ScriptTests", dependencies: ["Script", "TestSupport"], resources: [.copy("Golden")]),
        .testTarget(name: "DatabaseTests", dependencies: ["Database", "TestSupport", "respite-db"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "SIP", "TestSupport", "respite", "respite-shm"],
                    resources: [.copy("Configs")]),
    ],
    swiftLanguageModes: [.v6]
)
