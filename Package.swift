// swift-tools-version:6.0
import PackageDescription

import Foundation

// The numeric kernels are built twice from the same sources, for AVX-512 (x86-64-v4) and for AVX2 +
// FMA (x86-64-v3): without such flags `SIMD16.addingProduct` becomes 16 scalar fmaf calls. Only
// these two targets get the flags; the `Kernels` target picks one at run time by CPUID, so nothing
// built for a wider ISA runs on a CPU without it (never SIGILL).
#if arch(x86_64)
func kernelFlags(_ march: String, _ define: String) -> [SwiftSetting] {
    [.unsafeFlags(["-Xcc", "-march=\(march)", "-Ounchecked"]), .define(define)]
}
#else
func kernelFlags(_ march: String, _ define: String) -> [SwiftSetting] { [.unsafeFlags(["-Ounchecked"]), .define(define)] }
#endif

let package = Package(
    name: "RepLK",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "replk-cls", targets: ["replk-cls"]),
        .executable(name: "replk-eval", targets: ["replk-eval"]),
        .executable(name: "replk-seg", targets: ["replk-seg"]),
        .executable(name: "replk-det", targets: ["replk-det"]),
        .executable(name: "replk-bench", targets: ["replk-bench"]),
        .executable(name: "replk-board", targets: ["replk-board"]),
        .executable(name: "replk-erf", targets: ["replk-erf"]),
        // Libraries for the fuzz package in Tests/Fuzz (it depends on this package by path).
        .library(name: "RepLKWeights", targets: ["Weights"]),
        .library(name: "RepLKImaging", targets: ["Imaging"]),
        .library(name: "RepLKDatasets", targets: ["Datasets"]),
        .library(name: "RepLKEval", targets: ["Eval"]),
        .library(name: "RepLKToolSupport", targets: ["ToolSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C wrappers
        .systemLibrary(name: "CLibJPEG", path: "Sources/CLibJPEG"),
        .systemLibrary(name: "CLibPNG", path: "Sources/CLibPNG"),
        .systemLibrary(name: "CJSONC", path: "Sources/CJSONC"),
        // Header-only: CPU hints (cache prefetches for the GEMM and depth-wise kernels, spin-wait pause for the pool).
        .systemLibrary(name: "CHints", path: "Sources/CHints"),
        .target(name: "CCodecs", dependencies: ["CLibJPEG", "CLibPNG"], path: "Sources/CCodecs",
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),

        // Engine: threads, kernels over unsafe buffers, tensors and ops (no file I/O)
        .target(name: "Parallel", dependencies: ["CHints"], path: "Sources/Parallel"),
        .target(name: "CPUInfo", path: "Sources/CPUInfo"),
        .target(name: "KernelCore", path: "Sources/KernelCore", linkerSettings: [.linkedLibrary("m")]),
        // bf16 tile kernels in C: each function carries its own `target` attribute (AVX512_BF16), so
        // no global flags; reached only through KernelsV4 where CPUID reports the instructions.
        .target(name: "CKernelsBF16", path: "Sources/CKernelsBF16"),
        .target(name: "KernelsV4", dependencies: ["KernelCore", "CHints", "CKernelsBF16"], path: "Sources/KernelsV4", exclude: ["generate_depthwise_tiles.py"],
                swiftSettings: kernelFlags("x86-64-v4", "REPLK_V4")),
        // The same files as KernelsV4 (links), built for AVX2 + FMA.
        .target(name: "KernelsV3", dependencies: ["KernelCore", "CHints"], path: "Sources/KernelsV3",
                swiftSettings: kernelFlags("x86-64-v3", "REPLK_V3")),
        .target(name: "Kernels", dependencies: ["CPUInfo", "KernelCore", "KernelsV3", "KernelsV4"], path: "Sources/Kernels"),
        .target(name: "Engine", dependencies: ["Kernels", "Parallel"], path: "Sources/Engine"),

        // Layers (BN folding, convs, linear) → weights (checkpoint formats, binding) → backbone
        .target(name: "Layers", dependencies: ["Engine", "Kernels"], path: "Sources/Layers"),
        .target(name: "Weights", dependencies: ["Layers"], path: "Sources/Weights"),
        .target(name: "Backbone", dependencies: ["Engine", "Kernels", "Layers", "Weights"], path: "Sources/Backbone"),

        // Datasets: image codecs and resamplers (no model code)
        .target(name: "Imaging", dependencies: ["CCodecs"], path: "Datasets/Imaging"),

        .target(name: "Datasets", dependencies: ["Imaging", "CJSONC", "Eval"], path: "Datasets/Readers",
                linkerSettings: [.linkedLibrary("json-c")]),

        // Evaluators: pure accumulators
        .target(name: "Eval", path: "Eval"),

        // Task heads
        .target(name: "Classification", dependencies: ["Backbone", "Engine", "Imaging", "Weights"],
                path: "Tasks/Classification"),

        .target(name: "Segmentation", dependencies: ["Backbone", "Engine", "Imaging", "Kernels", "Layers", "Weights"],
                path: "Tasks/Segmentation"),

        .target(name: "Detection", dependencies: ["Backbone", "Engine", "Eval", "Imaging", "Kernels", "Layers", "Weights"],
                path: "Tasks/Detection"),

        // Effective receptive field: input gradients through the backbone, the official analysis, heatmaps
        .target(name: "ERF", dependencies: ["Backbone", "Engine", "Imaging", "Kernels", "Layers", "Parallel", "Weights"],
                path: "Tasks/ERF"),

        // Command-line tools
        .target(name: "Leaderboard", path: "Sources/Leaderboard"),
        .target(name: "ToolSupport", dependencies: ["Engine", "Imaging", "Kernels", "Parallel",
                                             .product(name: "ArgumentParser", package: "swift-argument-parser")],
                path: "Sources/ToolSupport"),
        .executableTarget(name: "replk-cls", dependencies: [
            "Backbone", "Classification", "Datasets", "Engine", "Eval", "Imaging", "Parallel", "ToolSupport", "Weights",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-cls"),

        .executableTarget(name: "replk-eval", dependencies: [
            "Datasets", "Eval", "Imaging", "ToolSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-eval"),

        .executableTarget(name: "replk-seg", dependencies: [
            "Datasets", "Engine", "Eval", "Imaging", "Parallel", "Segmentation", "ToolSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-seg"),

        .executableTarget(name: "replk-det", dependencies: [
            "Datasets", "Detection", "Engine", "Eval", "Imaging", "Parallel", "ToolSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-det"),

        .executableTarget(name: "replk-bench", dependencies: [
            "Backbone", "Datasets", "Detection", "Engine", "ERF", "Eval", "Imaging", "Kernels", "Parallel", "Segmentation", "ToolSupport", "Weights",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-bench", exclude: ["make_coco_bench_case.py"]),

        .executableTarget(name: "replk-board", dependencies: [
            "Leaderboard", "ToolSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-board"),

        .executableTarget(name: "replk-erf", dependencies: [
            "Datasets", "Engine", "ERF", "Imaging", "ToolSupport", "Weights",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-erf"),

        // Tests
        .target(name: "TestSupport", dependencies: ["Weights"], path: "Tests/TestSupport"),
        .testTarget(name: "ToolTests", dependencies: ["replk-cls", "replk-eval", "replk-seg", "replk-det", "replk-board", "replk-bench", "TestSupport", "Weights"], path: "Tests/ToolTests"),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "KernelCore", "Kernels", "Parallel"], path: "Tests/EngineTests"),
        .testTarget(name: "DetectionTests", dependencies: ["Detection", "Engine", "Eval", "Imaging", "TestSupport", "Weights"],
                    path: "Tests/DetectionTests"),
        .testTarget(name: "EvalTests", dependencies: ["Eval", "Datasets", "TestSupport"], path: "Tests/EvalTests"),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport", "Weights"], path: "Tests/ImagingTests"),
        .testTarget(name: "SegmentationTests", dependencies: ["Segmentation", "Engine", "Imaging", "TestSupport", "ToolSupport", "Weights"],
                    path: "Tests/SegmentationTests"),
        .testTarget(name: "LeaderboardTests", dependencies: ["Leaderboard", "TestSupport", "ToolSupport"], path: "Tests/LeaderboardTests"),
        .testTarget(name: "WeightsTests", dependencies: ["Weights", "TestSupport"], path: "Tests/WeightsTests"),
        .testTarget(name: "BackboneTests", dependencies: ["Backbone", "Weights", "Engine", "TestSupport"],
                    path: "Tests/BackboneTests"),
        .testTarget(name: "ERFTests", dependencies: ["ERF", "Backbone", "Engine", "Imaging", "Layers", "TestSupport", "Weights", "replk-erf", "replk-bench"],
                    path: "Tests/ERFTests"),
    ],
    swiftLanguageModes: [.v5]
)
