import ArgumentParser
import RepLKEngine
import RepLKEval
import RepLKKernels
import Foundation
import RepLKToolSupport

// The bench commands' typed option values and their range checks: every number is checked at
// parse time, so that none traps, loops, or asks for more memory than a machine has.

/// `model`'s argument: the full-size models it builds.
enum BenchModel: String, ExpressibleByArgument, CaseIterable {
    case replknet31b = "replknet-31b", replknet31l = "replknet-31l", replknetXL = "replknet-xl"
    case upernet31b = "upernet-31b", cascade31b = "cascade-31b"
}

/// `random-checkpoint`'s argument: the released classifier configurations.
enum ClassifierPreset: String, ExpressibleByArgument, CaseIterable {
    case replknet31b = "replknet-31b", replknet31l = "replknet-31l", replknetXL = "replknet-xl"
}

/// `--iou-type` of `coco-eval`.
enum IoUType: String, ExpressibleByArgument, CaseIterable {
    case bbox, segm
    var coco: COCOIoUType { self == .bbox ? .bbox : .segm }
}

/// `gemm --activation`: the epilogues a 1×1 conv fuses.
enum EpilogueActivation: String, ExpressibleByArgument, CaseIterable {
    case none, relu, gelu
    var engine: Activation {
        switch self {
        case .none: return .none
        case .relu: return .relu
        case .gelu: return .gelu
        }
    }
}

/// `--shapes` of `gemm` and `conv3x3`: comma-separated SIDExCINxCOUT (a SIDE×SIDE map, input and
/// output channels), each side and channel count within limits that fit in memory.
struct ConvShapes: ExpressibleByArgument {
    var values: [(Int, Int, Int)]

    init?(argument: String) {
        var v = [(Int, Int, Int)]()
        for item in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let d = item.trimmingCharacters(in: .whitespaces).split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard d.count == 3, let r = d[0], let cin = d[1], let cout = d[2],
                  OptionLimits.imageSide.contains(r), (1...65536).contains(cin), (1...65536).contains(cout),
                  r * r * max(cin, cout) <= benchMaxElements, 9 * cin * cout <= benchMaxElements else { return nil }
            v.append((r, cin, cout))
        }
        values = v
    }

    var defaultValueDescription: String { values.map { "\($0.0)x\($0.1)x\($0.2)" }.joined(separator: ",") }
}

/// The most floats one bench tensor may hold (1 GiB).
let benchMaxElements = 1 << 28

extension CommonOptions {
    func validate() throws {
        requirePrecision(precision, tool: "replk-bench")
        try checkThreads(threadsOption)
        try checkOption("--repeat", repeats, in: 1...100_000)
        try checkOption("--rounds", rounds, in: 1...10_000)
    }
}

extension DWConv {
    func validate() throws {
        try checkOption("--channels", channels, in: 1...65536)
        try checkOption("--size", size, in: OptionLimits.imageSide)
        try checkOption("--kernel", kernel, in: 1...255)
        guard kernel % 2 == 1 else { throw ValidationError("--kernel must be odd (a same-size conv), not \(kernel)") }
        try checkOption("--depth", depth, in: 1...4096)
        try checkOption("--batch", batch, in: 1...1024)
        guard batch * size * size * channels <= benchMaxElements else {
            throw ValidationError("--batch × --size² × --channels must be at most \(benchMaxElements) (1 GiB of floats), not \(batch * size * size * channels)")
        }
        guard depth * channels * kernel * kernel <= benchMaxElements else {
            throw ValidationError("--depth × --channels × --kernel² must be at most \(benchMaxElements) (1 GiB of weights), not \(depth * channels * kernel * kernel)")
        }
    }
}

extension Table1 {
    func validate() throws {
        try checkOption("--kernels", kernels, in: 1...255, form: "comma-separated odd kernel sizes, e.g. 3,7,31")
        if let even = kernels.values.first(where: { $0 % 2 == 0 }) { throw ValidationError("--kernels: each must be odd (a same-size conv), not \(even)") }
        try checkOption("--sizes", sizes, in: 1...512, form: "comma-separated map sizes, e.g. 16,32,64")
    }
}

extension Model {
    func validate() throws {
        try checkOption("--size", size, in: OptionLimits.imageSide)
        try checkOption("--height", height, in: OptionLimits.imageSide)
        try checkOption("--width", width, in: OptionLimits.imageSide)
        try checkOption("--batch", batch, in: 1...1024)
        let side = size ?? 512
        let pixels = batch * (height ?? side) * (width ?? side)
        guard pixels <= 1 << 24 else {
            throw ValidationError("--batch × height × width must be at most \(1 << 24) pixels (a 4096² image), not \(pixels)")
        }
    }
}
