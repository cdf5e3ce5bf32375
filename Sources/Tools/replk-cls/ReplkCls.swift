import ArgumentParser
import RepLKBackbone
import RepLKClassification
import RepLKDatasets
import RepLKEngine
import RepLKEval
import Foundation
import RepLKImaging
import RepLKParallel
import RepLKRecords
import RepLKToolSupport
import RepLKWeights

@main
struct ReplkCls: ParsableCommand {
    static func main() { mainCheckingCPU("replk-cls") }

    static let configuration = CommandConfiguration(
        commandName: "replk-cls",
        abstract: "RepLKNet image classification: predict, evaluate on an ImageNet-style folder, export merged weights.",
        version: toolVersion("replk-cls"),
        subcommands: [Infer.self, Evaluate.self, Merge.self, Reparam.self, Info.self])
}

struct ModelOptions: ParsableArguments {
    @Option(help: "Classifier checkpoint (.pth zip or legacy, or .safetensors; plain, {'model': …} or {'state_dict': …}).")
    var checkpoint: String

    @Option(parsing: .unconditional, help: "Network input size (default: 224; 384 for 31L, 320 for XL, as released).")
    var inputSize: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Normalisation mean, three comma-separated numbers (default: ImageNet, or 0.5 for XL).", valueName: "r,g,b"))
    var mean: NumberList?

    @Option(parsing: .unconditional, help: ArgumentHelp("Normalisation std, three comma-separated positive numbers.", valueName: "r,g,b"))
    var std: NumberList?

    @Flag(help: "Run the training-time graph (large and small kernels and every BN separately) instead of the merged one.")
    var noReparam = false

    @Flag(help: "Use the EMA weights (model_ema) of a training checkpoint.")
    var ema = false

    @Option(parsing: .unconditional, help: "Threads (default: all CPUs).")
    var threads: Int?

    @Option(help: depthwiseOptionHelp)
    var depthwise: DepthwiseAlgorithm?

    @Option(help: precisionOptionHelp)
    var precision: Precision = .fp32

    func validate() throws {
        requirePrecision(precision, tool: "replk-cls")
        try checkOption("--input-size", inputSize, in: OptionLimits.imageSide)
        try checkOption("--mean", mean, count: 3, in: -1e6...1e6, form: "three comma-separated numbers, e.g. 0.485,0.456,0.406")
        try checkOption("--std", std, count: 3, in: 0...1e6, aboveLower: true, form: "three comma-separated positive numbers, e.g. 0.229,0.224,0.225")
        try checkThreads(threads)
    }

    /// The engine configuration of the options (`--threads`, `--depthwise`, `--precision` over the environment).
    func engine() throws -> EngineConfiguration {
        try engineConfiguration(threads: threads, depthwise: depthwise, precision: precision)
    }

    func load() throws -> Classifier {
        try Classifier(checkpoint: checkpoint, reparameterize: !noReparam, variant: ema ? .ema : .model,
                       inputSize: inputSize, mean: mean?.values.map(Float.init), std: std?.values.map(Float.init),
                       engine: try engine())
    }
}

/// Class names: a file (one per line), else ImageNet-1K for 1000-class heads, else "class N".
func loadClassNames(file: String?, count: Int) throws -> [String] {
    if let file {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ToolError.io(path: file, detail: "cannot read class names")
        }
        let names = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
        guard names.count == count else {
            throw ToolError.io(path: file, detail: "has \(names.count) class names, the model has \(count) classes")
        }
        return names
    }
    if count == 1000 { return imageNet1KClassNames }
    return (0..<count).map { "class \($0)" }
}

/// `eval --data`: the dataset layouts classification reads.
enum ClassificationData: String, ExpressibleByArgument, CaseIterable {
    case imagenet
}

func softmaxRow(_ v: ArraySlice<Float>) -> [Float] {
    let m = v.max() ?? 0
    let e = v.map { expf($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Top-k classes for images, or logits for a preprocessed tensor.",
        discussion: """
        Examples:
          replk-cls infer --checkpoint RepLKNet-31B_ImageNet-1K_224.pth photo.jpg
          replk-cls infer --checkpoint model.pth --tensor input.npy \\
              --save-logits logits.npy [--no-reparam]
        """)

    @OptionGroup var model: ModelOptions

    @Option(parsing: .unconditional, help: "Number of classes to show per image (at most the model's classes are shown).")
    var topK = 5

    @Option(help: "Text file with one class name per line (default: ImageNet-1K names for 1000-class heads).")
    var classNames: String?

    @Option(help: "Feed an already-normalised NCHW float32 .npy tensor instead of images (no preprocessing).")
    var tensor: String?

    @Option(help: "Write the N×classes logits to this .npy file.")
    var saveLogits: String?

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    @OptionGroup var runOptions: InferRunOptions

    @Argument(help: inferImagesHelp)
    var images: [String] = []

    func validate() throws {
        try checkOption("--top-k", topK, in: OptionLimits.positive)
        guard tensor != nil || !images.isEmpty else { throw ValidationError("give images, or --tensor FILE.npy") }
    }

    func run() throws {
        do {
            let images = try expandImageInputs(self.images)
            if let saveLogits {
                try InputFiles(images + [tensor, classNames, model.checkpoint].compactMap { $0 }).checkNotAnInput(saveLogits)
            }
            let clf = try model.load()
            let names = try loadClassNames(file: classNames, count: clf.numClasses)
            var rows = [Float]()
            var labels = [String]()
            var skipped = SkippedInputs()
            let classes = clf.numClasses
            var results = [[String: Any]]()
            func report(_ v: [Float], _ batchLabels: [String]) {
                for (i, label) in batchLabels.enumerated() {
                    let p = softmaxRow(v[(i * classes)..<((i + 1) * classes)])
                    let order = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }.prefix(topK)
                    results.append(["input": label, "top": order.map { ["class": $0, "name": names[$0], "probability": Double(p[$0])] }])
                    if !json {
                        print("\(label):")
                        print(markdownTable(header: ["rank", "class", "name", "probability"],
                                            rows: order.enumerated().map { r, c in ["\(r + 1)", "\(c)", names[c], String(format: "%.4f", p[c])] },
                                            rightAligned: [0, 1, 3]))
                    }
                }
            }
            if let tensor {
                let x = try NPY.read(path: tensor)
                guard x.shape.count == 4, x.shape[1] == clf.model.config.inChannels else {
                    throw ToolError.io(path: tensor, detail: "expected an N×\(clf.model.config.inChannels)×H×W tensor, found shape \(x.shape)")
                }
                rows = clf.logits(nchw: x.values, shape: x.shape).scalars
                labels = (0..<x.shape[0]).map { "\(tensor)[\($0)]" }
                report(rows, labels)
            } else {
                // Batches of 8, so that a folder of any size runs in bounded memory, with progress.
                let progress = Progress(total: images.count, label: "infer", enabled: !runOptions.quiet && images.count > 8)
                var start = 0
                while start < images.count {
                    let batch = images[start..<min(start + 8, images.count)]
                    start += batch.count
                    var decoded = [Image](), ok = [String]()
                    for path in batch {
                        do {
                            decoded.append(try Image(contentsOf: path))
                            ok.append(path)
                        } catch {
                            if !runOptions.keepGoing { throw error }
                            skipped.add(error)
                        }
                    }
                    if !decoded.isEmpty {
                        let v = clf.logits(decoded).scalars
                        rows += v
                        labels += ok
                        report(v, ok)
                    }
                    progress.step(batch.count)
                }
            }
            if let saveLogits { try NPY.write(path: saveLogits, shape: [labels.count, classes], values: rows) }
            if json { print(jsonText(["model": clf.model.config.name, "results": results])) }
            skipped.reportAndExitIfAny("replk-cls", total: images.count)
        } catch {
            exitWithError("replk-cls", error)
        }
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Top-1 / top-5 accuracy over an ImageNet-style folder (sorted class folders = class indices).",
        discussion: """
        Example:
          replk-cls eval --data imagenet --root /data/imagenet/val \\
              --checkpoint RepLKNet-31B_ImageNet-1K_224.pth
        An interrupted run continues with --resume (progress is kept in <results>/<checkpoint>.cls-journal.jsonl).
        With --shard I/N each of N processes evaluates every N-th image and writes a partial; replk-cls merge then
        prints the unsharded table.
        """)

    @Option(help: "Dataset layout: imagenet (ImageNet-style class folders).")
    var data: ClassificationData = .imagenet

    @Option(help: "Folder with one sub-folder per class.")
    var root: String

    @OptionGroup var model: ModelOptions

    @Option(parsing: .unconditional, help: "Images per forward pass.")
    var batchSize = 8

    @OptionGroup var evaluation: EvaluationOptions

    func validate() throws {
        try checkOption("--batch-size", batchSize, in: OptionLimits.positive)
    }

    /// The settings a resume (or a merge) must share with the interrupted run (the journal adds
    /// the checkpoint's path and sha256).
    func journalSettings(_ clf: Classifier) -> [String: Any] {
        var settings: [String: Any] = ["root": root, "input_size": clf.preprocess.inputSize,
                                       "reparam": !model.noReparam, "ema": model.ema]
        recordDepthwise(clf.model.options.engine, in: &settings)
        recordPrecision(clf.model.options.precision, in: &settings)
        return settings
    }

    func run() throws {
        do {
            let ds = try ImageFolderDataset(root: root)
            let clf = try model.load()
            guard ds.classNames.count <= clf.numClasses else {
                throw ToolError.usage("\(root) has \(ds.classNames.count) class folders but the model predicts \(clf.numClasses) classes")
            }
            let samples = Array(ds.samples.prefix(evaluation.limit ?? ds.samples.count))
            let checkpointSHA256 = try sha256Hex(ofFile: model.checkpoint)
            let task = ClassificationTask(classifier: clf, labels: Dictionary(samples.map { ($0.path, $0.label) }, uniquingKeysWith: { a, _ in a }),
                                          batchSize: batchSize)
            var record = ResultsRecord(
                task: "classification", dataset: "imagenet", split: (root as NSString).lastPathComponent,
                model: clf.model.config.name, checkpointPath: model.checkpoint, imageCount: 0,
                testMode: ["input_size": .int(clf.preprocess.inputSize), "crop_pct": .double(clf.preprocess.cropPct), "interpolation": "bicubic"],
                metrics: [:], parameters: clf.model.config.parameterCount(merged: true), threads: clf.model.options.engine.threads)
            record.checkpointSHA256 = checkpointSHA256
            record.flops = clf.macs
            record.depthwise = clf.model.options.engine.depthwise.rawValue
            record.precision = clf.model.options.precision.rawValue
            record.flopsInput = [clf.preprocess.inputSize, clf.preprocess.inputSize]
            record.splitImages = ds.samples.count
            let report: [String: Any] = ["record": try record.object(), "classes": clf.numClasses]
            let identity = EvaluationIdentity(tool: "replk-cls", kind: "cls", checkpoint: model.checkpoint,
                                              checkpointSHA256: checkpointSHA256, settings: journalSettings(clf))
            guard let outcomes = try evaluateOrShard(task, samples: samples, identity: identity, options: evaluation, report: report) else { return }
            try finishClassification(report: report, outcomes: outcomes, results: evaluation.results, json: evaluation.json)
        } catch {
            exitWithError("replk-cls", error)
        }
    }
}

/// `replk-cls eval`'s work on one batch of images.
struct ClassificationTask: EvaluationTask {
    let classifier: Classifier
    let labels: [String: Int]
    let batchSize: Int

    func key(of s: ImageFolderDataset.Sample) -> String { s.path }

    func decodeEntry(key: String, line: JournalLine) throws -> LogitsEntry {
        try LogitsEntry(line, classes: classifier.numClasses, expectedLabel: labels[key]!)
    }

    func evaluate(_ batch: [ImageFolderDataset.Sample]) throws -> [Result<LogitsEntry, Error>] {
        var out = [Result<LogitsEntry, Error>?](repeating: nil, count: batch.count)
        var imgs = [Image](), at = [Int]()
        for (j, s) in batch.enumerated() {
            do {
                imgs.append(try Image(contentsOf: s.path))
                at.append(j)
            } catch {
                out[j] = .failure(error)
            }
        }
        if !imgs.isEmpty {
            let logits = classifier.logits(imgs)
            let k = logits.shape[1]
            let v = logits.scalars
            for (n, j) in at.enumerated() {
                out[j] = .success(LogitsEntry(label: batch[j].label, logits: Array(v[(n * k)..<((n + 1) * k)])))
            }
        }
        return out.map { $0! }
    }

    func skipEntry(_ reason: String) -> LogitsEntry? { nil }

    func outcome(of e: LogitsEntry) -> RankedEntry {
        RankedEntry(label: e.label, top: TopKAccuracy.ranking(scores: e.logits, k: 5))
    }

    static func skipReason(_ outcome: RankedEntry) -> String? { nil }
}

/// Top-1 / top-5 over the outcomes in dataset order: the table (or JSON) and the results record,
/// the same for an unsharded run and for `merge`.
func finishClassification(report: [String: Any], outcomes o: EvaluationOutcomes<RankedEntry>, results: String, json: Bool) throws {
    var acc = TopKAccuracy(ks: [1, 5])
    for (_, e) in o.outcomes { acc.add(ranked: e.top, label: e.label) }
    let summary = acc.summary()
    let top1 = summary[0].percent, top5 = summary[1].percent
    var rec = try ResultsRecord(object: report["record"] as? [String: Any] ?? [:])
    rec.imageCount = acc.count
    rec.metrics = ["top1": .double(top1), "top5": .double(top5)]
    rec.throughput = o.seconds > 0 ? Double(o.computed) / o.seconds : nil
    rec.shards = o.shards
    rec.shardSeconds = o.shards != nil ? o.seconds : nil
    rec.identifySamples(count: o.samples, digest: o.samplesDigest, evaluated: acc.count)
    let recordPath = try rec.write(to: results)
    if json {
        print(jsonText(["top1": top1, "top5": top5, "images": acc.count, "record": recordPath, "skipped": o.skipped]))
        return
    }
    print(markdownTable(header: ["model", "checkpoint", "images", "top-1 (%)", "top-5 (%)"],
                        rows: [[rec.model, rec.checkpointPath, "\(acc.count)",
                                String(format: "%.2f", top1), String(format: "%.2f", top5)]],
                        rightAligned: [2, 3, 4]))
    printSkipped(o.skipped, what: "unreadable image(s)")
    print("\nresults record: \(recordPath)")
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put the partials of `eval --shard I/N` together: the unsharded run's table and results record.",
        discussion: """
        Example:
          replk-cls merge --results results/
        Refuses, naming the shard and what differs, partials of other settings or another sample list, a missing
        or duplicate shard, and a truncated partial.
        """)

    @OptionGroup var merge: MergeOptions

    func run() throws {
        do {
            let (outcomes, report) = try mergePartials(ClassificationTask.self, kind: "cls", in: merge.results) { report in
                guard let classes = report["classes"].flatMap(JournalLine.integer), classes >= 1 else {
                    throw MergeError("\(merge.results): the partials' header has no class count")
                }
                return { _, line in try RankedEntry(line, classes: classes, k: 5) }
            }
            try finishClassification(report: report, outcomes: outcomes, results: merge.results, json: merge.json)
        } catch {
            exitWithError("replk-cls", error)
        }
    }
}

struct Reparam: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the merged (deploy) weights: each large kernel fused with its BN and the 5×5 branch.",
        discussion: """
        The output uses the official key names of structural_reparam() (…large_kernel.lkb_reparam.weight/bias);
        every other tensor is copied. Running statistics counters (num_batches_tracked) are dropped.
          replk-cls reparam --checkpoint in.pth --out deploy.safetensors
        """)

    @Option(help: "Un-merged checkpoint (classifier or mmseg/mmdet).")
    var checkpoint: String

    @Option(help: "Output .safetensors file.")
    var out: String

    @Flag(help: "Use the EMA weights (model_ema) of a training checkpoint.")
    var ema = false

    func run() throws {
        do {
            try InputFiles([checkpoint]).checkNotAnInput(out)
            let sd = try Checkpoint(path: checkpoint).stateDict(ema ? .ema : .model)
            let merged = try StructuralReparam.merge(sd, file: checkpoint)
            try SafeTensors.write(merged, metadata: ["format": "pt", "source": (checkpoint as NSString).lastPathComponent,
                                                     "note": "RepLKNet structural_reparam() form"], to: out)
            let before = sd.keys.count, after = merged.count
            print("wrote \(out): \(after) tensors (from \(before)), \(merged.reduce(0) { $0 + $1.values.count }) values")
        } catch {
            exitWithError("replk-cls", error)
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the configuration, parameter counts and FLOPs (at any input size) of a checkpoint.",
        discussion: """
        Example:
          replk-cls info --checkpoint RepLKNet-31B_ImageNet-1K_224.pth --shape 384,384
        FLOPs are multiply-accumulates counted by the engine, as replk-bench cost counts them; for an mmseg/mmdet
        checkpoint, of its backbone alone (replk-seg info and replk-det info count the whole model).
        """)

    @Option(help: "Checkpoint (classifier, or mmseg/mmdet: the backbone is shown).")
    var checkpoint: String

    @Option(help: ArgumentHelp("Input size H,W to count FLOPs at (one number for a square; default: the released input size, 224, 384 for 31L, 320 for XL).", valueName: "H,W"))
    var shape: InputShape?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        do {
            let ck = try Checkpoint(path: checkpoint)
            var sd = try ck.stateDict()
            if sd["stem.0.conv.weight"] == nil && sd["backbone.stem.0.conv.weight"] != nil { sd = sd.stripping(prefix: "backbone.") }
            let c = try RepLKNetConfig.infer(from: sd, file: checkpoint)
            // The counted network: the checkpoint's own weights (the backbone's keys of a downstream one).
            let net = try RepLKNet(stateDict: sd,
                                   file: checkpoint, options: RepLKNetOptions(includeHead: c.numClasses != nil))
            let side = ClassificationPreprocess.official(for: c).inputSize
            let input = shape ?? InputShape(height: side, width: side)
            let macs = net.macs(height: input.height, width: input.width)
            let info: [String: Any] = [
                "input": [input.height, input.width], "gmacs": macs / 1e9, "macs": macs,
                "model": c.name, "format": ck.format.rawValue, "channels": c.channels, "layers": c.layers,
                "large_kernels": c.largeKernels, "small_kernel": c.smallKernel as Any? ?? NSNull(),
                "dw_ratio": c.dwRatio, "ffn_ratio": c.ffnRatio, "num_classes": c.numClasses as Any? ?? NSNull(),
                "merged_checkpoint": c.checkpointMerged, "norm_intermediate_features": c.normIntermediateFeatures,
                "params_unmerged": c.checkpointMerged ? NSNull() : c.parameterCount(merged: false) as Any,
                "params_merged": c.parameterCount(merged: true),
            ]
            if json { print(jsonText(info)); return }
            print("\(checkpoint): \(c.name)")
            print("  channels \(c.channels), layers \(c.layers), large kernels \(c.largeKernels), small kernel \(c.smallKernel.map(String.init) ?? "none")")
            print("  dw_ratio \(c.dwRatio), ffn_ratio \(c.ffnRatio), head: \(c.numClasses.map { "\($0) classes" } ?? "none (downstream backbone)")")
            if !c.checkpointMerged { print("  parameters: \(grouped(c.parameterCount(merged: false))) un-merged") }
            print("  parameters: \(grouped(c.parameterCount(merged: true))) merged (after structural re-parameterisation)")
            print("  input \(input.height)×\(input.width) (H×W): \(formatGFLOPs(macs)) GFLOPs (multiply-accumulates, as the RepLKNet tables count them\(c.numClasses == nil ? "; backbone only" : ""))")
        } catch {
            exitWithError("replk-cls", error)
        }
    }
}

