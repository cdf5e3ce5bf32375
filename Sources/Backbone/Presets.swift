import RepLKWeights

extension RepLKNetConfig {
    /// The released configurations (replknet.md §2).
    public static func preset(_ name: String, numClasses: Int? = 1000, normIntermediateFeatures: Bool = false) -> RepLKNetConfig? {
        let (c, k, small, dw): ([Int], [Int], Int?, Double)
        switch name.lowercased() {
        case "31b", "replknet-31b": (c, k, small, dw) = ([128, 256, 512, 1024], [31, 29, 27, 13], 5, 1)
        case "31l", "replknet-31l": (c, k, small, dw) = ([192, 384, 768, 1536], [31, 29, 27, 13], 5, 1)
        case "xl", "replknet-xl": (c, k, small, dw) = ([256, 512, 1024, 2048], [27, 27, 27, 13], nil, 1.5)
        default: return nil
        }
        return RepLKNetConfig(inChannels: 3, channels: c, layers: [2, 2, 18, 2], largeKernels: k, smallKernel: small,
                              dwChannels: c.map { Int(Double($0) * dw) }, ffnChannels: c.map { 4 * $0 },
                              numClasses: numClasses, headKey: numClasses == nil ? nil : "head",
                              normIntermediateFeatures: normIntermediateFeatures, checkpointMerged: false)
    }

    /// Key names and shapes of the training-time (un-merged) state dict, in PyTorch's order.
    public func stateDictShapes() -> [(key: String, shape: [Int])] {
        var out = [(String, [Int])]()
        func bn(_ p: String, _ n: Int) { for s in ["weight", "bias", "running_mean", "running_var"] { out.append(("\(p).\(s)", [n])) } }
        func convBN(_ p: String, _ o: Int, _ i: Int, _ k: Int) { out.append(("\(p).conv.weight", [o, i, k, k])); bn("\(p).bn", o) }
        let c0 = channels[0]
        convBN("stem.0", c0, inChannels, 3); convBN("stem.1", c0, 1, 3); convBN("stem.2", c0, c0, 1); convBN("stem.3", c0, 1, 3)
        for i in 0..<stageCount {
            let c = channels[i], d = dwChannels[i], f = ffnChannels[i], k = largeKernels[i]
            for j in 0..<layers[i] {
                let p = "stages.\(i).blocks.\(2 * j)"
                convBN("\(p).pw1", d, c, 1); convBN("\(p).pw2", c, d, 1)
                convBN("\(p).large_kernel.lkb_origin", d, 1, k)
                if let s = smallKernel { convBN("\(p).large_kernel.small_conv", d, 1, s) }
                bn("\(p).prelkb_bn", c)
                let q = "stages.\(i).blocks.\(2 * j + 1)"
                bn("\(q).preffn_bn", c); convBN("\(q).pw1", f, c, 1); convBN("\(q).pw2", c, f, 1)
            }
            if normIntermediateFeatures { bn("stages.\(i).norm", c) }
            if i + 1 < stageCount {
                let c1 = channels[i + 1]
                convBN("transitions.\(i).0", c1, c, 1); convBN("transitions.\(i).1", c1, 1, 3)
            }
        }
        if let n = numClasses {
            bn("norm", channels.last!)
            out.append(("head.weight", [n, channels.last!])); out.append(("head.bias", [n]))
        }
        return out
    }
}

/// Deterministic random weights for a list of keys and shapes: variance-preserving conv/linear
/// weights (residual branches damped so deep stacks stay finite), identity-like BatchNorms.
package func randomStateDict(_ shapes: [(key: String, shape: [Int])], prefix: String = "", seed: UInt64 = 1) -> StateDict {
    var state = seed &* 0x9E3779B97F4A7C15 | 1
    func next() -> Float {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Float(state >> 40) / Float(1 << 24) * 2 - 1
    }
    var sd = StateDict()
    for (key, shape) in shapes {
        let n = shape.reduce(1, *)
        var v = [Float](repeating: 0, count: n)
        if key.hasSuffix("running_var") || (key.hasSuffix(".weight") && shape.count == 1) {
            for i in 0..<n { v[i] = 1 + 0.05 * next() }
        } else if key.hasSuffix("running_mean") || key.hasSuffix(".bias") {
            for i in 0..<n { v[i] = 0.01 * next() }
        } else {
            let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            var scale = (3 / Float(fanIn)).squareRoot()
            if key.contains(".pw2.") { scale *= 0.1 }
            for i in 0..<n { v[i] = scale * next() }
        }
        sd.insert(prefix + key, WeightTensor(shape: shape, values: v))
    }
    return sd
}
