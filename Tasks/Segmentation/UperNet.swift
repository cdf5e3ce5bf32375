import RepLKEngine
import RepLKLayers
import RepLKWeights

/// mmsegmentation's `UPerHead`: a pyramid pooling module on the last feature map, an FPN-style
/// top-down path, fusion of all levels, and a 1×1 classifier at stride 4 (upernet.md §2.1).
public final class UperNetHead {
    /// Width of the head's internal feature maps (mmseg's `channels`), read off the checkpoint's shapes.
    public let channels: Int
    /// Number of classes the classifier predicts.
    public let numClasses: Int
    /// Output sizes of the pyramid pooling module's adaptive average pools (mmseg's `pool_scales`).
    public let poolScales: [Int]
    /// The `align_corners` of the head's bilinear resizes and of the logits' upsampling to the input size.
    public let alignCorners: Bool
    private let lateral: [Conv2d]
    private let ppm: [Conv2d]
    private let bottleneck: Conv2d
    private let fpn: [Conv2d]
    private let fpnBottleneck: Conv2d
    private let classifier: Conv2d
    /// The pool of the ops between the convs (resizes, sums, concatenations): the configuration's.
    private let pool: ThreadPool

    /// Builds the head from `decode_head.*` keys (prefix removed); widths and class count come from
    /// the tensor shapes, `inChannels` from the backbone; `engine` (default `EngineConfiguration()`)
    /// says how its convs and ops run.
    public init(binder b: WeightBinder, inChannels: [Int], alignCorners: Bool, poolScales: [Int] = [1, 2, 3, 6],
                engine: EngineConfiguration = EngineConfiguration()) throws {
        pool = engine.pool
        let seg = try b.requireShape("conv_seg.weight", rank: 4)
        numClasses = seg[0]
        channels = seg[1]
        self.alignCorners = alignCorners
        let c = channels
        var modules = 0
        while b.contains("psp_modules.\(modules).1.conv.weight") { modules += 1 }
        guard modules == poolScales.count else {
            throw WeightsError.invalidModel(file: b.file, detail: "decode_head has \(modules) pyramid pooling branches; expected \(poolScales.count) (scales \(poolScales))")
        }
        self.poolScales = poolScales
        func convModule(_ p: String, out: Int, in cin: Int, k: Int) throws -> Conv2d {
            Conv2d(weight: try b.floats(p + ".conv.weight", shape: [out, cin, k, k]), bias: nil, outChannels: out, inChannels: cin,
                   kernelSize: (k, k), padding: (k / 2, k / 2), norm: try b.batchNorm(p + ".bn", channels: out), engine: engine)
        }
        let levels = inChannels.count
        lateral = try (0..<(levels - 1)).map { try convModule("lateral_convs.\($0)", out: c, in: inChannels[$0], k: 1) }
        ppm = try (0..<modules).map { try convModule("psp_modules.\($0).1", out: c, in: inChannels[levels - 1], k: 1) }
        bottleneck = try convModule("bottleneck", out: c, in: inChannels[levels - 1] + modules * c, k: 3)
        fpn = try (0..<(levels - 1)).map { try convModule("fpn_convs.\($0)", out: c, in: c, k: 3) }
        fpnBottleneck = try convModule("fpn_bottleneck", out: c, in: levels * c, k: 3)
        classifier = Conv2d(weight: try b.floats("conv_seg.weight", shape: [numClasses, c, 1, 1]),
                            bias: try b.floats("conv_seg.bias", shape: [numClasses]), outChannels: numClasses, inChannels: c,
                            kernelSize: (1, 1), engine: engine)
    }

    /// Logits [N, H/4, W/4, classes] from the backbone's four feature maps.
    public func callAsFunction(_ features: [Tensor]) -> Tensor {
        precondition(features.count == lateral.count + 1, "UperNet expects \(lateral.count + 1) feature maps")
        let top = features[features.count - 1]
        // Pyramid pooling on the last map, each branch upsampled back to it.
        var psp = [top]
        for (s, conv) in zip(poolScales, ppm) {
            let pooled = conv(adaptiveAvgPool(top, height: s, width: s), activation: .relu)
            psp.append(resizeBilinear(pooled, height: top.height, width: top.width, alignCorners: alignCorners, pool: pool))
        }
        var laterals = zip(lateral, features).map { $0($1, activation: .relu) }
        laterals.append(bottleneck(concatChannels(psp, pool: pool), activation: .relu))
        // Top-down: each level receives the already-updated level above it.
        for i in stride(from: laterals.count - 1, to: 0, by: -1) {
            let below = laterals[i - 1]
            laterals[i - 1] = add(below, resizeBilinear(laterals[i], height: below.height, width: below.width, alignCorners: alignCorners,
                                                        pool: pool), pool: pool)
        }
        var outs = zip(fpn, laterals).map { $0($1, activation: .relu) }
        outs.append(laterals[laterals.count - 1])
        let size = (outs[0].height, outs[0].width)
        for i in 1..<outs.count {
            outs[i] = resizeBilinear(outs[i], height: size.0, width: size.1, alignCorners: alignCorners, pool: pool)
        }
        return classifier(fpnBottleneck(concatChannels(outs, pool: pool), activation: .relu))
    }
}

extension UperNetHead {
    /// mmseg checkpoint keys and shapes of a UperNet decode head (and its FCN auxiliary head).
    public static func stateDictShapes(inChannels: [Int], channels c: Int = 512, classes n: Int,
                                       poolScales: Int = 4, auxChannels: Int? = 256) -> [(key: String, shape: [Int])] {
        var out = [(String, [Int])]()
        func module(_ p: String, _ o: Int, _ i: Int, _ k: Int) {
            out.append(("\(p).conv.weight", [o, i, k, k]))
            for s in ["weight", "bias", "running_mean", "running_var"] { out.append(("\(p).bn.\(s)", [o])) }
        }
        out.append(("decode_head.conv_seg.weight", [n, c, 1, 1])); out.append(("decode_head.conv_seg.bias", [n]))
        for s in 0..<poolScales { module("decode_head.psp_modules.\(s).1", c, inChannels.last!, 1) }
        module("decode_head.bottleneck", c, inChannels.last! + poolScales * c, 3)
        for i in 0..<(inChannels.count - 1) { module("decode_head.lateral_convs.\(i)", c, inChannels[i], 1) }
        for i in 0..<(inChannels.count - 1) { module("decode_head.fpn_convs.\(i)", c, c, 3) }
        module("decode_head.fpn_bottleneck", c, inChannels.count * c, 3)
        if let a = auxChannels {
            module("auxiliary_head.convs.0", a, inChannels[inChannels.count - 2], 3)
            out.append(("auxiliary_head.conv_seg.weight", [n, a, 1, 1])); out.append(("auxiliary_head.conv_seg.bias", [n]))
        }
        return out
    }
}
