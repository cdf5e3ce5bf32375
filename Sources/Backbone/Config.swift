import RepLKWeights

/// RepLKNet hyper-parameters, all read off a checkpoint's tensor shapes (replknet.md §7).
public struct RepLKNetConfig: Equatable, Sendable {
    /// Input channels of the stem (3 for RGB checkpoints).
    public var inChannels: Int
    /// Width of each stage.
    public var channels: [Int]
    /// Block pairs (RepLK + ConvFFN) per stage.
    public var layers: [Int]
    /// Side of the large depth-wise kernel per stage (e.g. 31, 29, 27, 13 for RepLKNet-31B).
    public var largeKernels: [Int]
    /// Size of the parallel re-parameterisable kernel, or nil (XL).
    public var smallKernel: Int?
    /// Inner width of the large-kernel block per stage (int(C·dw_ratio)).
    public var dwChannels: [Int]
    /// Hidden width of ConvFFN per stage (int(C·ffn_ratio)).
    public var ffnChannels: [Int]
    /// Classes of the classification head, or nil for a downstream backbone.
    public var numClasses: Int?
    /// Key prefix of the head (`head` or `head.cls_22k`).
    public var headKey: String?
    /// BN on each stage output handed to the heads (XL downstream).
    public var normIntermediateFeatures: Bool
    /// The checkpoint already holds merged `lkb_reparam` kernels.
    public var checkpointMerged: Bool

    /// Number of stages (4 in the released models).
    public var stageCount: Int { channels.count }
    /// The official `dw_ratio`, recovered as the first stage's `dwChannels / channels`.
    public var dwRatio: Double { Double(dwChannels[0]) / Double(channels[0]) }
    /// The official `ffn_ratio`, recovered as the first stage's `ffnChannels / channels`.
    public var ffnRatio: Double { Double(ffnChannels[0]) / Double(channels[0]) }

    /// The official name when the shapes match a released family, otherwise a description.
    public var name: String {
        let official: [(String, [Int], [Int])] = [
            ("RepLKNet-31B", [128, 256, 512, 1024], [31, 29, 27, 13]),
            ("RepLKNet-31L", [192, 384, 768, 1536], [31, 29, 27, 13]),
            ("RepLKNet-XL", [256, 512, 1024, 2048], [27, 27, 27, 13]),
        ]
        for (n, c, k) in official where c == channels && k == largeKernels && layers == [2, 2, 18, 2] { return n }
        if channels == [128, 256, 512, 1024] && largeKernels == [13, 13, 13, 13] && layers == [2, 2, 18, 2] {
            return "RepLKNet-13"
        }
        func dash(_ v: [Int]) -> String { v.map(String.init).joined(separator: "-") }
        return "RepLKNet custom (C \(dash(channels)), L \(dash(layers)), K \(dash(largeKernels)))"
    }

    /// Infers the configuration from backbone keys (no `backbone.` prefix). Every tensor it reads a
    /// size from must have the rank the network gives it and no zero size; anything else is an
    /// error naming the key and its shape.
    public static func infer(from sd: StateDict, file: String) throws -> RepLKNetConfig {
        func shape(_ k: String, rank: Int) throws -> [Int] {
            guard let s = sd[k]?.shape else { throw WeightsError.missingKey(file: file, key: k, expectedShape: nil) }
            guard s.count == rank else {
                throw WeightsError.invalidModel(file: file, detail: "key '\(k)' has shape \(brief(s)), expected rank \(rank)")
            }
            guard !s.contains(where: { $0 <= 0 }) else {
                throw WeightsError.invalidModel(file: file, detail: "key '\(k)' has shape \(brief(s)), with a zero size")
            }
            return s
        }
        guard sd["stem.0.conv.weight"] != nil else {
            let sample = sd.keys.prefix(3).joined(separator: ", ")
            throw WeightsError.invalidModel(file: file, detail: "not a RepLKNet checkpoint: no 'stem.0.conv.weight' (keys start with \(sample))")
        }
        let stem = try shape("stem.0.conv.weight", rank: 4)
        // Block indices per stage in one pass over the keys (a probe per block would be quadratic).
        var blockIndices = [Int: Set<Int>]()
        for k in sd.keys where k.hasPrefix("stages.") {
            let parts = k.split(separator: ".", maxSplits: 4, omittingEmptySubsequences: false)
            guard parts.count == 5, parts[2] == "blocks", let s = Int(parts[1]), let b = Int(parts[3]),
                  String(s) == parts[1], String(b) == parts[3] else { continue }
            blockIndices[s, default: []].insert(b)
        }
        var channels = [Int](), layers = [Int](), kernels = [Int](), dw = [Int](), ffn = [Int]()
        var smallSizes = Set<Int?>()
        var merged: Bool?
        var stage = 0
        while sd["stages.\(stage).blocks.0.prelkb_bn.weight"] != nil {
            let c = try shape("stages.\(stage).blocks.0.prelkb_bn.weight", rank: 1)[0]
            var blocks = 0
            while blockIndices[stage]?.contains(blocks) == true { blocks += 1 }
            guard blocks % 2 == 0 else {
                throw WeightsError.invalidModel(file: file, detail: "stage \(stage) has \(blocks) blocks; expected RepLK/FFN pairs")
            }
            let lk = "stages.\(stage).blocks.0.large_kernel."
            let stageMerged = sd[lk + "lkb_reparam.weight"] != nil
            if let m = merged, m != stageMerged {
                throw WeightsError.invalidModel(file: file, detail: "mixes merged and un-merged large kernels")
            }
            merged = stageMerged
            let kShape = try shape(lk + (stageMerged ? "lkb_reparam.weight" : "lkb_origin.conv.weight"), rank: 4)
            if !stageMerged {
                let small = lk + "small_conv.conv.weight"
                smallSizes.insert(try sd[small] == nil ? nil : shape(small, rank: 4)[3])
            }
            channels.append(c)
            layers.append(blocks / 2)
            kernels.append(kShape[3])
            dw.append(try shape("stages.\(stage).blocks.0.pw1.conv.weight", rank: 4)[0])
            ffn.append(try shape("stages.\(stage).blocks.1.pw1.conv.weight", rank: 4)[0])
            stage += 1
        }
        guard stage > 0 else {
            throw WeightsError.invalidModel(file: file, detail: "no RepLKNet stages found (missing 'stages.0.blocks.0.prelkb_bn.weight')")
        }
        guard smallSizes.count <= 1 else {
            throw WeightsError.invalidModel(file: file, detail: "stages disagree on the small kernel size")
        }
        // Re-parameterisation centres the small kernel in each large one.
        if let s = smallSizes.first ?? nil, let k = kernels.first(where: { $0 < s || ($0 - s) % 2 != 0 }) {
            throw WeightsError.invalidModel(file: file, detail: "a \(s)×\(s) small kernel cannot be centred in a \(k)×\(k) large kernel")
        }
        var numClasses: Int?
        var headKey: String?
        for key in ["head", "head.cls_22k"] where sd[key + ".weight"] != nil {
            numClasses = try shape(key + ".weight", rank: 2)[0]
            headKey = key
            break
        }
        let normIntermediate = sd["stages.0.norm.weight"] != nil
        let config = RepLKNetConfig(inChannels: stem[1], channels: channels, layers: layers, largeKernels: kernels,
                                    smallKernel: smallSizes.first ?? nil, dwChannels: dw, ffnChannels: ffn, numClasses: numClasses,
                                    headKey: headKey, normIntermediateFeatures: normIntermediate,
                                    checkpointMerged: merged ?? false)
        guard config.checkedParameterCount(merged: false) != nil, config.checkedParameterCount(merged: true) != nil else {
            throw WeightsError.invalidModel(file: file, detail: "the tensor shapes imply more parameters than an Int holds (\(config.name))")
        }
        return config
    }

    /// Parameters as `model.parameters()` counts them (BN running statistics excluded), either in the
    /// training-time form (separate small kernel and BNs) or after `structural_reparam()`; Int.max
    /// if the count does not fit (never for a configuration `infer` returns).
    public func parameterCount(merged: Bool) -> Int { checkedParameterCount(merged: merged) ?? .max }

    /// The parameter count as a sum of products of sizes, or nil on overflow.
    func checkedParameterCount(merged: Bool) -> Int? {
        let c0 = channels[0]
        var terms: [[Int]] = [[inChannels, c0, 9], [2, c0], [c0, 9], [2, c0], [c0, c0], [2, c0], [c0, 9], [2, c0]]
        for i in 0..<stageCount {
            let c = channels[i], d = dwChannels[i], f = ffnChannels[i], k = largeKernels[i], l = layers[i]
            // Large-kernel block: pre-BN, pw1 conv+BN, pw2 conv+BN, then the kernel branches.
            terms += [[l, 2, c], [l, d, c], [l, 2, d], [l, c, d], [l, 2, c]]
            if merged {
                terms += [[l, d, k, k], [l, d]]
            } else {
                terms += [[l, d, k, k], [l, 2, d]]
                if let s = smallKernel { terms += [[l, d, s, s], [l, 2, d]] }
            }
            // ConvFFN block: pre-BN, pw1 conv+BN, pw2 conv+BN.
            terms += [[l, 2, c], [l, f, c], [l, 2, f], [l, c, f], [l, 2, c]]
            if normIntermediateFeatures { terms.append([2, c]) }
            if i + 1 < stageCount {
                let c1 = channels[i + 1]
                terms += [[c1, c], [2, c1], [c1, 9], [2, c1]]
            }
        }
        if let classes = numClasses {
            let c = channels.last!
            terms += [[2, c], [classes, c], [classes]]
        }
        var n = 0
        for term in terms {
            var p = 1
            for x in term {
                let (r, o) = p.multipliedReportingOverflow(by: x)
                if o { return nil }
                p = r
            }
            let (r, o) = n.addingReportingOverflow(p)
            if o { return nil }
            n = r
        }
        return n
    }
}

/// A shape for an error message, shortened when a hostile file makes it long.
private func brief(_ shape: [Int]) -> String {
    shape.count <= 8 ? "\(shape)" : "[" + shape.prefix(8).map(String.init).joined(separator: ", ") + ", … (\(shape.count) dims)]"
}
