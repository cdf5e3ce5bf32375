// swift-tools-version:6.0
// libFuzzer targets for RepLK's parsers: a package of its own, so that the root package's
// `swift build` / `swift test` never see the sanitizer flags or the fuzz entry points. Build and run
// them with ./run.sh (swift build -c release --sanitize=fuzzer --sanitize=address in Tests/Fuzz).
import PackageDescription

let fuzzers: [(name: String, deps: [String])] = [
    ("fuzz-pth", ["RepLKWeights"]),            // torch.save zip (.pth) + the pickle inside; raw pickles
    ("fuzz-legacy-pth", ["RepLKWeights"]),     // pre-1.6 torch.save (legacy pickle stream + storages)
    ("fuzz-safetensors", ["RepLKWeights"]),
    ("fuzz-npy", ["RepLKWeights"]),
    ("fuzz-coco-gt", ["RepLKDatasets", "RepLKEval"]),       // JSON / COCO annotations, then evaluation
    ("fuzz-coco-results", ["RepLKDatasets", "RepLKEval"]),  // detections JSON against a fixed ground truth
    ("fuzz-rle", ["RepLKEval"]),               // compressed RLE counts strings and polygons / boxes
    ("fuzz-png", ["RepLKImaging"]),            // RGB decode, label maps, 16-bit maps
    ("fuzz-jpeg", ["RepLKImaging"]),
    ("fuzz-journal", ["RepLKToolSupport"]),    // resume journals, with the tools' line decoders
]

let package = Package(
    name: "RepLKFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "RepLK", path: "../..")],
    targets: fuzzers.map { f in
        .executableTarget(name: f.name, dependencies: f.deps.map { .product(name: $0, package: "RepLK") },
                          path: "Sources/\(f.name)")
    },
    swiftLanguageModes: [.v5]
)
