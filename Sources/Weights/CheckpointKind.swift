/// What a state dict holds, judged by the keys its head writes.
public enum CheckpointKind: Equatable, Sendable {
    case classifier, segmentation, cascadeDetector, fcosDetector, backbone, unknown

    /// Classifies `sd` by the first of these keys it holds: `decode_head.conv_seg.weight`
    /// (segmentation); `roi_head.bbox_head.0.fc_cls.weight` with `rpn_head.rpn_cls.weight` (Cascade
    /// R-CNN); `bbox_head.conv_cls.weight` (FCOS); `head.weight` or `head.cls_22k.weight` (classifier);
    /// `stem.0.conv.weight` or `backbone.stem.0.conv.weight` (a bare backbone). Otherwise `.unknown`.
    public init(_ sd: StateDict) {
        if sd["decode_head.conv_seg.weight"] != nil { self = .segmentation }
        else if sd["roi_head.bbox_head.0.fc_cls.weight"] != nil && sd["rpn_head.rpn_cls.weight"] != nil { self = .cascadeDetector }
        else if sd["bbox_head.conv_cls.weight"] != nil { self = .fcosDetector }
        else if sd["head.weight"] != nil || sd["head.cls_22k.weight"] != nil { self = .classifier }
        else if sd["stem.0.conv.weight"] != nil || sd["backbone.stem.0.conv.weight"] != nil { self = .backbone }
        else { self = .unknown }
    }

    /// The error for giving this kind of checkpoint to a tool that needs `expected`.
    public func mismatch(file: String, expected: String) -> WeightsError {
        let what: String
        switch self {
        case .classifier: what = "this is a classification checkpoint; use replk-cls"
        case .segmentation: what = "this is a segmentation checkpoint; use replk-seg"
        case .cascadeDetector: what = "this is a detection checkpoint; use replk-det"
        case .fcosDetector: what = "this is an FCOS checkpoint; replk-det runs Cascade Mask R-CNN"
        case .backbone: what = "this checkpoint holds only a backbone, not \(expected)"
        case .unknown: what = "not \(expected)"
        }
        return .invalidModel(file: file, detail: what)
    }
}
