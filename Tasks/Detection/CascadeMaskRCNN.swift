#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RepLKBackbone
import RepLKEngine
import RepLKLayers
import RepLKWeights

/// Test-time settings of the official config (`test_cfg`), none of which the checkpoint stores.
public struct DetectionTestConfig: Sendable {
    /// RPN proposals kept per FPN level, by objectness, before NMS (mmdet's `nms_pre`; 0 keeps all).
    public var rpnPreNMS = 1000
    /// RPN proposals kept after NMS (mmdet's `max_per_img` of `rpn`).
    public var rpnMaxPerImage = 1000
    /// IoU threshold of the RPN's NMS (run per FPN level).
    public var rpnIoU: Float = 0.7
    /// Class probabilities at or below this are dropped before the final NMS (mmdet's `score_thr`).
    public var scoreThreshold: Float = 0.05
    /// IoU threshold of the final per-class NMS.
    public var nmsIoU: Float = 0.5
    /// Detections kept per image after the final NMS (mmdet's `max_per_img` of `rcnn`).
    public var maxPerImage = 100
    /// A pixel whose pasted mask probability is at least this belongs to the object (mmdet's `mask_thr_binary`).
    public var maskThreshold: Float = 0.5
    /// Anchor sizes as multiples of the level's stride (mmdet's `scales`).
    public var anchorScales: [Float] = [8]
    /// Anchor aspect ratios, height / width (mmdet's `ratios`).
    public var anchorRatios: [Float] = [0.5, 1, 2]
    /// Stride in pixels of each FPN level, P2…P6.
    public var strides = [4, 8, 16, 32, 64]
    /// RoIs of √(w·h) below 2 × this are pooled from P2, and each doubling of the size one level up,
    /// to P5 at most (mmdet's `finest_scale`).
    public var finestScale: Float = 56
    /// Box-delta stds per cascade stage (means are 0).
    public var stageStds: [(Float, Float, Float, Float)] = [(0.1, 0.1, 0.2, 0.2), (0.05, 0.05, 0.1, 0.1), (0.033, 0.033, 0.067, 0.067)]
    /// The official settings.
    public init() {}
}

/// What the network returns for one image, in the network-input frame (before rescaling).
public struct RawDetections {
    /// RPN proposals after NMS, best first, in input pixels.
    public var proposals: [Box]
    /// Objectness (sigmoid) of each proposal.
    public var proposalScores: [Float]
    /// RoIs fed to the last stage, and the stage-averaged class logits for them.
    public var lastStageRoIs: [Box]
    /// Row-major [RoIs, classes + 1], background last.
    public var averagedLogits: [Float]
    /// Final boxes after NMS, in input pixels (clipped to the unpadded image), best first.
    public var boxes: [Box]
    /// Class probability of each box.
    public var scores: [Float]
    /// Class index of each box, from 0 to `numClasses − 1`.
    public var labels: [Int]
    /// Averaged sigmoid mask probabilities of each detection's class, `maskSize²` each.
    public var maskProbabilities: [[Float]]
    /// Side of each mask in `maskProbabilities` (28 for the official heads; 0 when there are none).
    public var maskSize: Int
    /// P2…P6.
    public var fpn: [Tensor]
}

/// Cascade Mask R-CNN on RepLKNet (mmdetection checkpoints: `backbone.`, `neck.`, `rpn_head.`,
/// `roi_head.bbox_head.N.`, `roi_head.mask_head.N.`), widths and class count read off the shapes.
public final class CascadeMaskRCNN {
    /// The RepLKNet backbone (without a classification head).
    public let backbone: RepLKNet
    let fpn: FPN
    let rpn: RPNHead
    let boxHeads: [BBoxHead]
    let maskHeads: [MaskHead]
    /// The test-time settings (the official `test_cfg` by default).
    public var config = DetectionTestConfig()
    /// The checkpoint the model was loaded from, as given.
    public let checkpointPath: String
    /// Parameters as the checkpoint holds them: the un-merged backbone plus neck and heads (BN
    /// running statistics excluded).
    public let parameterCount: Int
    /// Class names from the checkpoint's metadata (`dataset_meta.classes` or `CLASSES`); nil when it
    /// has none or the model was built from a state dict.
    public private(set) var metaClasses: [String]?

    /// Number of object classes (without background; 80 for COCO).
    public var numClasses: Int { boxHeads[0].numClasses }
    /// Number of cascade stages (3).
    public var stageCount: Int { boxHeads.count }

    /// Loads an mmdet checkpoint file (see `init(stateDict:file:reparameterize:engine:)`).
    public convenience init(checkpoint path: String, reparameterize: Bool = true,
                            engine: EngineConfiguration = EngineConfiguration()) throws {
        let ck = try Checkpoint(path: path)
        try self.init(stateDict: try ck.stateDict(), file: path, reparameterize: reparameterize, engine: engine)
        if let dm = ck.meta?["dataset_meta"]?.dict, case let .tuple(t)? = dm["classes"] {
            metaClasses = t.compactMap(\.string)
        } else if let dm = ck.meta?["dataset_meta"]?.dict, case let .list(l)? = dm["classes"] {
            metaClasses = l.items.compactMap(\.string)
        } else if case let .tuple(t)? = ck.meta?["CLASSES"] {
            metaClasses = t.compactMap(\.string)
        }
    }

    /// Builds the model from an mmdet state dict; `engine` (default `EngineConfiguration()`) says
    /// how every conv, linear layer and op runs: threads, precision (bf16 only where
    /// `Precision.bf16.isSupported`), depth-wise algorithm, Winograd.
    public init(stateDict sd: StateDict, file path: String, reparameterize: Bool = true,
                engine: EngineConfiguration = EngineConfiguration()) throws {
        let kind = CheckpointKind(sd)
        guard kind == .cascadeDetector else {
            throw kind.mismatch(file: path, expected: "an mmdetection Cascade Mask R-CNN checkpoint (no 'roi_head.bbox_head.0.fc_cls.weight')")
        }
        let bsd = sd.stripping(prefix: "backbone.")
        let cfg = try RepLKNetConfig.infer(from: bsd, file: path)
        let bb = WeightBinder(bsd, file: path)
        backbone = try RepLKNet(binder: bb, config: cfg, options: RepLKNetOptions(reparameterize: reparameterize, includeHead: false,
                                                                                 engine: engine))
        try bb.finish()
        var binders = [WeightBinder]()
        func scoped(_ prefix: String) -> WeightBinder {
            let b = WeightBinder(sd.stripping(prefix: prefix), file: path)
            binders.append(b)
            return b
        }
        fpn = try FPN(binder: scoped("neck."), inChannels: cfg.channels, engine: engine)
        rpn = try RPNHead(binder: scoped("rpn_head."), channels: fpn.channels, engine: engine)
        var boxHeads = [BBoxHead](), maskHeads = [MaskHead]()
        while sd["roi_head.bbox_head.\(boxHeads.count).fc_cls.weight"] != nil {
            let s = boxHeads.count
            boxHeads.append(try BBoxHead(binder: scoped("roi_head.bbox_head.\(s)."), inChannels: fpn.channels, roiSize: 7,
                                            engine: engine))
            if sd["roi_head.mask_head.\(s).conv_logits.weight"] != nil {
                maskHeads.append(try MaskHead(binder: scoped("roi_head.mask_head.\(s)."), inChannels: fpn.channels,
                                              engine: engine))
            }
        }
        guard boxHeads.count == config.stageStds.count else {
            throw WeightsError.invalidModel(file: path, detail: "\(boxHeads.count) cascade stages; the RepLKNet configs have \(config.stageStds.count)")
        }
        guard maskHeads.isEmpty || maskHeads.count == boxHeads.count else {
            throw WeightsError.invalidModel(file: path, detail: "\(maskHeads.count) mask heads for \(boxHeads.count) box heads")
        }
        guard boxHeads.allSatisfy({ $0.numClasses == boxHeads[0].numClasses }), maskHeads.allSatisfy({ $0.numClasses == boxHeads[0].numClasses }) else {
            throw WeightsError.invalidModel(file: path, detail: "heads disagree on the number of classes")
        }
        guard rpn.anchorsPerLocation == config.anchorScales.count * config.anchorRatios.count else {
            throw WeightsError.invalidModel(file: path, detail: "RPN predicts \(rpn.anchorsPerLocation) anchors per location; the config has \(config.anchorScales.count * config.anchorRatios.count)")
        }
        self.boxHeads = boxHeads
        self.maskHeads = maskHeads
        for b in binders { try b.finish() }
        let known = ["backbone.", "neck.", "rpn_head.", "roi_head."]
        let stray = sd.keys.filter { k in !known.contains { k.hasPrefix($0) } }
        if !stray.isEmpty { throw WeightsError.unusedKeys(file: path, keys: stray) }
        let nonBackbone = sd.keys.filter { !$0.hasPrefix("backbone.") && !$0.hasSuffix("running_mean") && !$0.hasSuffix("running_var") }
        parameterCount = cfg.parameterCount(merged: false) + nonBackbone.reduce(0) { $0 + sd[$1]!.count }
        checkpointPath = path
    }

    /// RoIAlign features [N, S, S, C] for boxes, each from the FPN level its size maps to.
    func roiFeatures(_ levels: [Tensor], _ rois: [Box], size: Int) -> Tensor {
        let c = levels[0].channels
        var out = Tensor(uninitializedShape: [rois.count, size, size, c])
        for (i, r) in rois.enumerated() {
            let scale = ((r.x2 - r.x1) * (r.y2 - r.y1)).squareRoot()
            var lvl = Int(floorf(log2f(scale / config.finestScale + 1e-6)))
            lvl = min(max(lvl, 0), 3)
            let f = levels[lvl]
            f.roiAlign(box: (r.x1, r.y1, r.x2, r.y2), spatialScale: 1 / Float(config.strides[lvl]), outputSize: size,
                       aligned: true, samplingRatio: 0, into: &out, item: i)
        }
        return out
    }

    /// Multiply-accumulates on a `height × width` image (padded to 32): backbone, FPN and RPN
    /// counted by the engine without computing, plus the RoI heads for `boxRoIs` proposals in each
    /// box head and `maskRoIs` detections in each mask head.
    public func macs(height: Int, width: Int, boxRoIs: Int = 1000, maskRoIs: Int = 100) -> Double {
        let x = Tensor(zeros: [1, (height + 31) / 32 * 32, (width + 31) / 32 * 32, 3])
        let dense = FLOPCounter.dryRunMACs {
            for p in fpn(backbone.features(x)) { _ = rpn(p) }
        }
        return dense + roiHeadMACs(boxRoIs: boxRoIs, maskRoIs: maskRoIs)
    }

    /// Parameters of the deployed model (merged backbone).
    public var mergedParameterCount: Int {
        parameterCount - backbone.config.parameterCount(merged: false) + backbone.config.parameterCount(merged: true)
    }

    /// Multiply-accumulates of the cascade's RoI heads for a given number of box and mask RoIs.
    public func roiHeadMACs(boxRoIs: Int, maskRoIs: Int) -> Double {
        var total = 0.0
        for head in boxHeads {
            var s = 0.0
            for c in head.convs { s += Double(49 * c.kernel.outChannels * c.kernel.inChannels * 9) }
            for f in head.fcs { s += Double(f.kernel.outChannels * f.kernel.inChannels) }
            s += Double(head.cls.kernel.outChannels * head.cls.kernel.inChannels + head.reg.kernel.outChannels * head.reg.kernel.inChannels)
            total += s * Double(boxRoIs)
        }
        for head in maskHeads {
            var s = 0.0
            for c in head.convs { s += Double(196 * c.kernel.outChannels * c.kernel.inChannels * 9) }
            s += Double(196 * 4 * head.upsample.outChannels * head.upsample.inChannels)
            s += Double(784 * head.logits.kernel.outChannels * head.logits.kernel.inChannels)
            total += s * Double(maskRoIs)
        }
        return total
    }

    /// Runs the network on a normalised, padded input [1, H, W, 3]; `imageShape` is the unpadded
    /// (height, width) used for clipping.
    public func detect(_ x: Tensor, imageShape: (Int, Int)) -> RawDetections {
        let feats = fpn(backbone.features(x))
        // RPN: per level top-k, decode, size filter, NMS per level, best 1000 overall.
        var boxes = [Box](), scores = [Float](), levelIds = [Int]()
        for (l, p) in feats.enumerated() {
            let (logits, deltas) = rpn(p)
            let a = anchors(featureHeight: p.height, featureWidth: p.width, stride: config.strides[l],
                            scales: config.anchorScales, ratios: config.anchorRatios)
            let s = logits.map { 1 / (1 + expf(-$0)) }
            var order = Array(s.indices)
            if config.rpnPreNMS > 0 && s.count > config.rpnPreNMS {
                order.sort { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }
                order = Array(order.prefix(config.rpnPreNMS))
            }
            for i in order {
                let d = (deltas[4 * i], deltas[4 * i + 1], deltas[4 * i + 2], deltas[4 * i + 3])
                boxes.append(decodeDelta(a[i], d, stds: (1, 1, 1, 1), maxShape: imageShape))
                scores.append(s[i])
                levelIds.append(l)
            }
        }
        let valid = boxes.indices.filter { boxes[$0].width > 0 && boxes[$0].height > 0 }
        boxes = valid.map { boxes[$0] }; scores = valid.map { scores[$0] }; levelIds = valid.map { levelIds[$0] }
        let keep = Array(batchedNMS(boxes, scores, levelIds, iouThreshold: config.rpnIoU).prefix(config.rpnMaxPerImage))
        let proposals = keep.map { boxes[$0] }, proposalScores = keep.map { scores[$0] }

        // Cascade: refine RoIs stage by stage by the argmax over foreground logits.
        let levels = Array(feats.prefix(4))
        let K = numClasses
        var rois = proposals
        var logitSum = [Float](repeating: 0, count: rois.count * (K + 1))
        var lastReg = [Float]()
        var lastRoIs = rois
        for (s, head) in boxHeads.enumerated() {
            let (cls, reg) = head(roiFeatures(levels, rois, size: 7))
            for i in 0..<logitSum.count { logitSum[i] += cls[i] }
            lastRoIs = rois
            lastReg = reg
            if s + 1 < boxHeads.count {
                rois = rois.indices.map { n in
                    var best = 0
                    for k in 1..<K where cls[n * (K + 1) + k] > cls[n * (K + 1) + best] { best = k }
                    let d = (reg[n * 4 * K + 4 * best], reg[n * 4 * K + 4 * best + 1], reg[n * 4 * K + 4 * best + 2], reg[n * 4 * K + 4 * best + 3])
                    return decodeDelta(rois[n], d, stds: config.stageStds[s], maxShape: imageShape)
                }
            }
        }
        let stages = Float(boxHeads.count)
        let avg = logitSum.map { $0 / stages }
        // Softmax over classes + background, one box per class from the last stage's deltas.
        var candBoxes = [Box](), candScores = [Float](), candLabels = [Int]()
        let last = config.stageStds[boxHeads.count - 1]
        for n in 0..<lastRoIs.count {
            let row = avg[(n * (K + 1))..<((n + 1) * (K + 1))]
            let m = row.max()!
            let e = row.map { expf($0 - m) }
            let z = e.reduce(0, +)
            for k in 0..<K {
                let p = e[k] / z
                guard p > config.scoreThreshold else { continue }
                let d = (lastReg[n * 4 * K + 4 * k], lastReg[n * 4 * K + 4 * k + 1], lastReg[n * 4 * K + 4 * k + 2], lastReg[n * 4 * K + 4 * k + 3])
                candBoxes.append(decodeDelta(lastRoIs[n], d, stds: last, maxShape: imageShape))
                candScores.append(p)
                candLabels.append(k)
            }
        }
        let kept = Array(batchedNMS(candBoxes, candScores, candLabels, iouThreshold: config.nmsIoU).prefix(config.maxPerImage))
        let detBoxes = kept.map { candBoxes[$0] }, detScores = kept.map { candScores[$0] }, detLabels = kept.map { candLabels[$0] }

        // Masks: the mean of the stages' sigmoid probabilities for each detection's class.
        var probs = [[Float]]()
        var maskSize = 0
        if !maskHeads.isEmpty && !detBoxes.isEmpty {
            let f = roiFeatures(levels, detBoxes, size: 14)
            var sum = [Float]()
            for head in maskHeads {
                let m = head(f)
                maskSize = m.height
                let v = m.scalars
                let area = maskSize * maskSize
                if sum.isEmpty { sum = [Float](repeating: 0, count: detBoxes.count * area) }
                for (i, label) in detLabels.enumerated() {
                    for p in 0..<area { sum[i * area + p] += 1 / (1 + expf(-v[(i * area + p) * m.channels + label])) }
                }
            }
            let area = maskSize * maskSize
            probs = detBoxes.indices.map { i in (0..<area).map { sum[i * area + $0] / Float(maskHeads.count) } }
        }
        return RawDetections(proposals: proposals, proposalScores: proposalScores, lastStageRoIs: lastRoIs,
                             averagedLogits: avg, boxes: detBoxes, scores: detScores, labels: detLabels,
                             maskProbabilities: probs, maskSize: maskSize, fpn: feats)
    }
}

extension CascadeMaskRCNN {
    /// mmdet checkpoint keys and shapes of the neck and heads of the official Cascade Mask R-CNN
    /// (FPN 256, 4conv1fc box heads with 1024-wide FC, FCN mask heads).
    public static func stateDictShapes(inChannels: [Int], fpn c: Int = 256, classes n: Int = 80,
                                       convOut: Int = 256, fcOut: Int = 1024) -> [(key: String, shape: [Int])] {
        var out = [(String, [Int])]()
        for (i, cin) in inChannels.enumerated() {
            out.append(("neck.lateral_convs.\(i).conv.weight", [c, cin, 1, 1])); out.append(("neck.lateral_convs.\(i).conv.bias", [c]))
        }
        for i in inChannels.indices {
            out.append(("neck.fpn_convs.\(i).conv.weight", [c, c, 3, 3])); out.append(("neck.fpn_convs.\(i).conv.bias", [c]))
        }
        out += [("rpn_head.rpn_conv.weight", [c, c, 3, 3]), ("rpn_head.rpn_conv.bias", [c]), ("rpn_head.rpn_cls.weight", [3, c, 1, 1]),
                ("rpn_head.rpn_cls.bias", [3]), ("rpn_head.rpn_reg.weight", [12, c, 1, 1]), ("rpn_head.rpn_reg.bias", [12])]
        for s in 0..<3 {
            let p = "roi_head.bbox_head.\(s)"
            for k in 0..<4 {
                out.append(("\(p).shared_convs.\(k).conv.weight", [convOut, k == 0 ? c : convOut, 3, 3]))
                for t in ["weight", "bias", "running_mean", "running_var"] { out.append(("\(p).shared_convs.\(k).bn.\(t)", [convOut])) }
            }
            out += [("\(p).shared_fcs.0.weight", [fcOut, convOut * 49]), ("\(p).shared_fcs.0.bias", [fcOut]),
                    ("\(p).fc_cls.weight", [n + 1, fcOut]), ("\(p).fc_cls.bias", [n + 1]),
                    ("\(p).fc_reg.weight", [4 * n, fcOut]), ("\(p).fc_reg.bias", [4 * n])]
            let m = "roi_head.mask_head.\(s)"
            for k in 0..<4 {
                out.append(("\(m).convs.\(k).conv.weight", [convOut, k == 0 ? c : convOut, 3, 3])); out.append(("\(m).convs.\(k).conv.bias", [convOut]))
            }
            out += [("\(m).upsample.weight", [convOut, convOut, 2, 2]), ("\(m).upsample.bias", [convOut]),
                    ("\(m).conv_logits.weight", [n, convOut, 1, 1]), ("\(m).conv_logits.bias", [n])]
        }
        return out
    }
}
