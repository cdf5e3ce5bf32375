#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RepLKEngine
import RepLKImaging

/// The official `erf/visualize_erf.py` transform: `Resize((S, S), bicubic)` (Pillow's), ToTensor,
/// Normalize with the ImageNet mean and std.
public struct ERFPreprocess: Sendable {
    /// S: the side of the square the image is resized to.
    public var inputSize: Int
    /// ImageNet mean and std (on the 0–1 scale).
    public var mean: [Float] = [0.485, 0.456, 0.406]
    /// The ImageNet per-channel RGB standard deviation on the 0–1 scale: input = (pixel / 255 − mean) / std.
    public var std: [Float] = [0.229, 0.224, 0.225]

    /// The transform at side `inputSize` (1024 in the official script).
    public init(inputSize: Int) { self.inputSize = inputSize }

    /// The network input [1, S, S, 3] (NHWC) of an RGB image.
    public func callAsFunction(_ image: Image) -> Tensor {
        let s = inputSize
        let values = image.resizedPIL(width: s, height: s, filter: .bicubic).normalizedTorchvision(mean: mean, std: std)
        return Tensor(shape: [1, s, s, 3], values: values)
    }
}

extension ERFModel {
    /// One input's contribution map as `get_input_grad` computes it: the input gradient of the
    /// score, ReLU, summed over the batch and the channels → H × W values (row-major).
    public func contributionMap(_ x: Tensor) -> [Float] {
        let g = inputGradient(x)
        let (n, h, w, c) = (g.batch, g.height, g.width, g.channels)
        var map = [Float](repeating: 0, count: h * w)
        let gp = g.storage.pointer
        for b in 0..<n {
            for p in 0..<(h * w) {
                let px = gp + (b * h * w + p) * c
                var s = map[p]
                for ch in 0..<c { s += max(px[ch], 0) }
                map[p] = s
            }
        }
        return map
    }
}

/// The official loop's `AverageMeter` over the per-image maps: a float32 running sum in image
/// order, divided by the count; a map holding NaN is skipped (`got NAN, next image`).
public struct ERFAccumulator {
    /// The maps' size.
    public let height: Int, width: Int
    /// The float32 running sum of the maps added so far.
    public private(set) var sum: [Float]
    /// Maps added (NaN maps are not counted).
    public private(set) var count = 0

    /// An empty meter for H × W maps.
    public init(height: Int, width: Int) {
        self.height = height; self.width = width
        sum = [Float](repeating: 0, count: height * width)
    }

    /// Adds one map; false (and nothing added) when it holds NaN.
    @discardableResult
    public mutating func add(_ map: [Float]) -> Bool {
        precondition(map.count == sum.count, "map has \(map.count) values, expected \(height)×\(width)")
        if map.contains(where: { $0.isNaN }) { return false }
        for i in 0..<sum.count { sum[i] += map[i] }
        count += 1
        return true
    }

    /// sum / count in float32 (empty when nothing was added).
    public var mean: [Float] {
        guard count > 0 else { return [] }
        let n = Float(count)
        return sum.map { $0 / n }
    }
}

/// One row of the high-contribution area ratio table.
public struct ERFAreaRatio: Equatable, Sendable {
    /// The share of the total the square must exceed.
    public var thresh: Double
    /// Side of the smallest centred square holding more than `thresh` of the total, or nil when no
    /// square smaller than the map does (the official script then fails).
    public var side: Int?
    /// side² / (H·W), as Python computes `(side / h) * side / w`.
    public var areaRatio: Double?
}

/// `erf/analyze_erf.py`.
public enum ERFAnalysis {
    /// The official thresholds.
    public static let thresholds: [Double] = [0.2, 0.3, 0.5, 0.99]

    /// log10(map + 1) / max, in float32 (the map the ratios and the heatmap use). A map whose
    /// maximum is 0 stays 0.
    public static func normalised(_ map: [Float]) -> [Float] {
        let logs = map.map { log10f($0 + 1) }
        let m = logs.max() ?? 0
        guard m > 0 else { return logs.map { _ in 0 } }
        return logs.map { $0 / m }
    }

    /// `get_rectangle` for each threshold on the normalised map: the smallest i in 1..<H/2 whose
    /// centred (2i+1)² square sums to more than thresh × total.
    public static func areaRatios(normalised data: [Float], height h: Int, width w: Int,
                                  thresholds: [Double] = ERFAnalysis.thresholds) -> [ERFAreaRatio] {
        precondition(data.count == h * w, "map has \(data.count) values, expected \(h)×\(w)")
        let total = data.reduce(0.0) { $0 + Double($1) }
        // A summed-area table in float64 gives each centred square's sum in O(1).
        var table = [Double](repeating: 0, count: (h + 1) * (w + 1))
        for y in 0..<h {
            var row = 0.0
            for x in 0..<w {
                row += Double(data[y * w + x])
                table[(y + 1) * (w + 1) + x + 1] = table[y * (w + 1) + x + 1] + row
            }
        }
        func boxSum(_ y0: Int, _ y1: Int, _ x0: Int, _ x1: Int) -> Double {   // rows y0..<y1, columns x0..<x1
            table[y1 * (w + 1) + x1] - table[y0 * (w + 1) + x1] - table[y1 * (w + 1) + x0] + table[y0 * (w + 1) + x0]
        }
        var sums = [Double]()
        let cy = h / 2, cx = w / 2
        for i in stride(from: 1, to: h / 2, by: 1) {
            // numpy slicing clips at the far edges (a square wider than a non-square map).
            sums.append(boxSum(max(0, cy - i), min(h, cy + i + 1), max(0, cx - i), min(w, cx + i + 1)))
        }
        return thresholds.map { t in
            for (j, s) in sums.enumerated() where s / total > t {
                let i = j + 1, side = 2 * i + 1
                return ERFAreaRatio(thresh: t, side: side, areaRatio: Double(side) / Double(h) * Double(side) / Double(w))
            }
            return ERFAreaRatio(thresh: t, side: nil, areaRatio: nil)
        }
    }
}
