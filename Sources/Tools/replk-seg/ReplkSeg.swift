import ArgumentParser
import RepLKDatasets
import RepLKEngine
import RepLKEval
import Foundation
import RepLKImaging
import RepLKParallel
import RepLKRecords
import RepLKSegmentation
import RepLKToolSupport

@main
struct ReplkSeg: ParsableCommand {
    static func main() { mainCheckingCPU("replk-seg") }

    static let configuration = CommandConfiguration(
        commandName: "replk-seg",
        abstract: "RepLKNet + UperNet semantic segmentation (mmsegmentation checkpoints): evaluate on ADE20K / Cityscapes, segment images.",
        version: toolVersion("replk-seg"),
        subcommands: [Evaluate.self, Merge.self, Infer.self, Info.self])
}

/// `--data`: the datasets whose test pipelines, class names and palettes the tool knows.
enum SegmentationData: String, ExpressibleByArgument, CaseIterable {
    case ade20k, cityscapes
}

/// `--mode`: mmseg's test modes.
enum SegmentationMode: String, ExpressibleByArgument, CaseIterable {
    case whole, slide
}

/// Options shared by eval and infer: the model and mmseg's test configuration.
struct SegOptions: ParsableArguments {
    @Option(help: "ade20k or cityscapes: picks the test pipeline, align_corners, class names and palette.")
    var data: SegmentationData

    @Option(help: "mmsegmentation checkpoint ({'meta', 'state_dict'}).")
    var checkpoint: String

    @Option(help: "whole or slide (default: whole, as the RepLKNet ADE20K-512 and Cityscapes configs).")
    var mode: SegmentationMode = .whole

    @Option(parsing: .unconditional, help: "Slide window size (default 512; the ADE20K-640 configs use 640, mmseg's Cityscapes 769 configs 769).")
    var crop: Int = 512

    @Option(parsing: .unconditional, help: "Slide stride (default 341; 426 for crop 640, 513 for crop 769).")
    var stride: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Keep-ratio resize target 'long,short' (default 2048,512 for ADE20K, 2049,1025 for Cityscapes).", valueName: "long,short"))
    var scale: IntList?

    @Flag(help: "Multi-scale + flip test (the paper's 'ms' column).")
    var augTest = false

    @Option(parsing: .unconditional, help: "Scale ratios for --aug-test.")
    var ratios = NumberList([0.5, 0.75, 1.0, 1.25, 1.5, 1.75])

    @Flag(help: "Run the training-time backbone graph instead of the merged one.")
    var noReparam = false

    @Option(parsing: .unconditional, help: "Threads (default: all CPUs).")
    var threads: Int?

    @Option(help: depthwiseOptionHelp)
    var depthwise: DepthwiseAlgorithm?

    @Option(help: precisionOptionHelp)
    var precision: Precision = .fp32

    func validate() throws {
        requirePrecision(precision, tool: "replk-seg")
        try checkOption("--crop", crop, in: OptionLimits.imageSide)
        try checkOption("--stride", stride, in: OptionLimits.imageSide)
        try checkOption("--scale", scale, count: 2, in: OptionLimits.imageSide, form: "'long,short', e.g. 2048,512")
        try checkOption("--ratios", ratios, in: 0...8, aboveLower: true, form: "comma-separated positive numbers, e.g. 0.5,1.0,1.5")
        try checkThreads(threads)
    }

    func testConfig(model: Segmenter) throws -> SegmentationTestConfig {
        var c: SegmentationTestConfig
        switch data {
        case .ade20k: c = .ade20k
        case .cityscapes: c = .cityscapes
        }
        if let scale { c.scale = (scale.values[0], scale.values[1]) }
        switch mode {
        case .whole: c.mode = .whole
        case .slide:
            let s = stride ?? (crop == 640 ? 426 : crop == 769 ? 513 : max(1, Int((Double(crop) * 2 / 3).rounded(.down))))
            c.mode = .slide(crop: (crop, crop), stride: (s, s))
        }
        if model.backbone.config.name == "RepLKNet-XL" {
            c.mean = [127.5, 127.5, 127.5]
            c.std = [127.5, 127.5, 127.5]
        }
        if augTest { c.augRatios = ratios.values }
        return c
    }

    /// The engine configuration of the options (`--threads`, `--depthwise`, `--precision` over the environment).
    func engine() throws -> EngineConfiguration {
        try engineConfiguration(threads: threads, depthwise: depthwise, precision: precision)
    }

    func load() throws -> (Segmenter, SegmentationPipeline) {
        let model = try Segmenter(checkpoint: checkpoint, alignCorners: data == .cityscapes, reparameterize: !noReparam,
                                  engine: try engine())
        return (model, SegmentationPipeline(model: model, config: try testConfig(model: model)))
    }

    /// Class names and palette: the checkpoint's own, else the dataset's when the class count matches.
    func classes(_ model: Segmenter) -> (names: [String], palette: [(UInt8, UInt8, UInt8)]) {
        let n = model.numClasses
        let (dsNames, dsPalette) = data == .cityscapes ? (cityscapesClasses.map(\.name), cityscapesClasses.map(\.color))
                                                         : (ade20kClasses.map(\.name), ade20kClasses.map(\.color))
        let names = model.metaClasses.flatMap { $0.count == n ? $0 : nil } ?? (dsNames.count == n ? dsNames : (0..<n).map { "class \($0)" })
        let palette = model.metaPalette.flatMap { $0.count == n ? $0 : nil } ?? (dsPalette.count == n ? dsPalette : generatedPalette(n))
        return (names, palette)
    }

    /// The test settings as the results record's `test_mode` (and the journal's settings) say them.
    func describe(_ c: SegmentationTestConfig) -> [String: JSONValue] {
        var d: [String: JSONValue] = ["scale": [.int(c.scale.0), .int(c.scale.1)], "align_corners": .bool(c.alignCorners),
                                      "aug_test": .bool(c.augRatios != nil)]
        switch c.mode {
        case .whole: d["mode"] = "whole"
        case let .slide(crop, stride): d["mode"] = "slide"; d["crop"] = [.int(crop.0), .int(crop.1)]; d["stride"] = [.int(stride.0), .int(stride.1)]
        }
        if let r = c.augRatios { d["ratios"] = .array(r.map(JSONValue.double)); d["flip"] = true }
        return d
    }
}

/// A distinct colour per class (mmseg draws random palettes for unknown datasets; ours is fixed).
func generatedPalette(_ n: Int) -> [(UInt8, UInt8, UInt8)] {
    (0..<n).map { i in
        var x = UInt32(i &* 2654435761 &+ 12345)
        x ^= x >> 13
        return (UInt8(truncatingIfNeeded: x), UInt8(truncatingIfNeeded: x >> 8), UInt8(truncatingIfNeeded: x >> 16))
    }
}

func labelImage(_ labels: [Int32], width: Int, height: Int) -> Image {
    Image(width: width, height: height, channels: 1, pixels: labels.map { UInt8(clamping: $0) })
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "mIoU / mAcc / aAcc over a dataset split, with mmsegmentation's per-class table.",
        discussion: """
        Example (released checkpoint, real dataset):
          replk-seg eval --data ade20k --root /data/ADEChallengeData2016 \\
              --checkpoint RepLKNet-31B_ImageNet-1K_UperNet_ADE20K.pth
        Progress is journalled in <results>/<checkpoint>.seg-journal.jsonl: an interrupted run continues with --resume and
        ends with the same numbers. With --keep-going, unreadable images or annotations are skipped and listed.
        With --shard I/N each of N processes evaluates every N-th image and writes a partial; replk-seg merge then prints
        the unsharded tables, to the digit.
        """)

    @OptionGroup var options: SegOptions

    @Option(help: "Dataset root (ADEChallengeData2016, or the Cityscapes folder).")
    var root: String

    @Option(help: "Split (default: validation for ADE20K, val for Cityscapes).")
    var split: String?

    @Option(help: "Write each predicted label map (class indices) here, named as replk-eval seg --pred expects.")
    var savePred: String?

    @Option(help: "Write each evaluated image's drawn prediction (overlay with legend) here, as mmseg's --show-dir: <image path under the split>.jpg.")
    var showDir: String?

    @OptionGroup var evaluation: EvaluationOptions

    /// The settings a resume (or a merge) must share with the interrupted run (the journal adds
    /// the checkpoint's path and sha256).
    func journalSettings(_ config: SegmentationTestConfig, engine: EngineConfiguration) -> [String: Any] {
        var settings = options.describe(config).mapValues(\.foundationValue)
        settings["root"] = root
        settings["reparam"] = !options.noReparam
        if evaluation.shard != nil {
            // Only shards are merged: an unsharded journal keeps the fields it always had.
            settings["data"] = options.data.rawValue
            settings["split"] = split ?? defaultSplit
        }
        recordDepthwise(engine, in: &settings)
        recordPrecision(engine.precision, in: &settings)
        return settings
    }

    var defaultSplit: String { options.data == .cityscapes ? "val" : "validation" }

    func run() throws {
        do {
            let ds: SegmentationDataset = options.data == .cityscapes
                ? try CityscapesDataset(root: root, split: split ?? "val")
                : try ADE20KDataset(root: root, split: split ?? "validation")
            let (model, pipeline) = try options.load()
            let engine = model.backbone.options.engine
            let (names, _) = options.classes(model)
            let samples = Array(ds.samples.prefix(evaluation.limit ?? ds.samples.count))
            // --save-pred or --show-dir in the dataset's own folders would replace its images or ground truth.
            let inputs = InputFiles(ds.samples.flatMap { [$0.imagePath, $0.labelPath] } + [options.checkpoint])
            if let savePred {
                for s in samples { try inputs.checkNotAnInput(ds.predictionPath(s, in: savePred)) }
                try makeDirectory(savePred)
            }
            if let showDir {
                for s in samples { try inputs.checkNotAnInput(showPath(s, in: showDir)) }
                try makeDirectory(showDir)
            }
            let checkpointSHA256 = try sha256Hex(ofFile: options.checkpoint)
            var record = ResultsRecord(
                task: "segmentation", dataset: options.data.rawValue, split: split ?? defaultSplit,
                model: "UperNet " + model.backbone.config.name, checkpointPath: options.checkpoint, imageCount: 0,
                testMode: options.describe(pipeline.config), metrics: [:],
                parameters: model.mergedParameterCount,
                flops: model.macs(height: pipeline.config.scale.1, width: pipeline.config.scale.0),
                threads: engine.threads)
            record.checkpointSHA256 = checkpointSHA256
            record.depthwise = engine.depthwise.rawValue
            record.precision = engine.precision.rawValue
            record.flopsInput = [pipeline.config.scale.0, pipeline.config.scale.1]
            record.splitImages = ds.samples.count
            let report: [String: Any] = ["record": try record.object(), "classes": names]
            let (names0, palette) = options.classes(model)
            let task = SegmentationTask(dataset: ds, pipeline: pipeline, classes: model.numClasses, savePred: savePred,
                                        show: showDir.map { ($0, names0, palette) })
            let identity = EvaluationIdentity(tool: "replk-seg", kind: "seg", checkpoint: options.checkpoint,
                                              checkpointSHA256: checkpointSHA256, settings: journalSettings(pipeline.config, engine: engine))
            guard let outcomes = try evaluateOrShard(task, samples: samples, identity: identity, options: evaluation, report: report) else { return }
            try finishSegmentation(report: report, outcomes: outcomes, results: evaluation.results, json: evaluation.json)
        } catch {
            exitWithError("replk-seg", error)
        }
    }
}

/// `replk-seg eval`'s work on one image: predict, count against the ground truth, save the map.
struct SegmentationTask: EvaluationTask {
    let dataset: SegmentationDataset
    let pipeline: SegmentationPipeline
    let classes: Int
    let savePred: String?
    /// --show-dir: the folder, class names and palette of the drawings.
    let show: (dir: String, names: [String], palette: [(UInt8, UInt8, UInt8)])?

    func key(of s: SegmentationSample) -> String { s.relativePath }

    func decodeEntry(key: String, line: JournalLine) throws -> SegmentationEntry {
        try SegmentationEntry(line, classes: classes)
    }

    func evaluate(_ batch: [SegmentationSample]) throws -> [Result<SegmentationEntry, Error>] {
        batch.map { s in Result { try evaluate(s) } }
    }

    private func evaluate(_ s: SegmentationSample) throws -> SegmentationEntry {
        let image = try Image(contentsOf: s.imagePath)
        let gt = try dataset.label(s)
        guard gt.width == image.width && gt.height == image.height else {
            throw ToolError.io(path: s.labelPath, detail: "label map is \(gt.width)×\(gt.height) but its image is \(image.width)×\(image.height)")
        }
        let out = pipeline(image)
        let pred = out.labels.map { UInt8(clamping: $0) }
        let c: (intersect: [Int], pred: [Int], label: [Int])
        do {
            c = try SegmentationMetric.counts(prediction: pred, label: gt.values, numClasses: classes)
        } catch {
            throw ToolError.io(path: s.labelPath, detail: "\(error)")
        }
        if let savePred {
            let path = dataset.predictionPath(s, in: savePred)
            try makeDirectory((path as NSString).deletingLastPathComponent)
            try labelImage(out.labels, width: out.width, height: out.height).write(to: path)
        }
        if let show {
            let path = showPath(s, in: show.dir)
            try makeDirectory((path as NSString).deletingLastPathComponent)
            try segmentationOverlay(image: image, labels: out.labels, classNames: show.names, palette: show.palette).write(to: path)
        }
        return .counts(intersect: c.intersect, pred: c.pred, label: c.label)
    }

    func skipEntry(_ reason: String) -> SegmentationEntry? { .skipped(reason) }
    func outcome(of e: SegmentationEntry) -> SegmentationEntry { e }

    static func skipReason(_ e: SegmentationEntry) -> String? {
        if case let .skipped(why) = e { return why }
        return nil
    }
}

/// mmseg's tables over the per-image counts, added in dataset order (so that a resumed or merged
/// run sums exactly as an uninterrupted one), and the results record.
func finishSegmentation(report: [String: Any], outcomes o: EvaluationOutcomes<SegmentationEntry>, results: String, json: Bool) throws {
    let names = (report["classes"] as? [Any])?.compactMap { $0 as? String } ?? []
    var metric = SegmentationMetric(classNames: names)
    var evaluated = 0
    for (_, e) in o.outcomes {
        if case let .counts(i, p, l) = e {
            metric.add(intersect: i, pred: p, label: l)
            evaluated += 1
        }
    }
    let r = metric.summary()
    func num(_ v: Float) -> JSONValue { v.isNaN ? .null : .double(Double("\(v)")!) }
    var rec = try ResultsRecord(object: report["record"] as? [String: Any] ?? [:])
    rec.imageCount = evaluated
    rec.metrics = ["aAcc": num(r.aAcc), "mIoU": num(r.mIoU), "mAcc": num(r.mAcc), "IoU": .array(r.iou.map(num)), "Acc": .array(r.acc.map(num)),
                   "classes": .array(names.map(JSONValue.string))]
    rec.throughput = o.seconds > 0 ? Double(o.computed) / o.seconds : nil
    rec.latencyMs = o.computed > 0 ? 1000 * o.seconds / Double(o.computed) : nil
    rec.shards = o.shards
    rec.shardSeconds = o.shards != nil ? o.seconds : nil
    rec.identifySamples(count: o.samples, digest: o.samplesDigest, evaluated: evaluated)
    let recordPath = try rec.write(to: results)
    if json {
        var obj = rec.metrics.mapValues(\.foundationValue)
        obj["images"] = evaluated; obj["skipped"] = o.skipped; obj["record"] = recordPath
        print(jsonText(obj))
        return
    }
    print("per class results:\n" + r.classTable)
    print("\nSummary:\n" + r.summaryTable)
    print("\n" + r.logLine)
    printSkipped(o.skipped)
    print("\nresults record: \(recordPath)")
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put the partials of `eval --shard I/N` together: the unsharded run's tables and results record.",
        discussion: """
        Example:
          replk-seg merge --results results/
        The per-image counts are added in the unsharded order, so the tables print the same digits. Refuses, naming
        the shard and what differs, partials of other settings or another sample list, a missing or duplicate
        shard, and a truncated partial.
        """)

    @OptionGroup var merge: MergeOptions

    func run() throws {
        do {
            let (outcomes, report) = try mergePartials(SegmentationTask.self, kind: "seg", in: merge.results) { report in
                guard let classes = (report["classes"] as? [Any])?.count, classes >= 1 else {
                    throw MergeError("\(merge.results): the partials' header has no class list")
                }
                return { _, line in try SegmentationEntry(line, classes: classes) }
            }
            try finishSegmentation(report: report, outcomes: outcomes, results: merge.results, json: merge.json)
        } catch {
            exitWithError("replk-seg", error)
        }
    }
}

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Segment images: DIR/<name>.png (class indices at the original size) and DIR/<name>_overlay.jpg.",
        discussion: """
        Examples:
          replk-seg infer --data ade20k \\
              --checkpoint RepLKNet-31B_ImageNet-1K_UperNet_ADE20K.pth photo.jpg \\
              --out out/
          replk-seg infer --data ade20k \\
              --checkpoint RepLKNet-31B_ImageNet-1K_UperNet_ADE20K.pth \\
              images/validation/ --out out/ --keep-going
        The overlay's legend lists the classes present, largest first, each with its colour as it appears over the
        photo and its palette colour.
        """)

    @OptionGroup var options: SegOptions

    @Option(parsing: .unconditional, help: "Opacity of the class colours over the photo, 0 (none) to 1 (opaque).")
    var opacity: Double = 0.5

    @Option(help: "Output folder (inputs from several folders keep the sub-folders that tell them apart).")
    var out: String

    @OptionGroup var runOptions: InferRunOptions

    @Argument(help: inferImagesHelp)
    var images: [String]

    func validate() throws {
        try checkOption("--opacity", opacity, in: 0...1)
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
    }

    func run() throws {
        do {
            let images = try expandImageInputs(self.images)
            // Planned before any work: an output that would replace an input, or two inputs
            // sharing an output, stops the run before anything is written.
            let outputs = try inferOutputs(for: images, in: out, suffixes: [".png", "_overlay.jpg"], otherInputs: [options.checkpoint])
            let (model, pipeline) = try options.load()
            let (names, palette) = options.classes(model)
            noteFontFallback("replk-seg")
            try makeDirectory(out)
            let progress = Progress(total: images.count, label: "infer", enabled: !runOptions.quiet && images.count > 1)
            var skipped = SkippedInputs()
            for (path, files) in zip(images, outputs) {
                do {
                    let image = try Image(contentsOf: path)
                    let t0 = Date()
                    let r = pipeline(image)
                    let ms = 1000 * Date().timeIntervalSince(t0)
                    let (labelPath, overlayPath) = (files[0], files[1])
                    try makeDirectory((labelPath as NSString).deletingLastPathComponent)
                    try labelImage(r.labels, width: r.width, height: r.height).write(to: labelPath)
                    let drawing = segmentationDrawing(image: image, labels: r.labels, classNames: names, palette: palette,
                                                      opacity: Float(opacity))
                    try drawing.image.write(to: overlayPath)
                    if !runOptions.quiet {
                        let top = drawing.legend.prefix(5).map { "\($0.name) \(String(format: "%.1f", $0.percent))%" }
                        print("\(path): \(r.width)×\(r.height), \(String(format: "%.0f", ms)) ms → \(labelPath), \(overlayPath)  [\(top.joined(separator: ", "))]")
                    }
                } catch {
                    if !runOptions.keepGoing { throw error }
                    skipped.add(error)
                }
                progress.step()
            }
            skipped.reportAndExitIfAny("replk-seg", total: images.count)
        } catch {
            exitWithError("replk-seg", error)
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "FLOPs and parameters of a UperNet checkpoint at any input size.",
        discussion: """
        Example (the RepLKNet ADE20K table's input):
          replk-seg info --checkpoint RepLKNet-31B_ImageNet-1K_UperNet_ADE20K.pth \\
              --shape 512,2048
        FLOPs are multiply-accumulates counted by the engine, as replk-bench cost counts them: one whole-image pass,
        the FCN auxiliary head included, as the RepLKNet tables count it.
        """)

    @Option(help: "mmsegmentation UperNet checkpoint.")
    var checkpoint: String

    @Option(help: inputShapeHelp)
    var shape = InputShape(height: 512, width: 2048)

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        do {
            let model = try Segmenter(checkpoint: checkpoint, alignCorners: false)
            let macs = model.macs(height: shape.height, width: shape.width)
            print(modelCostReport(checkpoint: checkpoint, model: "UperNet " + model.backbone.config.name, input: shape, macs: macs,
                                  parametersMerged: model.mergedParameterCount, parametersCheckpoint: model.parameterCount,
                                  note: "\(model.numClasses) classes; the auxiliary head's FLOPs counted, as the RepLKNet tables do", json: json))
        } catch {
            exitWithError("replk-seg", error)
        }
    }
}

/// Where `eval --show-dir` draws `sample`: its path under the split, with `.jpg`.
func showPath(_ sample: SegmentationSample, in dir: String) -> String {
    let rel = sample.relativePath
    let stem = rel.lastIndex(of: ".").map { String(rel[..<$0]) } ?? rel
    return dir + "/" + stem + ".jpg"
}
