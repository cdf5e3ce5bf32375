/// BatchNorm statistics at inference: y = (x − mean) / √(var + eps) · weight + bias.
public struct BatchNorm {
    /// Per-channel scale γ (PyTorch's `weight`).
    public var weight: [Float]
    /// Per-channel shift β (PyTorch's `bias`).
    public var bias: [Float]
    /// Per-channel running mean μ (PyTorch's `running_mean`).
    public var runningMean: [Float]
    /// Per-channel running variance σ² (PyTorch's `running_var`).
    public var runningVar: [Float]
    /// Added to the variance before the square root (PyTorch's default 1e-5).
    public var eps: Float

    /// Creates inference-time BatchNorm statistics; the four vectors must have one value per channel
    /// (the initializer traps when their lengths differ).
    ///
    /// - Parameters:
    ///   - weight: Per-channel scale γ.
    ///   - bias: Per-channel shift β.
    ///   - runningMean: Per-channel running mean μ.
    ///   - runningVar: Per-channel running variance σ².
    ///   - eps: Added to the variance before the square root; default 1e-5 as in PyTorch.
    public init(weight: [Float], bias: [Float], runningMean: [Float], runningVar: [Float], eps: Float = 1e-5) {
        precondition(weight.count == bias.count && bias.count == runningMean.count && runningMean.count == runningVar.count,
                     "BatchNorm vectors differ in length")
        self.weight = weight; self.bias = bias; self.runningMean = runningMean; self.runningVar = runningVar; self.eps = eps
    }

    /// Number of channels (the length of each vector).
    public var channels: Int { weight.count }

    /// Per-channel scale t = weight / √(var + eps).
    public var scale: [Float] {
        (0..<channels).map { Float(Double(weight[$0]) / (Double(runningVar[$0]) + Double(eps)).squareRoot()) }
    }

    /// Per-channel shift bias − mean·t, so that BN(x) = x·scale + shift.
    public var shift: [Float] {
        (0..<channels).map {
            let t = Double(weight[$0]) / (Double(runningVar[$0]) + Double(eps)).squareRoot()
            return Float(Double(bias[$0]) - Double(runningMean[$0]) * t)
        }
    }
}

/// Folds a BatchNorm that follows a conv into the conv: W' = W·t (per output channel), b' = β + (b − μ)·t.
/// `weight` is PyTorch-layout (out, in/groups, kH, kW).
public func foldBatchNorm(weight: [Float], bias: [Float]?, into bn: BatchNorm) -> (weight: [Float], bias: [Float]) {
    let out = bn.channels
    precondition(weight.count % out == 0, "conv weight does not split into \(out) output channels")
    let per = weight.count / out
    var w = weight
    var b = [Float](repeating: 0, count: out)
    for o in 0..<out {
        let t = Double(bn.weight[o]) / (Double(bn.runningVar[o]) + Double(bn.eps)).squareRoot()
        for i in 0..<per { w[o * per + i] = Float(Double(weight[o * per + i]) * t) }
        let b0 = Double(bias?[o] ?? 0)
        b[o] = Float(Double(bn.bias[o]) + (b0 - Double(bn.runningMean[o])) * t)
    }
    return (w, b)
}

/// Zero-pads a (C, 1, k, k) depth-wise kernel to (C, 1, K, K), centred (the 5×5 → 31×31 merge).
public func padKernel(_ small: [Float], channels: Int, from k: Int, to big: Int) -> [Float] {
    precondition(big >= k && (big - k) % 2 == 0, "cannot centre a \(k)×\(k) kernel in \(big)×\(big)")
    precondition(small.count == channels * k * k, "kernel has \(small.count) values, expected \(channels * k * k)")
    let off = (big - k) / 2
    var out = [Float](repeating: 0, count: channels * big * big)
    for c in 0..<channels {
        for y in 0..<k {
            for x in 0..<k { out[(c * big + y + off) * big + x + off] = small[(c * k + y) * k + x] }
        }
    }
    return out
}

/// Folds a per-input-channel affine map (a pre-norm BN: x·scale + shift) into the 1×1 conv that
/// consumes it: W'[o,i] = W[o,i]·scale[i], b'[o] = b[o] + Σᵢ W[o,i]·shift[i]. Valid only for
/// unpadded 1×1 convs, where every output sees every transformed input.
public func foldInputAffine(weight: [Float], bias: [Float]?, outChannels: Int, inChannels: Int,
                            scale: [Float], shift: [Float]) -> (weight: [Float], bias: [Float]) {
    precondition(weight.count == outChannels * inChannels, "foldInputAffine needs a 1×1 dense conv")
    var w = weight
    var b = [Float](repeating: 0, count: outChannels)
    for o in 0..<outChannels {
        var acc = Double(bias?[o] ?? 0)
        for i in 0..<inChannels {
            let v = weight[o * inChannels + i]
            w[o * inChannels + i] = v * scale[i]
            acc += Double(v) * Double(shift[i])
        }
        b[o] = Float(acc)
    }
    return (w, b)
}

/// RepLKNet's structural re-parameterisation of one large-kernel block: the `kernel × kernel`
/// depth-wise conv and its BN folded into one conv, then the small branch (weight, BN, side), when
/// there is one, folded likewise, centred inside the large kernel and added, biases summed. The
/// merge `structural_reparam()` writes as `lkb_reparam`.
public func mergeLargeKernel(_ large: [Float], norm: BatchNorm, small: (weight: [Float], norm: BatchNorm, size: Int)?,
                             channels d: Int, kernel k: Int) -> (weight: [Float], bias: [Float]) {
    var (w, bias) = foldBatchNorm(weight: large, bias: nil, into: norm)
    if let small {
        let (fs, bs) = foldBatchNorm(weight: small.weight, bias: nil, into: small.norm)
        let padded = padKernel(fs, channels: d, from: small.size, to: k)
        for i in 0..<w.count { w[i] += padded[i] }
        for i in 0..<d { bias[i] += bs[i] }
    }
    return (w, bias)
}
