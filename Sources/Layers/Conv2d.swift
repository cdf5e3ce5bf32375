import RepLKEngine
import RepLKKernels

/// A PyTorch `Conv2d` with an optional BatchNorm, either folded into the weights (the fast
/// inference form) or applied as a separate per-channel affine op (the verification form).
public struct Conv2d {
    /// The convolution, with the BatchNorm folded in when `foldNorm` was true.
    public let kernel: ConvKernel
    /// Un-folded BN applied after the conv, as (scale, shift).
    public let separateNorm: (scale: [Float], shift: [Float])?

    /// Prepares the conv from PyTorch weights and, if given, the BatchNorm that follows it.
    ///
    /// - Parameters:
    ///   - weight: PyTorch layout (out, in/groups, kH, kW).
    ///   - bias: One value per output channel, or `nil` for none.
    ///   - outChannels: Number of output channels.
    ///   - inChannels: Number of input channels.
    ///   - kernelSize: Kernel (height, width).
    ///   - stride: (vertical, horizontal) stride; default (1, 1).
    ///   - padding: Zero padding (top and bottom, left and right) in pixels; default (0, 0).
    ///   - dilation: (vertical, horizontal) dilation; default (1, 1).
    ///   - groups: Number of channel groups; `groups == inChannels == outChannels` is depth-wise.
    ///   - norm: The BatchNorm that follows the conv, if any.
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

    /// Number of output channels.
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

    /// Whether this conv can pass its output to the next in bf16 and take its input in bf16: a
    /// bf16 1×1 or stride-1 depth-wise conv with its norm folded (`ConvKernel.exchangesBF16`).
    public var exchangesBF16: Bool { separateNorm == nil && kernel.exchangesBF16 }

    /// act(conv(x)) rounded to bf16, for a map that only feeds bf16 convs (the same results as
    /// the float32 map). Requires `exchangesBF16`.
    public func bf16Output(_ x: Tensor, activation: Activation = .none) -> BF16Activations {
        precondition(exchangesBF16, "bf16 output needs a bf16 1×1 or depth-wise conv with its norm folded")
        return kernel.bf16Output(x, activation: activation)
    }

    /// act(conv(x)) from bf16 activations, left in bf16. Requires `exchangesBF16`.
    public func bf16Output(_ x: BF16Activations, activation: Activation = .none) -> BF16Activations {
        precondition(exchangesBF16, "bf16 output needs a bf16 1×1 or depth-wise conv with its norm folded")
        return kernel.bf16Output(x, activation: activation)
    }

    /// act(conv(x)) + residual from bf16 activations. Requires `exchangesBF16`.
    public func callAsFunction(_ x: BF16Activations, activation: Activation = .none, residual: Tensor? = nil) -> Tensor {
        precondition(exchangesBF16, "bf16 input needs a bf16 1×1 or depth-wise conv with its norm folded")
        return kernel(x, activation: activation, residual: residual)
    }
}

/// A PyTorch `Linear` (y = x·Wᵀ + b) over [N, in] inputs, run as a 1×1 conv.
public struct Linear {
    /// The 1×1 convolution that computes the product.
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

    /// Number of output features.
    public var outFeatures: Int { kernel.outChannels }

    /// [N, in] → [N, out].
    public func callAsFunction(_ x: Tensor, activation: Activation = .none) -> Tensor {
        precondition(x.rank == 2, "Linear expects [N, features], got \(x.shape)")
        let y = kernel(x.reshaped([x.shape[0], 1, 1, x.shape[1]]), activation: activation)
        return y.reshaped([x.shape[0], kernel.outChannels])
    }
}
