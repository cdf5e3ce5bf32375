import RepLKEngine
import RepLKKernels

/// A PyTorch `Conv2d` with an optional BatchNorm, either folded into the weights (the fast
/// inference form) or applied as a separate per-channel affine op (the verification form).
public struct Conv2d {
    public let kernel: ConvKernel
    /// Un-folded BN applied after the conv, as (scale, shift).
    public let separateNorm: (scale: [Float], shift: [Float])?

    /// - Parameters:
    ///   - weight: PyTorch layout (out, in/groups, kH, kW).
    ///   - foldNorm: fold `norm` into the weights (true) or run it as its own op (false).
    ///   - engine: how the conv runs (`ConvKernel`'s; default `EngineConfiguration()`); its pool
    ///     also runs the separate norm.
    public init(weight: [Float], bias: [Float]?, outChannels: Int, inChannels: Int, kernelSize: (Int, Int),
                stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1),
                groups: Int = 1, norm: BatchNorm? = nil, foldNorm: Bool = true,
                engine: EngineConfiguration = EngineConfiguration()) {
        var w = weight, b = bias
        var separate: (scale: [Float], shift: [Float])?
        if let norm {
            if foldNorm {
                (w, b) = foldBatchNorm(weight: weight, bias: bias, into: norm)
            } else {
                separate = (norm.scale, norm.shift)
            }
        }
        kernel = w.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: b, outChannels: outChannels, inChannels: inChannels,
                       kernelH: kernelSize.0, kernelW: kernelSize.1, stride: stride, padding: padding,
                       dilation: dilation, groups: groups, engine: engine)
        }
        separateNorm = separate
    }

    public var outChannels: Int { kernel.outChannels }

    /// act(norm(conv(x))) + residual, on the conv's pool.
    public func callAsFunction(_ x: Tensor, activation: Activation = .none, residual: Tensor? = nil) -> Tensor {
        guard let n = separateNorm else { return kernel(x, activation: activation, residual: residual) }
        let pool = kernel.pool
        var y = channelAffine(kernel(x), scale: n.scale, shift: n.shift, pool: pool)
        y = activate(y, activation, pool: pool)
        if let residual { y = add(y, residual, pool: pool) }
        return y
    }
}

/// A PyTorch `Linear` (y = x·Wᵀ + b) over [N, in] inputs, run as a 1×1 conv.
public struct Linear {
    public let kernel: ConvKernel

    /// `weight` is (out, in) as PyTorch stores it; `engine` says how it runs (`ConvKernel`'s;
    /// default `EngineConfiguration()`).
    public init(weight: [Float], bias: [Float]?, outFeatures: Int, inFeatures: Int,
                engine: EngineConfiguration = EngineConfiguration()) {
        kernel = weight.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: bias, outChannels: outFeatures, inChannels: inFeatures, kernelH: 1, kernelW: 1,
                       engine: engine)
        }
    }

    public var outFeatures: Int { kernel.outChannels }

    /// [N, in] → [N, out].
    public func callAsFunction(_ x: Tensor, activation: Activation = .none) -> Tensor {
        precondition(x.rank == 2, "Linear expects [N, features], got \(x.shape)")
        let y = kernel(x.reshaped([x.shape[0], 1, 1, x.shape[1]]), activation: activation)
        return y.reshaped([x.shape[0], kernel.outChannels])
    }
}
