import RepLKEngine
import RepLKKernels
import RepLKLayers
import RepLKWeights

/// How to build the network from a checkpoint.
public struct RepLKNetOptions: Sendable {
    /// Fold every BatchNorm into its conv, merge the small kernel into the large one and fold the
    /// pre-norm BNs into the following 1×1 convs (the fast inference form). When false the
    /// training-time graph runs as written: both kernel branches, every BN as its own op.
    public var reparameterize: Bool
    /// Build the classification head when the checkpoint has one.
    public var includeHead: Bool
    /// How the convs, the head and the ops between them run: threads, precision (bf16 only where
    /// `Precision.bf16.isSupported`), depth-wise algorithm, Winograd. Default: `EngineConfiguration()`.
    public var engine: EngineConfiguration

    /// The arithmetic of the convs and the head: `engine.precision`.
    public var precision: Precision {
        get { engine.precision }
        set { engine.precision = newValue }
    }

    /// Options; by default re-parameterised, with the head, run as `EngineConfiguration()` says.
    public init(reparameterize: Bool = true, includeHead: Bool = true, engine: EngineConfiguration = EngineConfiguration()) {
        self.reparameterize = reparameterize
        self.includeHead = includeHead
        self.engine = engine
    }
}

/// An un-folded per-channel affine map (a BatchNorm at inference).
struct Affine {
    let scale: [Float]
    let shift: [Float]
    init(_ bn: BatchNorm) { scale = bn.scale; shift = bn.shift }
    func callAsFunction(_ x: Tensor, pool: ThreadPool) -> Tensor { channelAffine(x, scale: scale, shift: shift, pool: pool) }
}

struct LargeKernelBlock {
    let prenorm: Affine?
    let pw1: Conv2d
    /// One merged kernel, or the large and small branches summed before the ReLU.
    let branches: [Conv2d]
    let pw2: Conv2d

    func callAsFunction(_ x: Tensor, pool: ThreadPool) -> Tensor {
        var t = prenorm.map { $0(x, pool: pool) } ?? x
        if branches.count == 1 && pw1.exchangesBF16 && branches[0].exchangesBF16 && pw2.exchangesBF16 {
            // pw1's and the large kernel's outputs only feed bf16 convs, which round them anyway.
            let mid = branches[0].bf16Output(pw1.bf16Output(t, activation: .relu), activation: .relu)
            return pw2(mid, residual: x)
        }
        t = pw1(t, activation: .relu)
        if branches.count == 1 {
            t = branches[0](t, activation: .relu)
        } else {
            var sum = branches[0](t)
            for b in branches.dropFirst() { sum = add(sum, b(t), pool: pool) }
            t = activate(sum, .relu, pool: pool)
        }
        return pw2(t, residual: x)
    }
}

struct FFNBlock {
    let prenorm: Affine?
    let pw1: Conv2d
    let pw2: Conv2d

    func callAsFunction(_ x: Tensor, pool: ThreadPool) -> Tensor {
        let input = prenorm.map { $0(x, pool: pool) } ?? x
        if pw1.exchangesBF16 && pw2.exchangesBF16 {
            // The hidden map (4× the channels) only feeds pw2, which rounds it to bf16 anyway.
            return pw2(pw1.bf16Output(input, activation: .gelu), residual: x)
        }
        return pw2(pw1(input, activation: .gelu), residual: x)
    }
}

/// The RepLKNet backbone (and optional classifier), built from a checkpoint's tensors.
public final class RepLKNet {
    /// The hyper-parameters inferred from the checkpoint.
    public let config: RepLKNetConfig
    /// The options the network was built with.
    public let options: RepLKNetOptions
    private let stem: [Conv2d]
    private let stages: [[(LargeKernelBlock, FFNBlock)]]
    private let stageNorms: [Affine?]
    private let transitions: [(Conv2d, Conv2d)]
    private let headNorm: Affine?
    private let head: Linear?
    /// The pool the whole forward runs on: `options.engine`'s.
    public let pool: ThreadPool

    /// Builds the network from backbone keys in `binder` (no `backbone.` prefix). Every key the
    /// network needs must be present with the right shape.
    public init(binder b: WeightBinder, config: RepLKNetConfig, options: RepLKNetOptions = RepLKNetOptions()) throws {
        self.config = config
        self.options = options
        let fold = options.reparameterize
        let engine = options.engine
        pool = engine.pool
        func convBN(_ prefix: String, out: Int, in cin: Int, k: Int, stride: Int = 1, groups: Int = 1,
                    inputAffine: BatchNorm? = nil) throws -> Conv2d {
            var w = try b.floats(prefix + ".conv.weight", shape: [out, cin / groups, k, k])
            let bn = try b.batchNorm(prefix + ".bn", channels: out)
            var bias: [Float]?
            if let pre = inputAffine {
                (w, bias) = foldInputAffine(weight: w, bias: nil, outChannels: out, inChannels: cin,
                                            scale: pre.scale, shift: pre.shift)
            }
            return Conv2d(weight: w, bias: bias, outChannels: out, inChannels: cin, kernelSize: (k, k),
                          stride: (stride, stride), padding: (k / 2, k / 2), groups: groups, norm: bn, foldNorm: fold,
                          engine: engine)
        }

        let c0 = config.channels[0]
        stem = [
            try convBN("stem.0", out: c0, in: config.inChannels, k: 3, stride: 2),
            try convBN("stem.1", out: c0, in: c0, k: 3, groups: c0),
            try convBN("stem.2", out: c0, in: c0, k: 1),
            try convBN("stem.3", out: c0, in: c0, k: 3, stride: 2, groups: c0),
        ]

        var stages = [[(LargeKernelBlock, FFNBlock)]]()
        var norms = [Affine?]()
        var transitions = [(Conv2d, Conv2d)]()
        for i in 0..<config.stageCount {
            let c = config.channels[i], d = config.dwChannels[i], f = config.ffnChannels[i], k = config.largeKernels[i]
            var blocks = [(LargeKernelBlock, FFNBlock)]()
            for j in 0..<config.layers[i] {
                let p = "stages.\(i).blocks.\(2 * j)."
                let preLK = try b.batchNorm(p + "prelkb_bn", channels: c)
                let pw1 = try convBN(p + "pw1", out: d, in: c, k: 1, inputAffine: fold ? preLK : nil)
                var branches = [Conv2d]()
                let lk = p + "large_kernel."
                if config.checkpointMerged {
                    branches.append(Conv2d(weight: try b.floats(lk + "lkb_reparam.weight", shape: [d, 1, k, k]),
                                           bias: try b.floats(lk + "lkb_reparam.bias", shape: [d]),
                                           outChannels: d, inChannels: d, kernelSize: (k, k),
                                           padding: (k / 2, k / 2), groups: d, engine: engine))
                } else {
                    let wl = try b.floats(lk + "lkb_origin.conv.weight", shape: [d, 1, k, k])
                    let bnl = try b.batchNorm(lk + "lkb_origin.bn", channels: d)
                    var small: ([Float], BatchNorm, Int)?
                    if let s = config.smallKernel {
                        small = (try b.floats(lk + "small_conv.conv.weight", shape: [d, 1, s, s]),
                                 try b.batchNorm(lk + "small_conv.bn", channels: d), s)
                    }
                    if fold {
                        let (w, bias) = mergeLargeKernel(wl, norm: bnl, small: small, channels: d, kernel: k)
                        branches.append(Conv2d(weight: w, bias: bias, outChannels: d, inChannels: d, kernelSize: (k, k),
                                               padding: (k / 2, k / 2), groups: d, engine: engine))
                    } else {
                        branches.append(Conv2d(weight: wl, bias: nil, outChannels: d, inChannels: d, kernelSize: (k, k),
                                               padding: (k / 2, k / 2), groups: d, norm: bnl, foldNorm: false,
                                               engine: engine))
                        if let (ws, bns, s) = small {
                            branches.append(Conv2d(weight: ws, bias: nil, outChannels: d, inChannels: d, kernelSize: (s, s),
                                                   padding: (s / 2, s / 2), groups: d, norm: bns, foldNorm: false,
                                                   engine: engine))
                        }
                    }
                }
                let pw2 = try convBN(p + "pw2", out: c, in: d, k: 1)
                let lkBlock = LargeKernelBlock(prenorm: fold ? nil : Affine(preLK), pw1: pw1, branches: branches, pw2: pw2)

                let q = "stages.\(i).blocks.\(2 * j + 1)."
                let preFFN = try b.batchNorm(q + "preffn_bn", channels: c)
                let fpw1 = try convBN(q + "pw1", out: f, in: c, k: 1, inputAffine: fold ? preFFN : nil)
                let fpw2 = try convBN(q + "pw2", out: c, in: f, k: 1)
                blocks.append((lkBlock, FFNBlock(prenorm: fold ? nil : Affine(preFFN), pw1: fpw1, pw2: fpw2)))
            }
            stages.append(blocks)
            norms.append(config.normIntermediateFeatures ? Affine(try b.batchNorm("stages.\(i).norm", channels: c)) : nil)
            if i + 1 < config.stageCount {
                let c1 = config.channels[i + 1]
                transitions.append((try convBN("transitions.\(i).0", out: c1, in: c, k: 1),
                                    try convBN("transitions.\(i).1", out: c1, in: c1, k: 3, stride: 2, groups: c1)))
            }
        }
        self.stages = stages
        stageNorms = norms
        self.transitions = transitions

        if options.includeHead, let classes = config.numClasses, let key = config.headKey {
            let c = config.channels.last!
            let norm = try b.batchNorm("norm", channels: c)
            var w = try b.floats(key + ".weight", shape: [classes, c])
            var bias = try b.floats(key + ".bias", shape: [classes])
            if fold {
                // BN before average pooling commutes with it, so it folds into the linear layer.
                (w, bias) = foldInputAffine(weight: w, bias: bias, outChannels: classes, inChannels: c,
                                            scale: norm.scale, shift: norm.shift)
                headNorm = nil
            } else {
                headNorm = Affine(norm)
            }
            head = Linear(weight: w, bias: bias, outFeatures: classes, inFeatures: c, engine: engine)
        } else {
            headNorm = nil
            head = nil
        }
    }

    /// Loads a classifier or backbone checkpoint's state dict (keys without prefix), inferring the
    /// configuration and rejecting keys the network does not use.
    public convenience init(stateDict: StateDict, file: String, options: RepLKNetOptions = RepLKNetOptions()) throws {
        let config = try RepLKNetConfig.infer(from: stateDict, file: file)
        let binder = WeightBinder(stateDict, file: file)
        try self.init(binder: binder, config: config, options: options)
        try binder.finish(ignoring: options.includeHead ? [] : ["norm.", "head."])
    }

    /// Whether the classification head was built (the checkpoint has one and `options.includeHead`).
    public var hasHead: Bool { head != nil }

    private func runStem(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.channels == config.inChannels,
                     "RepLKNet expects NHWC input with \(config.inChannels) channels, got \(x.shape)")
        var t = x
        for s in stem { t = s(t, activation: .relu) }
        return t
    }

    /// Runs the backbone and returns the last stage's output and every stage output (before its
    /// transition; normalised when the checkpoint has `stages.i.norm`).
    public func forwardFeatures(_ x: Tensor) -> (last: Tensor, stages: [Tensor]) {
        var t = runStem(x)
        var outs = [Tensor]()
        for i in 0..<stages.count {
            for (lk, ffn) in stages[i] { t = ffn(lk(t, pool: pool), pool: pool) }
            outs.append(stageNorms[i].map { $0(t, pool: pool) } ?? t)
            if i < transitions.count {
                t = transitions[i].0(t, activation: .relu)
                t = transitions[i].1(t, activation: .relu)
            }
        }
        return (t, outs)
    }

    /// Multi-level features for the heads (strides 4, 8, 16, 32).
    public func features(_ x: Tensor) -> [Tensor] { forwardFeatures(x).stages }

    /// Class logits [N, classes]. Requires a head.
    public func logits(_ x: Tensor) -> Tensor {
        guard let head else { preconditionFailure("this RepLKNet has no classification head") }
        var t = forwardFeatures(x).last
        if let headNorm { t = headNorm(t, pool: pool) }
        return head(globalAvgPool(t))
    }
}
