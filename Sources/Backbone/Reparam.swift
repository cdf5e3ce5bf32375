import RepLKLayers
import RepLKWeights

/// The official `structural_reparam()` on a state dict: each large-kernel block's `lkb_origin`
/// (conv + BN) and `small_conv` (conv + BN) become one `lkb_reparam` conv with bias; every other
/// key is kept as it is. Works under any prefix (`backbone.` in mmseg/mmdet checkpoints).
public enum StructuralReparam {
    /// Merges every large-kernel block of `sd`.
    ///
    /// - Parameters:
    ///   - sd: The state dict, with the training-time `lkb_origin` and `small_conv` keys.
    ///   - file: The checkpoint's path, used in error messages.
    /// - Returns: The tensors in row-major order with their PyTorch shapes (OIHW for conv weights): the
    ///   merged `lkb_reparam.weight` `[C, 1, K, K]` and `lkb_reparam.bias` `[C]` of each block and every
    ///   other key unchanged.
    /// - Throws: `WeightsError` when an `lkb_origin` weight is not a depth-wise square kernel, a key the
    ///   merge needs is missing or has the wrong shape, a tensor's data cannot be read, or
    ///   `lkb_origin`/`small_conv` keys have no matching `lkb_origin` conv.
    public static func merge(_ sd: StateDict, file: String) throws -> [(name: String, shape: [Int], values: [Float])] {
        let suffix = "lkb_origin.conv.weight"
        var out = [(name: String, shape: [Int], values: [Float])]()
        var consumed = Set<String>()
        let binder = WeightBinder(sd, file: file)
        for key in sd.keys where !consumed.contains(key) {
            if key.hasSuffix(suffix) {
                let p = String(key.dropLast(suffix.count))
                let shape = sd[key]!.shape
                guard shape.count == 4, shape[1] == 1, shape[2] == shape[3] else {
                    throw WeightsError.invalidModel(file: file, detail: "'\(key)' is not a depth-wise square kernel: \(shape)")
                }
                let d = shape[0], k = shape[2]
                let w = try binder.floats(key, shape: shape)
                let bn = try binder.batchNorm(p + "lkb_origin.bn", channels: d)
                for s in ["weight", "bias", "running_mean", "running_var"] { consumed.insert(p + "lkb_origin.bn." + s) }
                var small: (weight: [Float], norm: BatchNorm, size: Int)?
                if let smallShape = sd[p + "small_conv.conv.weight"]?.shape {
                    let s = smallShape.last!
                    small = (try binder.floats(p + "small_conv.conv.weight", shape: [d, 1, s, s]),
                             try binder.batchNorm(p + "small_conv.bn", channels: d), s)
                    consumed.insert(p + "small_conv.conv.weight")
                    for s in ["weight", "bias", "running_mean", "running_var"] { consumed.insert(p + "small_conv.bn." + s) }
                }
                let (mw, mb) = mergeLargeKernel(w, norm: bn, small: small, channels: d, kernel: k)
                out.append((p + "lkb_reparam.weight", [d, 1, k, k], mw))
                out.append((p + "lkb_reparam.bias", [d], mb))
                consumed.insert(key)
                continue
            }
            if key.contains(".lkb_origin.") || key.contains(".small_conv.") { continue }
            let t = sd[key]!
            out.append((key, t.shape, try t.floats(file: file, key: key)))
        }
        // Keys of a block seen before its lkb_origin weight (e.g. the BN listed first) are consumed above.
        let leftovers = sd.keys.filter { ($0.contains(".lkb_origin.") || $0.contains(".small_conv.")) && !consumed.contains($0) }
        if !leftovers.isEmpty {
            throw WeightsError.invalidModel(file: file, detail: "large-kernel keys without a matching lkb_origin conv: \(leftovers.prefix(3).joined(separator: ", "))")
        }
        return out
    }
}
