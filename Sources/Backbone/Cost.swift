import RepLKEngine

extension RepLKNet {
    /// Multiply-accumulates of one `height × width` image through this network (the classification
    /// head included when it has one), counted by the engine without computing — the count
    /// `replk-bench cost` and the results records use.
    public func macs(height: Int, width: Int) -> Double {
        FLOPCounter.dryRunMACs {
            let x = Tensor(zeros: [1, height, width, config.inChannels])
            if hasHead { _ = logits(x) } else { _ = features(x) }
        }
    }
}
