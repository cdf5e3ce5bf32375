import RepLKBackbone
import RepLKEngine
import RepLKWeights

/// UperNet on a RepLKNet backbone, loaded from an mmsegmentation checkpoint
/// (`{'meta', 'state_dict'}` with `backbone.` / `decode_head.` / `auxiliary_head.` keys).
public final class Segmenter {
    /// The RepLKNet backbone (without a classification head).
    public let backbone: RepLKNet
    /// The UperNet decode head (the auxiliary head is not loaded).
    public let head: UperNetHead
    /// The checkpoint the model was loaded from, as given.
    public let checkpointPath: String
    /// Parameters of the backbone and decode head (the auxiliary head is not counted: it is not run).
    public let parameterCount: Int

    /// Class names and palette stored in the checkpoint's meta (mmengine `dataset_meta`, or mmcv
    /// `CLASSES` / `PALETTE`), when present.
    public private(set) var metaClasses: [String]?
    /// The palette, one RGB colour per class, from the checkpoint's meta; nil when absent.
    public private(set) var metaPalette: [(UInt8, UInt8, UInt8)]?

    /// Loads an mmseg checkpoint file (see `init(stateDict:file:alignCorners:reparameterize:engine:)`).
    public convenience init(checkpoint path: String, alignCorners: Bool, reparameterize: Bool = true,
                            engine: EngineConfiguration = EngineConfiguration()) throws {
        let ck = try Checkpoint(path: path)
        try self.init(stateDict: try ck.stateDict(), file: path, alignCorners: alignCorners, reparameterize: reparameterize,
                      engine: engine)
        (metaClasses, metaPalette) = datasetMeta(ck)
    }

    /// Builds the model from an mmseg state dict (`backbone.` / `decode_head.` / `auxiliary_head.` keys);
    /// `engine` (default `EngineConfiguration()`) says how every conv and op runs: threads,
    /// precision (bf16 only where `Precision.bf16.isSupported`), depth-wise algorithm, Winograd.
    public init(stateDict sd: StateDict, file path: String, alignCorners: Bool, reparameterize: Bool = true,
                engine: EngineConfiguration = EngineConfiguration()) throws {
        let kind = CheckpointKind(sd)
        guard kind == .segmentation else {
            throw kind.mismatch(file: path, expected: "an mmsegmentation UperNet checkpoint (no 'decode_head.conv_seg.weight')")
        }
        let backboneSD = sd.stripping(prefix: "backbone.")
        let config = try RepLKNetConfig.infer(from: backboneSD, file: path)
        let bb = WeightBinder(backboneSD, file: path)
        backbone = try RepLKNet(binder: bb, config: config, options: RepLKNetOptions(reparameterize: reparameterize, includeHead: false,
                                                                                  engine: engine))
        try bb.finish()
        let hb = WeightBinder(sd.stripping(prefix: "decode_head."), file: path)
        head = try UperNetHead(binder: hb, inChannels: config.channels, alignCorners: alignCorners, engine: engine)
        try hb.finish()
        let known = ["backbone.", "decode_head.", "auxiliary_head."]
        let stray = sd.keys.filter { k in !known.contains { k.hasPrefix($0) } }
        if !stray.isEmpty { throw WeightsError.unusedKeys(file: path, keys: stray) }
        let headParams = hb.stateDict.keys.filter { !$0.hasSuffix("running_mean") && !$0.hasSuffix("running_var") }
            .reduce(0) { $0 + hb.stateDict[$1]!.count }
        parameterCount = config.parameterCount(merged: false) + headParams
        checkpointPath = path
    }

    /// Number of classes (150 for ADE20K, 19 for Cityscapes).
    public var numClasses: Int { head.numClasses }

    /// Multiply-accumulates of one whole-image pass on a `height × width` input, the FCN auxiliary
    /// head included (3×3 conv C2 → 256 and a 1×1 classifier at stride 16), as the RepLKNet tables
    /// count it. Counted by the engine without computing.
    public func macs(height: Int, width: Int) -> Double {
        let c2 = backbone.config.channels[min(2, backbone.config.channels.count - 1)]
        let aux = Double(((height + 15) / 16) * ((width + 15) / 16)) * Double(256 * c2 * 9 + numClasses * 256)
        return FLOPCounter.dryRunMACs { _ = logits(Tensor(zeros: [1, height, width, 3])) } + aux
    }

    /// Parameters of the deployed model: merged backbone and decode head.
    public var mergedParameterCount: Int {
        parameterCount - backbone.config.parameterCount(merged: false) + backbone.config.parameterCount(merged: true)
    }

    /// `EncoderDecoder.encode_decode`: logits [1, H, W, classes] at the input's size.
    public func logits(_ input: Tensor) -> Tensor {
        let out = head(backbone.features(input))
        return resizeBilinear(out, height: input.height, width: input.width, alignCorners: head.alignCorners, pool: backbone.pool)
    }
}

/// Class names and palette from an OpenMMLab checkpoint's meta.
func datasetMeta(_ ck: Checkpoint) -> ([String]?, [(UInt8, UInt8, UInt8)]?) {
    guard let meta = ck.meta else { return (nil, nil) }
    let dm = meta["dataset_meta"]?.dict
    let classValue = dm?["classes"] ?? meta["CLASSES"]
    let paletteValue = dm?["palette"] ?? meta["PALETTE"]
    func list(_ v: PickleValue?) -> [PickleValue]? {
        switch v {
        case let .tuple(t)?: return t
        case let .list(l)?: return l.items
        default: return nil
        }
    }
    let classes = list(classValue)?.compactMap(\.string)
    let palette = list(paletteValue)?.compactMap { c -> (UInt8, UInt8, UInt8)? in
        guard let rgb = list(c)?.compactMap(\.int), rgb.count == 3 else { return nil }
        return (UInt8(clamping: rgb[0]), UInt8(clamping: rgb[1]), UInt8(clamping: rgb[2]))
    }
    return (classes?.isEmpty == false ? classes : nil, palette?.isEmpty == false ? palette : nil)
}
