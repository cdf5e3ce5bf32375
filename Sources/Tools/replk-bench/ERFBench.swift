import ArgumentParser
import RepLKBackbone
import RepLKEngine
import RepLKERF
import Foundation
import RepLKToolSupport

/// `erf`'s argument: the released backbones it builds with random weights.
enum ERFBenchModel: String, ExpressibleByArgument, CaseIterable {
    case replknet31b = "replknet-31b", replknet31l = "replknet-31l", replknetXL = "replknet-xl"
}

/// One forward + backward of the ERF input gradient (what `replk-erf` runs per image).
struct ERFBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erf",
        abstract: "Time one forward + backward (the ERF input gradient) of a full-size backbone with random weights; peak memory.",
        discussion: """
        The gradient of Σ ReLU(central output pixel) of forward_features with respect to a 1×3×S×S input, as
        replk-erf computes it per image; with --peers, PyTorch CPU autograd on the \\
            same network in the same run.
          replk-bench erf replknet-31b --size 1024 --repeat 3 \\
              --peers /tmp/peers/bin/python
        """)

    @Argument var model: ERFBenchModel
    @Option(parsing: .unconditional, help: "Square input size.") var size = 1024
    @Flag(help: "Run the training-time graph (separate BNs and kernel branches).") var noReparam = false
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try checkOption("--size", size, in: OptionLimits.imageSide)
    }

    func run() throws {
        do {
            let engine = try common.engine()
            let name = model.rawValue
            let peak = measurePeak(threads: common.threads)
            let rssBefore = peakRSSMegabytes()
            let cfg = RepLKNetConfig.preset(String(name.dropFirst("replknet-".count)), numClasses: nil)!
            let net = try ERFModel(stateDict: randomStateDict(cfg.stateDictShapes()), file: name,
                                   options: ERFModelOptions(reparameterize: !noReparam, engine: engine))
            // A deterministic input with structure (a constant one leaves many central channels at 0).
            var values = [Float](repeating: 0, count: size * size * 3)
            for i in 0..<values.count { values[i] = Float((i &* 2654435761) % 1000) / 500 - 1 }
            let x = Tensor(shape: [1, size, size, 3], values: values)
            let run = { _ = net.inputGradient(x) }
            let probe = PeakProbe(threads: common.threads, roughPeak: peak)
            let args = ["erf", name, "--batch", "1", "--height", "\(size)", "--width", "\(size)", "--threads", "\(common.threads)"]
            let (t, peers) = try measureAlternating(repeats: common.repeats, rounds: common.rounds, probe: probe,
                                                    peers: common.peers, peerArgs: args, run)
            var obj: [String: Any] = ["model": name, "input": [size, size], "threads": common.threads, "peak_gflops": peak,
                                      "depthwise": engine.depthwise.rawValue, "reparameterized": !noReparam,
                                      "median_ms": t.median, "min_ms": t.min, "mean_ms": t.mean, "runs": common.repeats,
                                      "peak_rss_mb": peakRSSMegabytes(), "rss_before_model_mb": rssBefore]
            if let peers { obj["peers"] = peers }
            obj.merge(t.jsonFields) { a, _ in a }
            if common.json { print(jsonText(obj)); return }
            print(String(format: "%@ ERF forward + backward at %d×%d, %d thread(s): %.0f ms median (min %.0f, %d runs), peak RSS %.0f MB%@",
                         name, size, size, common.threads, t.median, t.min, common.repeats, obj["peak_rss_mb"] as! Double,
                         t.stealNote + depthwiseNote(engine)))
            printPeers(obj["peers"], ours: t.median)
        } catch {
            exitWithError("replk-bench", error)
        }
    }
}
