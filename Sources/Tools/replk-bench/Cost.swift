import ArgumentParser
import RepLKBackbone
import RepLKDetection
import RepLKEngine
import Foundation
import RepLKSegmentation
import RepLKToolSupport
import RepLKWeights

/// Full-size models with random weights for cost accounting and timing.
enum FullSize {
    static func upernet(_ name: String, classes: Int = 150, engine: EngineConfiguration = EngineConfiguration()) throws -> Segmenter {
        let cfg = RepLKNetConfig.preset(name, numClasses: nil)!
        var sd = randomStateDict(cfg.stateDictShapes(), prefix: "backbone.")
        let head = randomStateDict(UperNetHead.stateDictShapes(inChannels: cfg.channels, classes: classes), seed: 2)
        for k in head.keys { sd.insert(k, head[k]!) }
        return try Segmenter(stateDict: sd, file: name, alignCorners: false, engine: engine)
    }

    static func cascade(_ name: String, engine: EngineConfiguration = EngineConfiguration()) throws -> CascadeMaskRCNN {
        let cfg = RepLKNetConfig.preset(name, numClasses: nil)!
        var sd = randomStateDict(cfg.stateDictShapes(), prefix: "backbone.")
        let heads = randomStateDict(CascadeMaskRCNN.stateDictShapes(inChannels: cfg.channels), seed: 3)
        for k in heads.keys { sd.insert(k, heads[k]!) }
        return try CascadeMaskRCNN(stateDict: sd, file: name, engine: engine)
    }
}

struct Cost: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Parameters and FLOPs (multiply-accumulates) of the released configurations, next to the README's figures.")

    @Flag var json = false

    func run() throws {
        do {
            let cfg = RepLKNetConfig.preset("31b")!
            let cls = try RepLKNet(stateDict: randomStateDict(cfg.stateDictShapes()), file: "31b")
            let clsMACs = FLOPCounter.dryRunMACs { _ = cls.logits(Tensor(zeros: [1, 224, 224, 3])) }
            let seg = try FullSize.upernet("31b"), det = try FullSize.cascade("31b")
            // Parameters of the deployed (merged) models; the RoI heads counted for 1000 proposals and 100 detections.
            let rows: [(String, String, (macs: Double, params: Int), Double, Double)] = [
                ("RepLKNet-31B", "224×224", (clsMACs, cfg.parameterCount(merged: true)), 15.3e9, 79e6),
                ("UperNet RepLKNet-31B", "2048×512", (seg.macs(height: 512, width: 2048), seg.mergedParameterCount), 1170e9, 112e6),
                ("Cascade Mask R-CNN RepLKNet-31B", "1280×800", (det.macs(height: 800, width: 1280), det.mergedParameterCount), 965e9, 137e6),
            ]
            if json {
                print(jsonText(rows.map { ["model": $0.0, "input": $0.1, "gmacs": $0.2.macs / 1e9, "params": $0.2.params,
                                           "readme_gflops": $0.3 / 1e9, "readme_params": $0.4] }))
                return
            }
            print(markdownTable(header: ["model", "input", "FLOPs (G, MACs)", "README", "Δ", "params", "README", "Δ"],
                                rows: rows.map { r in [r.0, r.1, String(format: "%.1f", r.2.macs / 1e9), String(format: "%.1f", r.3 / 1e9),
                                                      String(format: "%+.2f%%", 100 * (r.2.macs - r.3) / r.3),
                                                      String(format: "%.2fM", Double(r.2.params) / 1e6), String(format: "%.0fM", r.4 / 1e6),
                                                      String(format: "%+.2f%%", 100 * (Double(r.2.params) - r.4) / r.4)] },
                                rightAligned: [2, 3, 4, 5, 6, 7]))
        } catch {
            exitWithError("replk-bench", error)
        }
    }
}
