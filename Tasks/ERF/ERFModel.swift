import RepLKBackbone
import RepLKEngine
import RepLKLayers
import RepLKWeights

/// Errors of the ERF computation, each naming the file (or input) and the problem.
public enum ERFError: Error, CustomStringConvertible, Equatable {
    /// The input tensor is not N×3×H×W (or is empty).
    case badTensor(file: String, shape: [Int], detail: String)
    /// No image gave a finite map.
    case noImages(source: String, detail: String)
    /// An ERF result folder that `compare` cannot read.
    case badResult(path: String, detail: String)

    /// One line naming the file or input and the problem.
    public var description: String {
        switch self {
        case let .badTensor(f, s, d): return "\(f): tensor of shape \(s): \(d)"
        case let .noImages(s, d): return "\(s): \(d)"
        case let .badResult(p, d): return "\(p): \(d)"
        }
    }
}

/// How to build the gradient network.
public struct ERFModelOptions: Sendable, Equatable {
    /// Fold every BN into its conv and merge the small kernels (the re-parameterised network);
    /// false runs the training-time graph with each BN as its own op. The gradients agree.
    public var reparameterize: Bool
    /// Apply the last stage's `stages.N.norm` (mmseg/mmdet backbones with
    /// `norm_intermediate_features`) to the output; the official script's `forward_features` does not.
    public var stageNorm: Bool
    /// How the forward and backward convs and the element-wise ops run: threads, depth-wise
    /// algorithm, Winograd, and the convs' precision (the tools run it at fp32).
    public var engine: EngineConfiguration

    /// Defaults: the re-parameterised network, no stage norm (the official script's), run as
    /// `EngineConfiguration()` says.
    public init(reparameterize: Bool = true, stageNorm: Bool = false, engine: EngineConfiguration = EngineConfiguration()) {
        self.reparameterize = reparameterize
        self.stageNorm = stageNorm
        self.engine = engine
    }
}

/// The RepLKNet backbone up to `forward_features` (the last stage's output, before the final
/// norm), with input gradients: the forward pass keeps what the backward needs, and `inputGradient`
/// returns ∂score/∂input for the official ERF score (Σ_c ReLU(out[c, H/2, W/2])).
public final class ERFModel {
    /// The configuration read off the checkpoint's shapes.
    public let config: RepLKNetConfig
    /// How the network was built.
    public let options: ERFModelOptions
    let stem: [GradConv]
    let stages: [[(GradLKBlock, GradFFNBlock)]]
    let transitions: [(GradConv, GradConv)]
    let outputNorm: GradAffine?
    /// The pool of the ops between the convs: `options.engine`'s.
    let pool: ThreadPool

    /// Builds the network from backbone keys (no `backbone.` prefix) in `binder`.
    public init(binder b: WeightBinder, config: RepLKNetConfig, options: ERFModelOptions = ERFModelOptions()) throws {
        self.config = config
        self.options = options
        let fold = options.reparameterize
        let engine = options.engine
        pool = engine.pool
        func convBN(_ prefix: String, out: Int, in cin: Int, k: Int, stride: Int = 1, groups: Int = 1,
                    inputAffine: BatchNorm? = nil, act: GradActivation) throws -> GradConv {
            let w = try b.floats(prefix + ".conv.weight", shape: [out, cin / groups, k, k])
            let bn = try b.batchNorm(prefix + ".bn", channels: out)
            return GradConv(weight: w, out: out, in: cin, k: k, stride: stride, groups: groups, bn: bn, fold: fold,
                            inputAffine: inputAffine, activation: act, engine: engine)
        }
        let c0 = config.channels[0]
        stem = [
            try convBN("stem.0", out: c0, in: config.inChannels, k: 3, stride: 2, act: .relu),
            try convBN("stem.1", out: c0, in: c0, k: 3, groups: c0, act: .relu),
            try convBN("stem.2", out: c0, in: c0, k: 1, act: .relu),
            try convBN("stem.3", out: c0, in: c0, k: 3, stride: 2, groups: c0, act: .relu),
        ]
        var stages = [[(GradLKBlock, GradFFNBlock)]]()
        var transitions = [(GradConv, GradConv)]()
        for i in 0..<config.stageCount {
            let c = config.channels[i], d = config.dwChannels[i], f = config.ffnChannels[i], k = config.largeKernels[i]
            var blocks = [(GradLKBlock, GradFFNBlock)]()
            for j in 0..<config.layers[i] {
                let p = "stages.\(i).blocks.\(2 * j)."
                let preLK = try b.batchNorm(p + "prelkb_bn", channels: c)
                let pw1 = try convBN(p + "pw1", out: d, in: c, k: 1, inputAffine: fold ? preLK : nil, act: .relu)
                let lk = p + "large_kernel."
                var branches = [GradConv]()
                if config.checkpointMerged {
                    branches.append(GradConv(weight: try b.floats(lk + "lkb_reparam.weight", shape: [d, 1, k, k]), out: d, in: d, k: k,
                                             groups: d, bias: try b.floats(lk + "lkb_reparam.bias", shape: [d]),
                                             bn: nil, fold: true, activation: .relu, engine: engine))
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
                        branches.append(GradConv(weight: w, out: d, in: d, k: k, groups: d, bias: bias, bn: nil, fold: true,
                                                 activation: .relu, engine: engine))
                    } else {
                        branches.append(GradConv(weight: wl, out: d, in: d, k: k, groups: d, bn: bnl, fold: false, activation: .none,
                                                 engine: engine))
                        if let (ws, bns, s) = small {
                            branches.append(GradConv(weight: ws, out: d, in: d, k: s, groups: d, bn: bns, fold: false, activation: .none,
                                                 engine: engine))
                        }
                    }
                }
                let pw2 = try convBN(p + "pw2", out: c, in: d, k: 1, act: .none)
                let lkBlock = GradLKBlock(prenorm: fold ? nil : GradAffine(preLK), pw1: pw1, branches: branches, pw2: pw2)
                let q = "stages.\(i).blocks.\(2 * j + 1)."
                let preFFN = try b.batchNorm(q + "preffn_bn", channels: c)
                let fpw1 = try convBN(q + "pw1", out: f, in: c, k: 1, inputAffine: fold ? preFFN : nil, act: .gelu)
                let fpw2 = try convBN(q + "pw2", out: c, in: f, k: 1, act: .none)
                blocks.append((lkBlock, GradFFNBlock(prenorm: fold ? nil : GradAffine(preFFN), pw1: fpw1, pw2: fpw2)))
            }
            stages.append(blocks)
            if i + 1 < config.stageCount {
                let c1 = config.channels[i + 1]
                transitions.append((try convBN("transitions.\(i).0", out: c1, in: c, k: 1, act: .relu),
                                    try convBN("transitions.\(i).1", out: c1, in: c1, k: 3, stride: 2, groups: c1, act: .relu)))
            }
        }
        self.stages = stages
        self.transitions = transitions
        let last = config.stageCount - 1
        if options.stageNorm {
            guard config.normIntermediateFeatures else {
                throw WeightsError.invalidModel(file: b.file, detail: "--stage-norm: the checkpoint has no 'stages.\(last).norm' (only mmseg/mmdet backbones with norm_intermediate_features do)")
            }
            outputNorm = GradAffine(try b.batchNorm("stages.\(last).norm", channels: config.channels[last]))
        } else {
            outputNorm = nil
        }
    }

    /// Loads any RepLKNet checkpoint's backbone: a classifier's (the head is ignored), or an
    /// mmseg/mmdet one's `backbone.` keys (the heads are ignored). Other keys in the backbone are errors.
    public convenience init(stateDict sd: StateDict, file: String, options: ERFModelOptions = ERFModelOptions()) throws {
        var backbone = sd
        if sd["stem.0.conv.weight"] == nil {
            guard sd["backbone.stem.0.conv.weight"] != nil else {
                let sample = sd.keys.prefix(3).joined(separator: ", ")
                throw WeightsError.invalidModel(file: file, detail: "not a RepLKNet checkpoint: no 'stem.0.conv.weight' or 'backbone.stem.0.conv.weight' (keys start with \(sample.isEmpty ? "nothing: the state dict is empty" : sample))")
            }
            backbone = sd.stripping(prefix: "backbone.")
        }
        let config = try RepLKNetConfig.infer(from: backbone, file: file)
        let binder = WeightBinder(backbone, file: file)
        try self.init(binder: binder, config: config, options: options)
        // The head, the final norm and the intermediate stage norms are not on the path.
        try binder.finish(ignoring: ["norm.", "head."] + (0..<config.stageCount).map { "stages.\($0).norm." })
    }

    /// The tape of one forward pass.
    struct Tape {
        var stem: [GradConv.Saved] = []
        var blocks: [[(GradLKBlock.Saved, (GradConv.Saved, GradConv.Saved))]] = []
        var transitions: [(GradConv.Saved, GradConv.Saved)] = []
    }

    /// forward_features: the last stage's output (NHWC), and the tape for the backward.
    func forward(_ x: Tensor) -> (Tensor, Tape) {
        var tape = Tape()
        var t = x
        for s in stem {
            let (y, sv) = s.forward(t)
            tape.stem.append(sv); t = y
        }
        for i in 0..<stages.count {
            var saved = [(GradLKBlock.Saved, (GradConv.Saved, GradConv.Saved))]()
            for (lk, ffn) in stages[i] {
                let (a, s1) = lk.forward(t)
                let (b, s2) = ffn.forward(a)
                saved.append((s1, s2)); t = b
            }
            tape.blocks.append(saved)
            if i < transitions.count {
                let (a, s1) = transitions[i].0.forward(t)
                let (b, s2) = transitions[i].1.forward(a)
                tape.transitions.append((s1, s2)); t = b
            }
        }
        if let outputNorm { t = outputNorm.forward(t, pool: pool) }
        return (t, tape)
    }

    /// ∂L/∂input from ∂L/∂output through the tape (consumed: each activation is freed once used).
    func backward(_ gradOut: Tensor, _ tape: consuming Tape) -> Tensor {
        var g = gradOut
        if let outputNorm { g = outputNorm.backward(g) }
        for i in stride(from: stages.count - 1, through: 0, by: -1) {
            if i < transitions.count {
                let (s1, s2) = tape.transitions.removeLast()
                g = transitions[i].1.backward(consume g, s2)
                g = transitions[i].0.backward(consume g, s1)
            }
            var saved = tape.blocks.removeLast()
            for (lk, ffn) in stages[i].reversed() {
                let (s1, s2) = saved.removeLast()
                g = ffn.backward(g, s2)
                g = lk.backward(g, s1)
            }
        }
        for s in stem.reversed() { g = s.backward(consume g, tape.stem.removeLast()) }
        return g
    }

    /// The last stage's output (forward_features) of an NHWC input.
    public func forwardFeatures(_ x: Tensor) -> Tensor { forward(x).0 }

    /// ∂score/∂x for the official ERF score, score = Σ_c ReLU(out[n, H_out/2, W_out/2, c]) summed
    /// over the batch, for an NHWC input; the result has the input's shape.
    public func inputGradient(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.channels == config.inChannels, "ERFModel expects NHWC input with \(config.inChannels) channels, got \(x.shape)")
        let (out, tape) = forward(x)
        let seed = Tensor(zeros: out.shape)
        let (ho, wo, c) = (out.height, out.width, out.channels)
        let op = out.storage.pointer, sp = seed.storage.pointer
        for n in 0..<out.batch {
            let base = ((n * ho + ho / 2) * wo + wo / 2) * c
            // ReLU's backward as PyTorch's: the gradient passes unless the value is ≤ 0 (NaN passes).
            for ch in 0..<c where !(op[base + ch] <= 0) { sp[base + ch] = 1 }
        }
        return backward(seed, consume tape)
    }
}
