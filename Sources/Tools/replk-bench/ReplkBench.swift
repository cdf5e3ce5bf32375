import ArgumentParser
import RepLKBackbone
import RepLKDatasets
import RepLKDetection
import RepLKEngine
import RepLKEval
import Foundation
import RepLKKernels
import RepLKParallel
import RepLKSegmentation
import RepLKToolSupport
import RepLKWeights

@main
struct ReplkBench: ParsableCommand {
    static func main() { mainCheckingCPU("replk-bench") }

    static let configuration = CommandConfiguration(
        commandName: "replk-bench",
        abstract: "Speed and memory of the engine: FMA peak, depth-wise conv stacks, whole models, COCO evaluation.",
        discussion: "Speeds are medians over repeated runs; each figure is also given as a share of the peak measured in the same run.",
        version: toolVersion("replk-bench"),
        subcommands: [Peak.self, DWConv.self, Table1.self, Model.self, COCOEval.self, GEMMBench.self, Conv3x3Bench.self, Cost.self, RandomCheckpoint.self, Accuracy.self, MergeBench.self, ERFBench.self])
}

func medianOf(_ v: [Double]) -> Double {
    let s = v.sorted()
    return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

/// The median of each consecutive batch of `sizes[i]` samples.
func batchMedians(_ samples: [Double], sizes: [Int]) -> [Double] {
    var start = 0
    return sizes.map { n in
        defer { start += n }
        return medianOf(Array(samples[min(samples.count, start)..<min(samples.count, start + n)]))
    }
}

struct Timing {
    var samples: [Double] = []
    /// With a `PeakProbe`: the FMA peak (GFLOP/s) measured just before each sample.
    var peaks: [Double] = []
    /// With several threads: the core-to-core hand-over time (µs per MB, `coreHandoverMicroseconds`)
    /// just before each batch of runs (each round, with peers), and the samples each batch took.
    var handovers: [Double] = []
    var batchSizes: [Int] = []
    var median: Double { medianOf(samples) }
    var min: Double { samples.min() ?? .nan }
    var mean: Double { samples.isEmpty ? .nan : samples.reduce(0, +) / Double(samples.count) }

    /// CPU time the hypervisor gave to others while the runs went on (`/proc/stat` steal), in
    /// ticks over all CPUs, and all ticks that passed; zero where the kernel does not say.
    var stealTicks = 0, allTicks = 0
    /// Percent of all CPUs' time stolen during the runs; nil below one CPU-second of ticks, where
    /// the 10 ms ticks are too coarse to tell.
    var stealPercent: Double? { allTicks >= 100 ? 100 * Double(stealTicks) / Double(allTicks) : nil }

    static func += (a: inout Timing, b: Timing) {
        a.samples += b.samples; a.peaks += b.peaks
        a.handovers += b.handovers; a.batchSizes += b.batchSizes
        a.stealTicks += b.stealTicks; a.allTicks += b.allTicks
    }

    /// The keys every timing reports in JSON: each run's milliseconds, and the host's steal share.
    var jsonFields: [String: Any] {
        var o: [String: Any] = ["samples_ms": samples]
        if let stealPercent { o["steal_percent"] = stealPercent }
        if !handovers.isEmpty {
            o["core_handover_us"] = handovers
            // Each batch's median beside the hand-over it began with: rounds taken while the host
            // passed data between cores slowly are told apart from the others.
            o["batch_median_ms"] = batchMedians(samples, sizes: batchSizes)
        }
        return o
    }

    /// ", host steal N %" for the text lines, where the share is known and at least 1 %: on a shared
    /// VM the second thread's speed depends on it more than on anything of ours.
    var stealNote: String {
        guard let p = stealPercent, p >= 1 else { return "" }
        return String(format: ", host steal %.0f%%", p)
    }

    /// Median over the runs of each run's GFLOP/s (for `gflop` of work) as a share of the peak
    /// measured just before it, in percent; nil without probes.
    func pairedPercentOfPeak(gflop: Double) -> Double? {
        guard !peaks.isEmpty, peaks.count == samples.count else { return nil }
        return medianOf(zip(samples, peaks).map { 100 * gflop / ($0 / 1000) / $1 })
    }
}

/// Runs `body` `warmup` times, then `repeats` times, returning milliseconds. With `probe`, the FMA
/// peak is also measured (briefly) right before each timed run.
/// With `handover`, the core-to-core hand-over time is measured once before the runs (after the warm-up).
func measure(warmup: Int = 1, repeats: Int, probe: PeakProbe? = nil, handover: Bool = false, _ body: () -> Void) -> Timing {
    for _ in 0..<warmup { body() }
    var t = Timing()
    if handover, let h = coreHandoverMicroseconds() {
        t.handovers = [h]
        t.batchSizes = [repeats]
    }
    let before = cpuTicks()
    for _ in 0..<repeats {
        if let probe { t.peaks.append(probe.measure()) }
        let s = DispatchTime.now().uptimeNanoseconds
        body()
        t.samples.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6)
    }
    if let before, let after = cpuTicks() {
        t.stealTicks = after.steal - before.steal
        t.allTicks = after.all - before.all
    }
    return t
}

/// FMA-peak measurement; a short one (about 20 ms) is taken right before each timed run. This shared host's
/// speed drifts by up to 40 % within a minute, so a share of a peak measured once at the start can
/// be far off; paired with the run it precedes, it tracks the machine as the run found it.
final class PeakProbe {
    private let pool: ThreadPool
    let threads: Int
    private let iterations: Int
    /// fp32: the FMA loop; bf16: the `vdpbf16ps` loop (twice the multiply-adds per instruction).
    private let precision: Precision

    init(threads: Int, iterations: Int, precision: Precision = .fp32) {
        // The engine's own pool of that many threads (the one a model built for `threads` runs
        // on), so that its workers leave the probe awake, as between back-to-back runs (and as the
        // peers run). With a pool of its own, the engine's workers fell asleep during every 20 ms
        // probe, and the first conv of every timed run waited for a wake-up (50–100 µs in this VM)
        // while the probe's worker still spun.
        pool = ThreadPool.shared(threads: threads)
        self.threads = threads
        self.iterations = iterations
        self.precision = precision
    }

    /// FLOPs of one iteration of the probe's loop.
    private var flopsPerIteration: Int { precision == .bf16 ? bf16PeakFlopsPerIteration : fmaPeakFlopsPerIteration }

    /// A probe of about 20 ms on a machine whose peak is about `roughPeak` GFLOP/s.
    convenience init(threads: Int, roughPeak: Double, precision: Precision = .fp32) {
        let flops = roughPeak * 1e9 * 0.02
        let per = precision == .bf16 ? bf16PeakFlopsPerIteration : fmaPeakFlopsPerIteration
        self.init(threads: threads, iterations: max(100_000, Int(flops) / max(1, threads * per)), precision: precision)
    }

    func measure() -> Double {
        var sink = [Float](repeating: 0, count: threads)
        let start = DispatchTime.now().uptimeNanoseconds
        sink.withUnsafeMutableBufferPointer { s in
            let p = s.baseAddress!
            let n = iterations
            let bf16 = precision == .bf16
            pool.parallelFor(threads) { i in
                p[i] = bf16 ? bf16PeakLoop(iterations: n, seed: Float(i)) : fmaPeakLoop(iterations: n, seed: Float(i))
            }
        }
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if sink.contains(where: { $0.isNaN }) { print("") }
        return Double(threads * iterations * flopsPerIteration) / secs / 1e9
    }
}

/// The `cpu` line of `/proc/stat`: steal ticks and all ticks (user through steal) so far; nil
/// where there is no such file (not Linux) or it does not parse.
func cpuTicks() -> (steal: Int, all: Int)? {
    guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
          let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
    let f = line.split(separator: " ").dropFirst().compactMap { Int($0) }
    guard f.count >= 8 else { return nil }
    return (f[7], f[0..<8].reduce(0, +))
}

func peakRSSMegabytes() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_maxrss) / 1024
}

/// Peak in GFLOP/s with `threads` threads: the best of three runs of the FMA loop (fp32) or the
/// `vdpbf16ps` loop (bf16), each about 0.3 s.
func measurePeak(threads: Int, precision: Precision = .fp32) -> Double {
    let probe = PeakProbe(threads: threads, iterations: precision == .bf16 ? 10_000_000 : 20_000_000, precision: precision)
    return (0..<3).map { _ in probe.measure() }.max()!
}

/// The help of every bench command's `--threads` (the same default as the other tools).
let benchThreadsHelp = ArgumentHelp("Threads (default: all CPUs, or REPLK_THREADS).")

/// The options of the commands that time the engine against its peers (dwconv, table1, model).
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("threads"), parsing: .unconditional, help: benchThreadsHelp)
    var threadsOption: Int?
    /// `--threads`, else `REPLK_THREADS`, else all CPUs (as the other tools).
    var threads: Int { threadsOption ?? EngineConfiguration.fromEnvironment().threads }

    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Timed runs (after one warm-up).")
    var repeats: Int = 10

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Python interpreter with torch / onnxruntime / openvino: run the same workload through them in this run.")
    var peers: String?

    @Option(parsing: .unconditional, help: "With --peers, for dwconv, table1 and model: alternate our runs and each peer's in this many rounds (the runs split evenly), so that the host's slow spells fall on both sides.")
    var rounds: Int = 3

    @Option(help: depthwiseOptionHelp)
    var depthwise: DepthwiseAlgorithm?

    @Option(help: precisionOptionHelp)
    var precision: Precision = .fp32

    /// The engine configuration of `--threads`, `--depthwise` and `--precision` over the
    /// environment (`validate` checked that this CPU runs `--precision`); a `REPLK_DEPTHWISE` that
    /// names no algorithm is a setting error.
    func engine() throws -> EngineConfiguration {
        try engineConfiguration(threads: threadsOption, depthwise: depthwise, precision: precision)
    }
}

/// `peak`'s options: only those it uses (no peers, rounds, repeats or depth-wise algorithm).
struct PeakOptions: ParsableArguments {
    @Option(name: .customLong("threads"), parsing: .unconditional, help: benchThreadsHelp)
    var threadsOption: Int?
    /// `--threads`, else `REPLK_THREADS`, else all CPUs.
    var threads: Int { threadsOption ?? EngineConfiguration.fromEnvironment().threads }

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "fp32: the FMA peak; bf16: the vdpbf16ps peak (AVX512_BF16 CPUs).")
    var precision: Precision = .fp32

    func validate() throws {
        requirePrecision(precision, tool: "replk-bench")
        try checkThreads(threadsOption)
    }
}

/// The options of the single-kernel commands (gemm, conv3x3): no peers, rounds or depth-wise algorithm.
struct KernelOptions: ParsableArguments {
    @Option(name: .customLong("threads"), parsing: .unconditional, help: benchThreadsHelp)
    var threadsOption: Int?
    /// `--threads`, else `REPLK_THREADS`, else all CPUs.
    var threads: Int { threadsOption ?? EngineConfiguration.fromEnvironment().threads }

    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Timed runs (after one warm-up).")
    var repeats: Int = 10

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: precisionOptionHelp)
    var precision: Precision = .fp32

    func validate() throws {
        requirePrecision(precision, tool: "replk-bench")
        try checkThreads(threadsOption)
        try checkOption("--repeat", repeats, in: 1...100_000)
    }

    /// The engine configuration of `--threads` and `--precision` over the environment (these
    /// commands run no depth-wise conv).
    var engine: EngineConfiguration {
        var engine = EngineConfiguration.fromEnvironment()
        engine.threads = threads
        engine.precision = precision
        return engine
    }
}

/// `coco-eval`'s options: repeats, JSON and the peers it compares with (single-threaded, fp32).
struct COCOEvalOptions: ParsableArguments {
    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Timed runs.")
    var repeats: Int = 10

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Python interpreter with faster-coco-eval / pycocotools: run the same evaluation through them in this run.")
    var peers: String?

    func validate() throws {
        try checkOption("--repeat", repeats, in: 1...100_000)
    }
}

struct Peak: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure this machine's float32 FMA peak (or with --precision bf16 its vdpbf16ps peak) on 1 and N threads.")
    @OptionGroup var common: PeakOptions

    func run() throws {
        let one = measurePeak(threads: 1, precision: common.precision)
        let many = measurePeak(threads: common.threads, precision: common.precision)
        if common.json {
            print(jsonText(["peak_gflops_1_thread": one, "peak_gflops": many, "threads": common.threads,
                            "precision": common.precision.rawValue]))
        } else {
            let what = common.precision == .bf16 ? "bf16 dot-product (vdpbf16ps)" : "FMA"
            print(String(format: "%@ peak: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads", what, one, many, common.threads))
        }
    }
}

/// Depth-wise stack: `depth` convs of `k×k` over C channels at R×R, with "useful" MACs counting
/// only the taps that land inside the map.
struct DWStack {
    let convs: [ConvKernel]
    let input: Tensor
    let nominalMACs: Double
    let usefulMACs: Double

    init(channels c: Int, size r: Int, kernel k: Int, depth: Int, batch: Int, engine: EngineConfiguration) {
        var seed: UInt32 = 12345
        func next() -> Float { seed = seed &* 1664525 &+ 1013904223; return Float(seed >> 8) / Float(1 << 24) - 0.5 }
        convs = (0..<depth).map { _ in
            let w = (0..<(c * k * k)).map { _ in next() / Float(k) }
            return w.withUnsafeBufferPointer {
                ConvKernel(weightOIHW: $0, bias: nil, outChannels: c, inChannels: c, kernelH: k, kernelW: k, padding: (k / 2, k / 2), groups: c,
                           engine: engine)
            }
        }
        input = Tensor(shape: [batch, r, r, c], values: (0..<(batch * r * r * c)).map { _ in next() })
        nominalMACs = Double(depth * batch * c * r * r * k * k)
        var valid = 0
        for x in 0..<r { valid += min(r - 1, x + k / 2) - max(0, x - k / 2) + 1 }
        usefulMACs = Double(depth * batch * c) * Double(valid) * Double(valid)
    }

    func run() -> Tensor {
        var t = input
        for conv in convs { t = conv(t) }
        return t
    }
}

struct DWConv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dwconv",
        abstract: "A stack of depth-wise convs (the paper's Table 1 setting): time and GFLOP/s.",
        discussion: "Example: replk-bench dwconv --channels 384 --size 32 --kernel 31 --depth 24 --threads 2 --json")

    @Option(parsing: .unconditional) var channels = 384
    @Option(parsing: .unconditional) var size = 32
    @Option(parsing: .unconditional, help: "Kernel size (odd).") var kernel = 31
    @Option(parsing: .unconditional) var depth = 24
    @Option(parsing: .unconditional) var batch = 1
    @OptionGroup var common: CommonOptions

    func run() throws {
        let engine = try common.engine()
        let peak = measurePeak(threads: common.threads, precision: common.precision)
        let stack = DWStack(channels: channels, size: size, kernel: kernel, depth: depth, batch: batch, engine: engine)
        let probe = PeakProbe(threads: common.threads, roughPeak: peak, precision: common.precision)
        let (t, peers) = try measureAlternating(
            repeats: common.repeats, rounds: common.rounds, probe: probe, peers: common.peers,
            peerArgs: ["dwconv", "--channels", "\(channels)", "--size", "\(size)", "--kernel", "\(kernel)", "--depth", "\(depth)",
                       "--batch", "\(batch)", "--threads", "\(common.threads)"]) { _ = stack.run() }
        let useful = 2 * stack.usefulMACs / (t.median / 1000) / 1e9
        let nominal = 2 * stack.nominalMACs / (t.median / 1000) / 1e9
        let paired = t.pairedPercentOfPeak(gflop: 2 * stack.usefulMACs / 1e9) ?? .nan
        var obj: [String: Any] = ["median_ms": t.median, "min_ms": t.min, "mean_ms": t.mean, "runs": common.repeats,
                                  "channels": channels, "size": size, "kernel": kernel, "depth": depth, "batch": batch,
                                  "threads": common.threads, "useful_gflops_per_s": useful, "nominal_gflops_per_s": nominal,
                                  "peak_gflops": peak, "percent_of_peak_useful": 100 * useful / peak,
                                  "peak_gflops_beside_runs": medianOf(t.peaks), "percent_of_peak_useful_paired": paired,
                                  "depthwise": engine.depthwise.rawValue]
        if let peers { obj["peers"] = peers }
        obj.merge(t.jsonFields) { a, _ in a }
        if common.json { print(jsonText(obj)); return }
        print(String(format: "dwconv C=%d R=%d K=%d ×%d, %d thread(s): %.2f ms median (min %.2f), %.1f useful GFLOP/s = %.0f%% of %.0f peak, %.0f%% paired (%.1f nominal)%@",
                     channels, size, kernel, depth, common.threads, t.median, t.min, useful, 100 * useful / peak, peak, paired, nominal,
                     t.stealNote + depthwiseNote(engine)))
        printPeers(obj["peers"], ours: t.median)
    }
}

/// ", depth-wise …" for a text line, empty for `auto`: the depth-wise algorithm `engine` runs
/// (`--depthwise`, else `REPLK_DEPTHWISE`, else auto), reported with the figures so that those of
/// the opt-in FFT or a forced split say so (the JSON has it as "depthwise").
func depthwiseNote(_ engine: EngineConfiguration) -> String {
    engine.depthwise == .auto ? "" : ", depth-wise \(engine.depthwise.rawValue)"
}

struct Table1: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The paper's Table 1 analog: 24 stacked depth-wise convs, C = 384, R ∈ {16, 32, 64}, K from 3 to 31.")
    @OptionGroup var common: CommonOptions
    @Option(parsing: .unconditional, help: "Kernel sizes (odd).") var kernels = IntList([3, 5, 7, 9, 13, 17, 21, 27, 29, 31])
    @Option(parsing: .unconditional, help: "Map sizes.") var sizes = IntList([16, 32, 64])

    func run() throws {
        let engine = try common.engine()
        let peak = measurePeak(threads: common.threads, precision: common.precision)
        let probe = PeakProbe(threads: common.threads, roughPeak: peak, precision: common.precision)
        let ks = kernels.values, rs = sizes.values
        var rows = [[String]](), out = [[String: Any]]()
        for r in rs {
            for k in ks {
                let stack = DWStack(channels: 384, size: r, kernel: k, depth: 24, batch: 1, engine: engine)
                let (t, peers) = try measureAlternating(
                    repeats: common.repeats, rounds: common.rounds, probe: probe, peers: common.peers,
                    peerArgs: ["dwconv", "--channels", "384", "--size", "\(r)", "--kernel", "\(k)", "--depth", "24", "--batch", "1",
                               "--threads", "\(common.threads)"]) { _ = stack.run() }
                let useful = 2 * stack.usefulMACs / (t.median / 1000) / 1e9
                let paired = t.pairedPercentOfPeak(gflop: 2 * stack.usefulMACs / 1e9) ?? .nan
                var row: [String: Any] = ["size": r, "kernel": k, "median_ms": t.median, "useful_gflops_per_s": useful,
                                          "percent_of_peak_useful": 100 * useful / peak, "percent_of_peak_useful_paired": paired]
                row.merge(t.jsonFields) { a, _ in a }
                var cells = ["\(r)", "\(k)", String(format: "%.2f", t.median), String(format: "%.0f", useful), String(format: "%.0f%%", 100 * useful / peak),
                             String(format: "%.0f%%", paired), t.stealPercent.map { String(format: "%.0f%%", $0) } ?? "—"]
                if let peers {
                    row["peers"] = peers
                    for name in modelPeers {
                        if let ms = (peers[name] as? [String: Any])?["median_ms"] as? Double { cells.append(String(format: "%.2f (%.2f×)", ms, ms / t.median)) }
                        else { cells.append("—") }
                    }
                }
                rows.append(cells)
                out.append(row)
            }
        }
        if common.json { print(jsonText(["peak_gflops": peak, "threads": common.threads, "depthwise": engine.depthwise.rawValue, "rows": out])); return }
        var header = ["R", "K", "ms", "useful GFLOP/s", "% of peak", "% paired", "host steal"]
        if common.peers != nil { header += ["PyTorch ms (ratio)", "onnxruntime ms (ratio)", "OpenVINO ms (ratio)"] }
        print(String(format: "24 depth-wise convs, C = 384, batch 1, %d thread(s); FMA peak %.0f GFLOP/s (\"paired\": each run against the peak measured just before it)%@", common.threads, peak, depthwiseNote(engine)))
        print(markdownTable(header: header, rows: rows, rightAligned: Set(0..<header.count)))
    }
}

struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Latency, throughput and peak memory of a full-size model with random weights.",
        discussion: """
        Models: replknet-31b, replknet-31l, replknet-xl (classification), upernet-31b (segmentation, whole image
        of --height × --width, or --slide for mmseg's 512 windows), cascade-31b (detection, 80 classes).
          replk-bench model replknet-31b --size 224 --batch 1 --threads 2 --json
        """)

    @Argument var model: BenchModel
    var name: String { model.rawValue }
    @Option(parsing: .unconditional, help: "Square input size (classification).") var size: Int?
    @Option(parsing: .unconditional) var height: Int?
    @Option(parsing: .unconditional) var width: Int?
    @Option(parsing: .unconditional) var batch = 1
    @Flag(help: "upernet: slide windows of 512, stride 341 over the input.") var slide = false
    @Option(help: "Classification: load this checkpoint instead of random weights (peak memory as a user sees it).") var checkpoint: String?
    @OptionGroup var common: CommonOptions

    func run() throws {
        do {
            let engine = try common.engine()
            let peak = measurePeak(threads: common.threads, precision: common.precision)
            let rssBefore = peakRSSMegabytes()
            var obj: [String: Any] = ["model": name, "threads": common.threads, "batch": batch, "peak_gflops": peak,
                                      "depthwise": engine.depthwise.rawValue, "precision": common.precision.rawValue]
            var t = Timing()
            var run: () -> Void = {}
            var macs: Double = 0, executed: Double = 0
            switch name {
            case "replknet-31b", "replknet-31l", "replknet-xl":
                let cfg = RepLKNetConfig.preset(String(name.dropFirst("replknet-".count)))!
                let s = size ?? 224
                let options = RepLKNetOptions(engine: engine)
                let model = try checkpoint.map { try RepLKNet(stateDict: try Checkpoint(path: $0).stateDict(), file: $0, options: options) }
                    ?? RepLKNet(stateDict: randomStateDict(cfg.stateDictShapes()), file: name, options: options)
                let x = Tensor(shape: [batch, s, s, 3], repeating: 0.1)
                (_, macs, executed) = FLOPCounter.count { model.logits(x) }
                run = { _ = model.logits(x) }
                obj["input"] = [s, s]
                obj["params"] = cfg.parameterCount(merged: true)
            case "upernet-31b":
                let (h, w) = (height ?? size ?? 512, width ?? size ?? 512)
                let model = try FullSize.upernet("31b", engine: engine)
                var config = SegmentationTestConfig.ade20k
                if slide { config.mode = .slide(crop: (512, 512), stride: (341, 341)) }
                let pipeline = SegmentationPipeline(model: model, config: config)
                let x = Tensor(shape: [1, h, w, 3], repeating: 0.1)
                (_, macs, executed) = FLOPCounter.count { pipeline.logits(x) }
                run = { _ = pipeline.logits(x) }
                obj["input"] = [h, w]
                obj["mode"] = slide ? "slide 512/341" : "whole"
                obj["params"] = model.parameterCount
            case "cascade-31b":
                let (h, w) = (height ?? 800, width ?? 1333)
                let model = try FullSize.cascade("31b", engine: engine)
                let ph = (h + 31) / 32 * 32, pw = (w + 31) / 32 * 32
                let x = Tensor(shape: [1, ph, pw, 3], repeating: 0.1)
                let (raw, counted, ran) = FLOPCounter.count { model.detect(x, imageShape: (h, w)) }
                (macs, executed) = (counted, ran)
                obj["detections"] = raw.boxes.count
                run = { _ = model.detect(x, imageShape: (h, w)) }
                obj["input"] = [h, w]
                obj["params"] = model.parameterCount
            default:
                throw ToolError.usage("unknown model \(name): replknet-31b, replknet-31l, replknet-xl, upernet-31b, cascade-31b")
            }
            let probe = PeakProbe(threads: common.threads, roughPeak: peak, precision: common.precision)
            var args = ["model", name, "--batch", "\(batch)", "--threads", "\(common.threads)"]
            if let input = obj["input"] as? [Int] { args += ["--height", "\(input[0])", "--width", "\(input[1])"] }
            let peers: [String: Any]?
            (t, peers) = try measureAlternating(repeats: common.repeats, rounds: common.rounds, probe: probe,
                                                peers: common.peers, peerArgs: args, run)
            if let peers { obj["peers"] = peers }
            let gflops = 2 * macs / (t.median / 1000) / 1e9
            let executedGflops = 2 * executed / (t.median / 1000) / 1e9
            obj["median_ms"] = t.median; obj["min_ms"] = t.min; obj["mean_ms"] = t.mean; obj["runs"] = common.repeats
            obj["gmacs"] = macs / 1e9
            obj["gmacs_executed"] = executed / 1e9
            obj["gflops_per_s"] = gflops
            obj["executed_gflops_per_s"] = executedGflops
            // Of the work actually run: Winograd's 3×3 convs run a quarter of their nominal MACs.
            obj["percent_of_peak"] = 100 * executedGflops / peak
            let paired = t.pairedPercentOfPeak(gflop: 2 * executed / 1e9) ?? .nan
            obj["peak_gflops_beside_runs"] = medianOf(t.peaks)
            obj["percent_of_peak_paired"] = paired
            obj["throughput_per_s"] = Double(batch) / (t.median / 1000)
            obj["peak_rss_mb"] = peakRSSMegabytes()
            obj["rss_before_model_mb"] = rssBefore
            obj.merge(t.jsonFields) { a, _ in a }
            if common.json { print(jsonText(obj)); return }
            let ran = executed < macs ? String(format: " (%.1f G run, the 3×3 convs as Winograd)", executed / 1e9) : ""
            print(String(format: "%@ %@, batch %d, %d thread(s): %.1f ms median (min %.1f), %.1f GMAC%@, %.0f GFLOP/s run = %.0f%% of %.0f peak (%.0f%% paired), peak RSS %.0f MB%@",
                         name, "\(obj["input"]!)", batch, common.threads, t.median, t.min, macs / 1e9, ran, executedGflops,
                         100 * executedGflops / peak, peak, paired, obj["peak_rss_mb"] as! Double, t.stealNote + depthwiseNote(engine)))
            printPeers(obj["peers"], ours: t.median, timing: t)
        } catch {
            exitWithError("replk-bench", error)
        }
    }
}

struct COCOEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coco-eval",
        abstract: "COCO bbox evaluation speed (load + evaluate + accumulate + summarise), against faster-coco-eval with --peers.")
    @Option var gt: String
    @Option var results: String
    @Option var iouType = IoUType.bbox
    @OptionGroup var common: COCOEvalOptions

    func run() throws {
        do {
            let type = iouType.coco
            // Read and evaluated once untimed, so that a bad file is an error here, not a trap in a timed run.
            let check = try COCOEvaluator(groundTruth: try COCOFile.groundTruth(path: gt), iouType: type)
            try check.add(try COCOFile.results(path: results))
            var stats = [Double]()
            let t = measure(warmup: 0, repeats: common.repeats) {
                let truth = try! COCOFile.groundTruth(path: gt)
                let ev = try! COCOEvaluator(groundTruth: truth, iouType: type)
                try! ev.add(try! COCOFile.results(path: results))
                stats = ev.summary().stats
            }
            var obj: [String: Any] = ["median_ms": t.median, "min_ms": t.min, "runs": common.repeats, "stats": stats]
            if let py = common.peers {
                obj["peers"] = try runPeers(py, ["coco-eval", "--gt", gt, "--results", results, "--iou-type", iouType.rawValue, "--repeat", "\(common.repeats)"])
            }
            if common.json { print(jsonText(obj)); return }
            print(String(format: "COCO %@ evaluation: %.0f ms median (min %.0f)", iouType.rawValue, t.median, t.min))
            printPeers(obj["peers"], ours: t.median)
        } catch {
            exitWithError("replk-bench", error)
        }
    }
}

struct GEMMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "1×1 conv (GEMM) shapes of RepLKNet-31B at 224: time and GFLOP/s each.")
    @OptionGroup var common: KernelOptions
    @Option(help: "Activation fused in the epilogue: none, relu, gelu.") var activation = EpilogueActivation.none
    @Option(help: "Shapes to measure instead of 31B's, as SIDExCINxCOUT (a SIDE×SIDE map), comma-separated.")
    var shapes: ConvShapes?
    @Flag(help: "Cycle through copies of each weight matrix, 64 MB in all (more than the L3), as in a whole model where every layer's weights come from memory.")
    var cold = false

    func run() throws {
        let engine = common.engine
        let peak = measurePeak(threads: common.threads, precision: common.precision)
        let act = activation.engine
        var shapes = [(56, 128, 512), (56, 512, 128), (28, 256, 1024), (28, 1024, 256), (14, 512, 2048), (14, 2048, 512),
                      (7, 1024, 4096), (7, 4096, 1024), (56, 128, 128), (14, 512, 512)]
        if let list = self.shapes { shapes = list.values }
        var rows = [[String]]()
        for (r, cin, cout) in shapes {
            let w = [Float](repeating: 0.01, count: cin * cout)
            let copies = cold ? max(1, (64 << 20) / (4 * cin * cout)) : 1
            let convs = (0..<copies).map { _ in
                w.withUnsafeBufferPointer {
                    ConvKernel(weightOIHW: $0, bias: [Float](repeating: 0.1, count: cout), outChannels: cout, inChannels: cin,
                               kernelH: 1, kernelW: 1, engine: engine)
                }
            }
            let x = Tensor(shape: [1, r, r, cin], repeating: 0.5)
            var next = 0
            let t = measure(repeats: common.repeats) {
                _ = convs[next](x, activation: act)
                next = (next + 1) % copies
            }
            let gf = 2 * Double(r * r * cin * cout) / (t.median / 1000) / 1e9
            let gmin = 2 * Double(r * r * cin * cout) / (t.min / 1000) / 1e9
            rows.append(["\(r * r)", "\(cin)", "\(cout)", String(format: "%.3f", t.median), String(format: "%.3f", t.min), String(format: "%.0f", gf),
                         String(format: "%.0f%%", 100 * gf / peak), String(format: "%.0f%%", 100 * gmin / peak)])
        }
        if common.json {
            let keys = ["m", "k", "n", "median_ms", "min_ms", "gflops_per_s", "percent_of_peak", "percent_of_peak_min"]
            print(jsonText(["peak_gflops": peak, "threads": common.threads, "precision": common.precision.rawValue, "cold": cold,
                            "activation": activation.rawValue,
                            "shapes": rows.map { r in Dictionary(uniqueKeysWithValues: zip(keys, r.map { Double($0.replacingOccurrences(of: "%", with: ""))! as Any })) }]))
            return
        }
        print(String(format: "GEMM (1×1 conv, epilogue %@, weights %@, %@), %d thread(s), peak %.0f GFLOP/s", activation.rawValue,
                     cold ? "cold" : "in cache", common.precision.rawValue, common.threads, peak))
        print(markdownTable(header: ["M (pixels)", "K (in)", "N (out)", "ms", "min ms", "GFLOP/s", "% peak", "% peak (min)"], rows: rows, rightAligned: Set(0..<8)))
    }
}

struct Conv3x3Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv3x3",
        abstract: "Dense 3×3 convs of the UperNet and FPN heads: Winograd F(4×4, 3×3) against the direct conv, time and GFLOP/s.")
    @OptionGroup var common: KernelOptions
    @Option(help: "Shapes as SIDExCINxCOUT (a SIDE×SIDE map), comma-separated.")
    var shapes = ConvShapes(argument: "128x2048x512,128x512x512,64x512x512,16x3072x512,200x256x256")!

    func run() throws {
        let engine = common.engine
        var direct = engine
        direct.winograd = false
        let peak = measurePeak(threads: common.threads, precision: common.precision)
        var rows = [[String]]()
        var results = [[String: Any]]()
        for (r, cin, cout) in shapes.values {
            var w = [Float](repeating: 0, count: cout * cin * 9)
            for i in w.indices { w[i] = Float((i &* 2654435761) % 1000) * 5e-5 - 0.025 }
            let bias = [Float](repeating: 0.1, count: cout)
            let fast = w.withUnsafeBufferPointer {
                ConvKernel(weightOIHW: $0, bias: bias, outChannels: cout, inChannels: cin, kernelH: 3, kernelW: 3, padding: (1, 1),
                           engine: engine)
            }
            let directConv = w.withUnsafeBufferPointer {
                ConvKernel(weightOIHW: $0, bias: bias, outChannels: cout, inChannels: cin, kernelH: 3, kernelW: 3, padding: (1, 1),
                           engine: direct)
            }
            let x = Tensor(shape: [1, r, r, cin], repeating: 0.5)
            // Alternating halves, so that both see the same machine.
            // The multiply-adds as defined, and those the Winograd conv runs, as the engine counts them.
            let (_, macs, run) = FLOPCounter.count { fast(x, activation: Activation.relu) }
            var tw = measure(repeats: (common.repeats + 1) / 2) { _ = fast(x, activation: Activation.relu) }
            var td = measure(repeats: (common.repeats + 1) / 2) { _ = directConv(x, activation: Activation.relu) }
            tw += measure(warmup: 0, repeats: common.repeats / 2) { _ = fast(x, activation: Activation.relu) }
            td += measure(warmup: 0, repeats: common.repeats / 2) { _ = directConv(x, activation: Activation.relu) }
            let gd = 2 * macs / (td.median / 1000) / 1e9, gw = 2 * run / (tw.median / 1000) / 1e9
            rows.append(["\(r)×\(r)", "\(cin)", "\(cout)", String(format: "%.1f", td.median), String(format: "%.0f%%", 100 * gd / peak),
                         String(format: "%.1f", tw.median), String(format: "%.0f%%", 100 * gw / peak),
                         String(format: "%.2f×", td.median / tw.median)])
            results.append(["size": r, "in": cin, "out": cout, "direct_median_ms": td.median, "winograd_median_ms": tw.median,
                            "direct_percent_of_peak": 100 * gd / peak, "winograd_percent_of_peak_run": 100 * gw / peak])
        }
        if common.json { print(jsonText(["peak_gflops": peak, "threads": common.threads, "shapes": results])); return }
        print(String(format: "3×3 conv, stride 1, pad 1, ReLU, %d thread(s), peak %.0f GFLOP/s (Winograd's share of peak on the multiply-adds it runs)",
                     common.threads, peak))
        print(markdownTable(header: ["map", "in", "out", "direct ms", "% peak", "Winograd ms", "% peak", "speed-up"], rows: rows,
                            rightAligned: Set(0..<8)))
    }
}

struct RandomCheckpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "random-checkpoint",
        abstract: "Write a full-size classifier with random weights (official un-merged keys) as safetensors.")
    @Argument(help: "replknet-31b, replknet-31l or replknet-xl") var model: ClassifierPreset
    var name: String { model.rawValue }
    @Option var out: String

    func run() throws {
        do {
            guard let cfg = RepLKNetConfig.preset(String(name.dropFirst("replknet-".count))) else { throw ToolError.usage("unknown model \(name)") }
            let sd = randomStateDict(cfg.stateDictShapes())
            try SafeTensors.write(sd.keys.map { ($0, sd[$0]!.shape, try sd[$0]!.floats(file: name, key: $0)) }, to: out)
            print("wrote \(out): \(sd.keys.count) tensors, \(cfg.parameterCount(merged: false)) parameters")
        } catch {
            exitWithError("replk-bench", error)
        }
    }
}
