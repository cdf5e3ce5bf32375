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
        // The library: `import RepLK` for the user-facing API; finer products for a smaller graph
        // (the fuzz package in Tests/Fuzz uses them too).
        .executable(name: "replk-erf", targets: ["replk-erf"]),
        .library(name: "RepLK", targets: ["RepLK"]),
        .library(name: "RepLKEngine", targets: ["RepLKEngine"]),
        .library(name: "RepLKWeights", targets: ["RepLKWeights"]),
        .library(name: "RepLKImaging", targets: ["RepLKImaging"]),
        .library(name: "RepLKDatasets", targets: ["RepLKDatasets"]),
        .library(name: "RepLKEval", targets: ["RepLKEval"]),
        .library(name: "RepLKFormats", targets: ["RepLKFormats"]),
        .library(name: "RepLKRecords", targets: ["RepLKRecords"]),
        .library(name: "RepLKToolSupport", targets: ["RepLKToolSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation --target RepLK` (the DocC catalog in Sources/RepLK).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // C wrappers
        .systemLibrary(name: "RepLKCLibJPEG", path: "Sources/CLibJPEG"),
        .systemLibrary(name: "RepLKCLibPNG", path: "Sources/CLibPNG"),
        .systemLibrary(name: "RepLKCJSONC", path: "Sources/CJSONC"),
        // FreeType, for text in drawings (labels, legends); -I/usr/include/freetype2 from pkg-config.
        .systemLibrary(name: "RepLKCFreeType", path: "Sources/CFreeType", pkgConfig: "freetype2",
                       providers: [.apt(["libfreetype-dev"])]),
        // Header-only: CPU hints (cache prefetches for the GEMM and depth-wise kernels, spin-wait pause for the pool).
        .systemLibrary(name: "RepLKCHints", path: "Sources/CHints"),
        .target(name: "RepLKCCodecs", dependencies: ["RepLKCLibJPEG", "RepLKCLibPNG"], path: "Sources/CCodecs",
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),

        // Engine: threads, kernels over unsafe buffers, tensors and ops (no file I/O)
        .target(name: "RepLKParallel", dependencies: ["RepLKCHints"], path: "Sources/Parallel"),
        .target(name: "RepLKCPUInfo", path: "Sources/CPUInfo"),
        .target(name: "RepLKKernelCore", path: "Sources/KernelCore", linkerSettings: [.linkedLibrary("m")]),
        // bf16 tile kernels in C: each function carries its own `target` attribute (AVX512_BF16), so
        // no global flags; reached only through KernelsV4 where CPUID reports the instructions.
        .target(name: "RepLKCKernelsBF16", path: "Sources/CKernelsBF16"),
        .target(name: "RepLKKernelsV4", dependencies: ["RepLKKernelCore", "RepLKCHints", "RepLKCKernelsBF16"], path: "Sources/KernelsV4", exclude: ["generate_depthwise_tiles.py"],
                swiftSettings: kernelFlags("x86-64-v4", "REPLK_V4")),
        // The same files as KernelsV4 (links), built for AVX2 + FMA.
        .target(name: "RepLKKernelsV3", dependencies: ["RepLKKernelCore", "RepLKCHints"], path: "Sources/KernelsV3",
                swiftSettings: kernelFlags("x86-64-v3", "REPLK_V3")),
        .target(name: "RepLKKernels", dependencies: ["RepLKCPUInfo", "RepLKKernelCore", "RepLKKernelsV3", "RepLKKernelsV4"], path: "Sources/Kernels"),
        .target(name: "RepLKEngine", dependencies: ["RepLKKernels", "RepLKParallel"], path: "Sources/Engine"),

        // Layers (BN folding, convs, linear) → weights (checkpoint formats, binding) → backbone
        .target(name: "RepLKLayers", dependencies: ["RepLKEngine", "RepLKKernels"], path: "Sources/Layers"),
        .target(name: "RepLKWeights", dependencies: ["RepLKLayers"], path: "Sources/Weights"),
        .target(name: "RepLKBackbone", dependencies: ["RepLKEngine", "RepLKKernels", "RepLKLayers", "RepLKWeights"], path: "Sources/Backbone"),

        // Datasets: image codecs and resamplers (no model code)
        .target(name: "RepLKImaging", dependencies: ["RepLKCCodecs", "RepLKCFreeType"], path: "Datasets/Imaging"),

        .target(name: "RepLKDatasets", dependencies: ["RepLKImaging", "RepLKCJSONC", "RepLKFormats"], path: "Datasets/Readers",
                linkerSettings: [.linkedLibrary("json-c")]),

        // Evaluators: pure accumulators
        .target(name: "RepLKEval", dependencies: ["RepLKFormats"], path: "Eval"),
        // Shared formats, a leaf: COCO types (images, annotations, results) and RLE masks.
        .target(name: "RepLKFormats", path: "Sources/Formats"),

        // Task heads
        .target(name: "RepLKClassification", dependencies: ["RepLKBackbone", "RepLKEngine", "RepLKImaging", "RepLKWeights"],
                path: "Tasks/Classification"),

        .target(name: "RepLKSegmentation", dependencies: ["RepLKBackbone", "RepLKEngine", "RepLKImaging", "RepLKLayers", "RepLKWeights"],
                path: "Tasks/Segmentation"),

        .target(name: "RepLKDetection", dependencies: ["RepLKBackbone", "RepLKEngine", "RepLKFormats", "RepLKImaging", "RepLKLayers", "RepLKWeights"],
                path: "Tasks/Detection"),

        // The umbrella module of the RepLK product.
        .target(name: "RepLK", dependencies: ["RepLKBackbone", "RepLKClassification", "RepLKDatasets", "RepLKDetection", "RepLKEngine",
                                       "RepLKERF", "RepLKEval", "RepLKImaging", "RepLKSegmentation", "RepLKWeights"],
                path: "Sources/RepLK"),
        // Effective receptive field: input gradients through the backbone, the official analysis, heatmaps
        .target(name: "RepLKERF", dependencies: ["RepLKBackbone", "RepLKEngine", "RepLKImaging", "RepLKLayers", "RepLKWeights"],
                path: "Tasks/ERF"),

        // The results record the eval tools write and the leaderboard reads, a leaf (Foundation only):
        // its own target rather than in RepLKFormats, so that the board needs nothing else and a change
        // to the record rebuilds neither the readers, evaluators nor task heads that use RepLKFormats.
        .target(name: "RepLKRecords", path: "Sources/Records"),

        // Command-line tools
        .target(name: "RepLKLeaderboard", dependencies: ["RepLKRecords"], path: "Sources/Leaderboard"),
        .target(name: "RepLKToolSupport", dependencies: ["RepLKEngine", "RepLKImaging", "RepLKKernels", "RepLKParallel", "RepLKRecords",
                                             .product(name: "ArgumentParser", package: "swift-argument-parser")],
                path: "Sources/ToolSupport"),
        .executableTarget(name: "replk-cls", dependencies: [
            "RepLKBackbone", "RepLKClassification", "RepLKDatasets", "RepLKEngine", "RepLKEval", "RepLKImaging", "RepLKParallel", "RepLKRecords", "RepLKToolSupport", "RepLKWeights",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-cls"),

        .executableTarget(name: "replk-eval", dependencies: [
            "RepLKDatasets", "RepLKEval", "RepLKImaging", "RepLKToolSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-eval"),

        .executableTarget(name: "replk-seg", dependencies: [
            "RepLKDatasets", "RepLKEngine", "RepLKEval", "RepLKImaging", "RepLKParallel", "RepLKRecords", "RepLKSegmentation", "RepLKToolSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-seg"),

        .executableTarget(name: "replk-det", dependencies: [
            "RepLKDatasets", "RepLKDetection", "RepLKEngine", "RepLKEval", "RepLKImaging", "RepLKParallel", "RepLKRecords", "RepLKToolSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-det"),

        .executableTarget(name: "replk-bench", dependencies: [
            "RepLKBackbone", "RepLKDatasets", "RepLKDetection", "RepLKEngine", "RepLKERF", "RepLKEval", "RepLKImaging", "RepLKKernels", "RepLKParallel", "RepLKSegmentation", "RepLKToolSupport", "RepLKWeights",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-bench", exclude: ["make_coco_bench_case.py"]),

        .executableTarget(name: "replk-board", dependencies: [
            "RepLKLeaderboard", "RepLKToolSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-board"),

        .executableTarget(name: "replk-erf", dependencies: [
            "RepLKDatasets", "RepLKEngine", "RepLKERF", "RepLKImaging", "RepLKToolSupport", "RepLKWeights",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/Tools/replk-erf"),

        // Tests
        .target(name: "TestSupport", dependencies: ["RepLKWeights"], path: "Tests/TestSupport"),
        .testTarget(name: "ToolTests", dependencies: ["replk-cls", "replk-eval", "replk-seg", "replk-det", "replk-board", "replk-bench", "TestSupport", "RepLKWeights"], path: "Tests/ToolTests"),
        .testTarget(name: "EngineTests", dependencies: ["RepLKEngine", "RepLKKernelCore", "RepLKKernels", "RepLKParallel"], path: "Tests/EngineTests"),
        .testTarget(name: "DetectionTests", dependencies: ["RepLKDetection", "RepLKEngine", "RepLKEval", "RepLKImaging", "TestSupport", "RepLKWeights"],
                    path: "Tests/DetectionTests"),
        .testTarget(name: "EvalTests", dependencies: ["RepLKEval", "RepLKDatasets", "TestSupport"], path: "Tests/EvalTests"),
        .testTarget(name: "ImagingTests", dependencies: ["RepLKImaging", "TestSupport", "RepLKWeights"], path: "Tests/ImagingTests"),
        .testTarget(name: "SegmentationTests", dependencies: ["RepLKSegmentation", "RepLKEngine", "RepLKImaging", "TestSupport", "RepLKToolSupport", "RepLKWeights"],
                    path: "Tests/SegmentationTests"),
        .testTarget(name: "LeaderboardTests", dependencies: ["RepLKLeaderboard", "RepLKRecords", "TestSupport", "RepLKToolSupport"], path: "Tests/LeaderboardTests"),
        .testTarget(name: "WeightsTests", dependencies: ["RepLKWeights", "TestSupport"], path: "Tests/WeightsTests"),
        .testTarget(name: "BackboneTests", dependencies: ["RepLKBackbone", "RepLKWeights", "RepLKEngine", "TestSupport"],
                    path: "Tests/BackboneTests"),
        .testTarget(name: "ERFTests", dependencies: ["RepLKERF", "RepLKBackbone", "RepLKEngine", "RepLKImaging", "RepLKLayers", "TestSupport", "RepLKWeights", "replk-erf", "replk-bench"],
                    path: "Tests/ERFTests"),
    ],
    swiftLanguageModes: [.v5]
)
