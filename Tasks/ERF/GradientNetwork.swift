import RepLKBackbone
import RepLKEngine
import RepLKLayers
import RepLKWeights

/// The activation after a conv (and its norm) on the gradient path.
public enum GradActivation: Sendable { case none, relu, gelu }

/// A conv (padding k/2), its BatchNorm (folded into the weights or kept as a per-channel affine),
/// and an activation, with what its input gradient needs: the engine's forward kernel, and a backward one
/// built from the same effective weights.
public final class GradConv {
    enum Backward {
        /// 1×1 conv: a 1×1 conv with the transposed weight (the packed GEMM).
        case pointwise(ConvKernel)
        /// Stride-1 depth-wise "same" conv: the depth-wise conv with the flipped kernel.
        case depthwiseFlipped(ConvKernel)
        /// Strided depth-wise conv: `depthwiseConvBackwardInput` on the (C, k, k) weight.
        case depthwiseStrided(weight: [Float], channels: Int, kernel: Int, stride: Int, padding: Int)
        /// Dense k×k conv: a GEMM to per-pixel columns, then `col2imBackwardInput`.
        case dense(columns: ConvKernel, inChannels: Int, kernel: Int, stride: Int, padding: Int)
    }

    let kernel: ConvKernel
    let norm: (scale: [Float], shift: [Float])?
    let activation: GradActivation
    let backwardOp: Backward
    /// The pool of its convs and element-wise ops: the configuration's.
    let pool: ThreadPool

    /// - Parameters:
    ///   - weight: (out, in/groups, k, k), before any BN folding.
    ///   - out: output channels.
    ///   - cin: input channels.
    ///   - k: the side of the square kernel (padding k/2).
    ///   - stride: the stride in both directions.
    ///   - groups: 1 for a dense conv, or `out` (= `cin`) for a depth-wise one; nothing else is supported.
    ///   - bias: the conv's bias, one per output channel, or nil.
    ///   - bn: the conv's BatchNorm: folded into the weight when `fold`, else kept as an affine op.
    ///   - fold: fold `bn` into the weights (true) or run it as its own op (false).
    ///   - inputAffine: a pre-norm folded into this 1×1 conv (only with `fold`).
    ///   - activation: the activation after the conv and its norm.
    ///   - engine: how the forward and backward convs and the element-wise ops run (default
    ///     `EngineConfiguration()`).
    public init(weight: [Float], out: Int, in cin: Int, k: Int, stride: Int = 1, groups: Int = 1, bias: [Float]? = nil,
         bn: BatchNorm?, fold: Bool, inputAffine: BatchNorm? = nil, activation: GradActivation,
         engine: EngineConfiguration = EngineConfiguration()) {
        pool = engine.pool
        var w = weight, b = bias
        if let pre = inputAffine {
            (w, b) = foldInputAffine(weight: w, bias: b, outChannels: out, inChannels: cin, scale: pre.scale, shift: pre.shift)
        }
        var separate: (scale: [Float], shift: [Float])?
        if let bn {
            if fold { (w, b) = foldBatchNorm(weight: w, bias: b, into: bn) } else { separate = (bn.scale, bn.shift) }
        }
        let p = k / 2
        kernel = w.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: b, outChannels: out, inChannels: cin, kernelH: k, kernelW: k,
                       stride: (stride, stride), padding: (p, p), groups: groups, engine: engine)
        }
        norm = separate
        self.activation = activation
        if groups == 1 && k == 1 && stride == 1 {
            let t = transposedWeight(w, out: out, in: cin)
            backwardOp = .pointwise(t.withUnsafeBufferPointer {
                ConvKernel(weightOIHW: $0, bias: nil, outChannels: cin, inChannels: out, kernelH: 1, kernelW: 1, engine: engine)
            })
        } else if groups == 1 {
            let cols = columnsWeight(w, out: out, in: cin, kernel: k)
            backwardOp = .dense(columns: cols.withUnsafeBufferPointer {
                ConvKernel(weightOIHW: $0, bias: nil, outChannels: cin * k * k, inChannels: out, kernelH: 1, kernelW: 1,
                           engine: engine)
            }, inChannels: cin, kernel: k, stride: stride, padding: p)
        } else {
            precondition(groups == out && groups == cin, "only dense and depth-wise convs are on the backbone's path")
            if stride == 1 {
                let f = flippedDepthwiseWeight(w, channels: out, kernel: k)
                backwardOp = .depthwiseFlipped(f.withUnsafeBufferPointer {
                    ConvKernel(weightOIHW: $0, bias: nil, outChannels: out, inChannels: out, kernelH: k, kernelW: k,
                               padding: (p, p), groups: out, engine: engine)
                })
            } else {
                backwardOp = .depthwiseStrided(weight: w, channels: out, kernel: k, stride: stride, padding: p)
            }
        }
    }

    /// What the backward needs of one forward call.
    public struct Saved {
        let inputShape: [Int]
        /// GELU: its input (the pre-activation).
        let preActivation: Tensor?
        /// ReLU: where its output is not ≤ 0 (positive or NaN).
        let mask: ReLUMask?
    }

    /// act(norm(conv(x))) + residual, and what the backward needs.
    public func forward(_ x: Tensor, residual: Tensor? = nil) -> (Tensor, Saved) {
        var y: Tensor
        var pre: Tensor?
        switch (activation, norm) {
        case (.relu, nil):
            y = kernel(x, activation: .relu)
        case (.gelu, nil):
            pre = kernel(x)
            y = activate(pre!, .gelu, pool: pool)
        case (.none, nil):
            y = kernel(x, residual: residual)
            return (y, Saved(inputShape: x.shape, preActivation: nil, mask: nil))
        case let (act, n?):
            let z = channelAffine(kernel(x), scale: n.scale, shift: n.shift, pool: pool)
            switch act {
            case .relu: y = activate(z, .relu, pool: pool)
            case .gelu: y = activate(z, .gelu, pool: pool); pre = z
            case .none: y = z
            }
        }
        if let residual { y = add(y, residual, pool: pool) }
        return (y, Saved(inputShape: x.shape, preActivation: pre, mask: activation == .relu ? ReLUMask(y, pool: pool) : nil))
    }

    /// ∂L/∂x from ∂L/∂y (the residual's share is the caller's).
    /// `gradOut` is consumed: passed with `consume`, it is scaled in place instead of copied.
    public func backward(_ gradOut: consuming Tensor, _ saved: Saved) -> Tensor {
        var g = consume gradOut
        if let m = saved.mask { m.backward(&g, pool: pool) }
        if let a = saved.preActivation {
            precondition(a.shape == g.shape, "saved activation \(a.shape) does not match gradient \(g.shape)")
            let ap = a.storage.pointer
            g.withUnsafeMutableBufferPointer { buf in
                let gp = buf.baseAddress!
                parallelRanges(buf.count, pool: pool, minChunk: 16384) { s, e in geluBackward(gp + s, input: ap + s, count: e - s) }
            }
        }
        if let n = norm {
            let c = g.channels
            g.withUnsafeMutableBufferPointer { buf in
                let gp = buf.baseAddress!
                n.scale.withUnsafeBufferPointer { sp in
                    let s = sp.baseAddress!
                    parallelRanges(buf.count / c, pool: pool, minChunk: 256) { p0, p1 in
                        channelScaleBackward(gp + p0 * c, pixels: p1 - p0, channels: c, scale: s)
                    }
                }
            }
        }
        let inShape = saved.inputShape
        switch backwardOp {
        case let .pointwise(k), let .depthwiseFlipped(k):
            let dx = k(g)
            precondition(dx.shape == inShape, "backward produced \(dx.shape), input was \(inShape)")
            return dx
        case let .depthwiseStrided(w, c, k, s, p):
            let geo = ConvGeometry(height: inShape[1], width: inShape[2], kernel: k, stride: s, padding: p)
            precondition(g.shape == [inShape[0], geo.outHeight, geo.outWidth, c], "gradient \(g.shape) does not match the conv's output")
            let dx = Tensor(uninitializedShape: inShape)
            let gp = g.storage.pointer, dp = dx.storage.pointer
            w.withUnsafeBufferPointer { wp in
                let wb = wp.baseAddress!
                for n in 0..<inShape[0] {
                    let src = gp + n * geo.outHeight * geo.outWidth * c, dst = dp + n * geo.height * geo.width * c
                    parallelRanges(geo.height, pool: pool, minChunk: 1) { r0, r1 in
                        depthwiseConvBackwardInput(src, geo, channels: c, weight: wb, dst, rows: r0, r1)
                    }
                }
            }
            return dx
        case let .dense(columns, cin, k, s, p):
            let geo = ConvGeometry(height: inShape[1], width: inShape[2], kernel: k, stride: s, padding: p)
            precondition(g.height == geo.outHeight && g.width == geo.outWidth, "gradient \(g.shape) does not match the conv's output")
            let cols = columns(g)
            let dx = Tensor(uninitializedShape: inShape)
            let cp = cols.storage.pointer, dp = dx.storage.pointer
            let per = cin * k * k
            for n in 0..<inShape[0] {
                let src = cp + n * geo.outHeight * geo.outWidth * per, dst = dp + n * geo.height * geo.width * cin
                parallelRanges(geo.height, pool: pool, minChunk: 1) { r0, r1 in
                    col2imBackwardInput(src, geo, inChannels: cin, dst, rows: r0, r1)
                }
            }
            return dx
        }
    }
}

/// A ReLU's output reduced to where it is not ≤ 0 (one byte per value), for its backward.
public struct ReLUMask {
    let shape: [Int]
    let bytes: [UInt8]

    init(_ y: Tensor, pool: ThreadPool) {
        shape = y.shape
        let yp = y.storage.pointer
        bytes = [UInt8](unsafeUninitializedCapacity: y.count) { buf, n in
            let mp = buf.baseAddress!
            parallelRanges(y.count, pool: pool, minChunk: 16384) { s, e in reluMask(yp + s, into: mp + s, count: e - s) }
            n = y.count
        }
    }

    /// Zeroes the gradient where the output was ≤ 0.
    func backward(_ g: inout Tensor, pool: ThreadPool) {
        precondition(g.shape == shape, "ReLU mask \(shape) does not match gradient \(g.shape)")
        bytes.withUnsafeBufferPointer { m in
            let mp = m.baseAddress!
            g.withUnsafeMutableBufferPointer { buf in
                let gp = buf.baseAddress!
                parallelRanges(buf.count, pool: pool, minChunk: 16384) { s, e in reluBackward(gp + s, mask: mp + s, count: e - s) }
            }
        }
    }
}

/// Splits `count` items into chunks over `pool`.
func parallelRanges(_ count: Int, pool: ThreadPool, minChunk: Int, _ body: (Int, Int) -> Void) {
    if count <= 0 { return }
    let chunk = max(minChunk, (count + 4 * pool.threadCount - 1) / (4 * pool.threadCount))
    let tasks = (count + chunk - 1) / chunk
    pool.parallelFor(tasks) { t in body(t * chunk, min(count, (t + 1) * chunk)) }
}

/// A per-channel affine op (an un-folded pre-norm or stage norm); its backward is a scale.
struct GradAffine {
    let scale: [Float], shift: [Float]
    init(_ bn: BatchNorm) { scale = bn.scale; shift = bn.shift }
    func forward(_ x: Tensor, pool: ThreadPool) -> Tensor { channelAffine(x, scale: scale, shift: shift, pool: pool) }
    func backward(_ g: Tensor) -> Tensor {
        var g = g
        let c = g.channels
        g.withUnsafeMutableBufferPointer { buf in
            scale.withUnsafeBufferPointer { channelScaleBackward(buf.baseAddress!, pixels: buf.count / c, channels: c, scale: $0.baseAddress!) }
        }
        return g
    }
}

/// The RepLK block: x + pw2(ReLU(Σ branches(pw1(prenorm(x))))).
struct GradLKBlock {
    let prenorm: GradAffine?
    let pw1: GradConv
    /// One merged kernel (ReLU inside), or the large and small branches (no activation) summed before the ReLU.
    let branches: [GradConv]
    let pw2: GradConv

    struct Saved { let pw1: GradConv.Saved; let branches: [GradConv.Saved]; let relu: ReLUMask?; let pw2: GradConv.Saved }

    func forward(_ x: Tensor) -> (Tensor, Saved) {
        let pool = pw1.pool
        let t = prenorm.map { $0.forward(x, pool: pool) } ?? x
        let (a, s1) = pw1.forward(t)
        var b: Tensor
        var sb = [GradConv.Saved]()
        var relu: ReLUMask?
        if branches.count == 1 {
            let (o, s) = branches[0].forward(a)
            b = o; sb = [s]
        } else {
            var sum: Tensor?
            for br in branches {
                let (o, s) = br.forward(a)
                sb.append(s)
                sum = sum.map { add($0, o, pool: pool) } ?? o
            }
            b = activate(sum!, .relu, pool: pool)
            relu = ReLUMask(b, pool: pool)
        }
        let (y, s2) = pw2.forward(b, residual: x)
        return (y, Saved(pw1: s1, branches: sb, relu: relu, pw2: s2))
    }

    func backward(_ g: Tensor, _ s: Saved) -> Tensor {
        let pool = pw1.pool
        var gb = pw2.backward(g, s.pw2)
        if let r = s.relu { r.backward(&gb, pool: pool) }
        var ga: Tensor
        if branches.count == 1 {
            ga = branches[0].backward(consume gb, s.branches[0])
        } else {
            ga = branches[0].backward(gb, s.branches[0])
            for (br, sv) in zip(branches, s.branches).dropFirst() { ga = add(ga, br.backward(gb, sv), pool: pool) }
        }
        var gt = pw1.backward(consume ga, s.pw1)
        if let prenorm { gt = prenorm.backward(gt) }
        return add(g, gt, pool: pw1.pool)
    }
}

/// The ConvFFN block: x + pw2(GELU(pw1(prenorm(x)))).
struct GradFFNBlock {
    let prenorm: GradAffine?
    let pw1: GradConv
    let pw2: GradConv

    func forward(_ x: Tensor) -> (Tensor, (GradConv.Saved, GradConv.Saved)) {
        let (h, s1) = pw1.forward(prenorm.map { $0.forward(x, pool: pw1.pool) } ?? x)
        let (y, s2) = pw2.forward(h, residual: x)
        return (y, (s1, s2))
    }

    func backward(_ g: Tensor, _ s: (GradConv.Saved, GradConv.Saved)) -> Tensor {
        var gt = pw1.backward(pw2.backward(g, s.1), s.0)
        if let prenorm { gt = prenorm.backward(gt) }
        return add(g, gt, pool: pw1.pool)
    }
}
