import ArgumentParser
import RepLKDatasets
import RepLKDetection
import RepLKEngine
import RepLKEval
import Foundation
import RepLKImaging
import RepLKParallel
import RepLKRecords
import RepLKToolSupport

@main
struct ReplkDet: ParsableCommand {
    static func main() { mainCheckingCPU("replk-det") }

    static let configuration = CommandConfiguration(
        commandName: "replk-det",
        abstract: "RepLKNet + Cascade Mask R-CNN detection (mmdetection checkpoints): detect objects, evaluate on COCO.",
        version: toolVersion("replk-det"),
        subcommands: [Infer.self, Evaluate.self, Merge.self, Info.self])
}

struct DetOptions: ParsableArguments {
    @Option(help: "mmdetection Cascade Mask R-CNN checkpoint ({'meta', 'state_dict'}).")
    var checkpoint: String

    @Option(parsing: .unconditional, help: ArgumentHelp("Keep-ratio resize target 'long,short' (default 1333,800 as coco_instance.py).", valueName: "long,short"))
    var scale = IntList([1333, 800])

    @Flag(help: "Run the training-time backbone graph instead of the merged one.")
    var noReparam = false

    @Option(parsing: .unconditional, help: "Threads (default: all CPUs).")
    var threads: Int?

    @Option(help: depthwiseOptionHelp)
    var depthwise: DepthwiseAlgorithm?

    @Option(help: precisionOptionHelp)
    var precision: Precision = .fp32

    func validate() throws {
        requirePrecision(precision, tool: "replk-det")
        try checkOption("--scale", scale, count: 2, in: OptionLimits.imageSide, form: "'long,short', e.g. 1333,800")
        try checkThreads(threads)
    }

    /// The engine configuration of the options (`--threads`, `--depthwise`, `--precision` over the environment).
    func engine() throws -> EngineConfiguration {
        try engineConfiguration(threads: threads, depthwise: depthwise, precision: precision)
    }

    func load() throws -> DetectionPipeline {
        let model = try CascadeMaskRCNN(checkpoint: checkpoint, reparameterize: !noReparam, engine: try engine())
        var p = DetectionPipeline(model: model)
        p.scale = (scale.values[0], scale.values[1])
        return p
    }
}

/// `eval --data`: the dataset layouts detection reads.
enum DetectionData: String, ExpressibleByArgument, CaseIterable {
    case coco
}

/// Class names: the checkpoint's, else COCO's for 80 classes, else "class N".
func classNames(_ model: CascadeMaskRCNN) -> [String] {
    let n = model.numClasses
    if let m = model.metaClasses, m.count == n { return m }
    if n == 80 { return cocoCategories.map(\.name) }
    return (0..<n).map { "class \($0)" }
}

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Detect objects: DIR/<name>.jpg (boxes, labels, scores, masks) and DIR/<name>.json (COCO results).",
        discussion: """
        Examples:
          replk-det infer \\
              --checkpoint RepLKNet-31B_ImageNet-22K_CascMaskRCNN_COCO.pth \\
              street.jpg --out out/
          replk-det infer \\
              --checkpoint RepLKNet-31B_ImageNet-22K_CascMaskRCNN_COCO.pth photos/ \\
              @more.txt --out out/ --keep-going
        The JSON lists every detection the model keeps (score > 0.05, at most 100), as mmdetection writes them:
        bbox as x, y, w, h in original pixels, score, category_id (official COCO ids for 80-class models, index + 1
        otherwise), segmentation as compressed RLE. --score-thr only selects what is drawn. Labels are drawn in
        DejaVu Sans (REPLK_FONT=FILE.ttf for another font), sized to the image, never over another label's text.
        """)

    @OptionGroup var options: DetOptions

    @Option(parsing: .unconditional, help: "Lowest score drawn on the image (0 to 1).")
    var scoreThr: Float = 0.3

    @Option(parsing: .unconditional, help: "Opacity of the drawn masks, 0 (none) to 1 (opaque).")
    var opacity: Double = 0.45

    @Option(help: "Output folder (inputs from several folders keep the sub-folders that tell them apart).")
    var out: String

    @OptionGroup var runOptions: InferRunOptions

    @Argument(help: inferImagesHelp)
    var images: [String]

    func validate() throws {
        try checkOption("--score-thr", Double(scoreThr), in: 0...1)
        try checkOption("--opacity", opacity, in: 0...1)
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
    }

    func run() throws {
        do {
            let images = try expandImageInputs(self.images)
            // Planned before any work: an output that would replace an input (the drawing over
            // the photo), or two inputs sharing an output, stops the run before anything is written.
            let outputs = try inferOutputs(for: images, in: out, suffixes: [".jpg", ".json"], otherInputs: [options.checkpoint])
            let pipeline = try options.load()
            let names = classNames(pipeline.model)
            let ids = pipeline.model.numClasses == 80 ? cocoCategories.map(\.id) : Array(1...pipeline.model.numClasses)
            let palette = detectionPalette(names.count)
            let style = DetectionDrawingStyle(maskOpacity: Float(opacity))
            noteFontFallback("replk-det")
            try makeDirectory(out)
            let progress = Progress(total: images.count, label: "infer", enabled: !runOptions.quiet && images.count > 1)
            var skipped = SkippedInputs()
            for (n, (path, files)) in zip(images, outputs).enumerated() {
                do {
                    let image = try Image(contentsOf: path)
                    let t0 = Date()
                    let (dets, _) = pipeline(image)
                    let ms = 1000 * Date().timeIntervalSince(t0)
                    let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
                    let imageId = Int(base) ?? (n + 1)
                    let (drawingPath, resultsPath) = (files[0], files[1])
                    try makeDirectory((drawingPath as NSString).deletingLastPathComponent)
                    let results = dets.map { $0.cocoResult(imageId: imageId, categoryIds: ids, imageWidth: image.width, imageHeight: image.height) }
                    try writeText(jsonText(results, pretty: false) + "\n", to: resultsPath)
                    let shown = dets.filter { $0.score >= scoreThr }
                    try drawDetections(image, shown, classNames: names, palette: palette, style: style).image.write(to: drawingPath)
                    if !runOptions.quiet {
                        print("\(path): \(dets.count) detections (\(shown.count) ≥ \(scoreThr)), \(String(format: "%.0f", ms)) ms → \(drawingPath), \(resultsPath)")
                    }
                } catch {
                    if !runOptions.keepGoing { throw error }
                    skipped.add(error)
                }
                progress.step()
            }
            skipped.reportAndExitIfAny("replk-det", total: images.count)
        } catch {
            exitWithError("replk-det", error)
        }
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "COCO box and mask AP (mmdetection's CocoMetric: pycocotools with maxDets 100, 300, 1000).",
        discussion: """
        Example:
          replk-det eval --data coco --root /data/coco \\
              --checkpoint RepLKNet-31B_ImageNet-22K_CascMaskRCNN_COCO.pth
        Detections are journalled per image in <results>/<checkpoint>.det-journal.jsonl as they are computed; an
        interrupted run continues with --resume. The COCO results files detections/<checkpoint>.bbox.json and
        .segm.json are written at the end. With --shard I/N each of N processes evaluates every N-th image and writes a
        partial; replk-det merge then writes the results files and prints the unsharded tables.
        """)

    @Option(help: "Dataset layout: coco.")
    var data = DetectionData.coco

    @Option(help: "COCO root (holding <split>/ and annotations/).")
    var root: String

    @Option(help: "Split (images folder and annotations/instances_<split>.json).")
    var split = "val2017"

    @OptionGroup var options: DetOptions

    @Option(help: "Write each evaluated image's drawn detections here, as mmdet's --show-dir: <file name>.jpg.")
    var showDir: String?

    @Option(parsing: .unconditional, help: "Lowest score drawn with --show-dir (0 to 1; mmdet's show-score-thr).")
    var showScoreThr: Float = 0.3

    @OptionGroup var evaluation: EvaluationOptions

    func validate() throws {
        try checkOption("--show-score-thr", Double(showScoreThr), in: 0...1)
    }

    /// The settings a resume (or a merge) must share with the interrupted run (the journal adds
    /// the checkpoint's path and sha256).
    func journalSettings(engine: EngineConfiguration) -> [String: Any] {
        var settings: [String: Any] = ["root": root, "split": split, "scale": options.scale.defaultValueDescription,
                                       "reparam": !options.noReparam]
        recordDepthwise(engine, in: &settings)
        recordPrecision(engine.precision, in: &settings)
        return settings
    }

    func run() throws {
        do {
            let ds = try COCODataset(root: root, split: split)
            let pipeline = try options.load()
            let model = pipeline.model
            let engine = model.backbone.options.engine
            // Map model labels to the annotation file's categories: by name when the checkpoint names
            // its classes (mmdet's cat_ids), else in id order when the counts agree.
            let cats = ds.groundTruth.categories
            var ids: [Int]
            if let m = model.metaClasses, m.count == model.numClasses, m.allSatisfy({ n in cats.contains { $0.name == n } }) {
                ids = m.map { n in cats.first { $0.name == n }!.id }
            } else if cats.count == model.numClasses {
                ids = cats.map(\.id).sorted()
            } else {
                throw ToolError.io(path: ds.annotationPath, detail: "has \(cats.count) categories but the checkpoint predicts \(model.numClasses) classes: annotation file and model do not belong together")
            }
            let images = Array(ds.images.prefix(evaluation.limit ?? ds.images.count))
            let checkpointSHA256 = try sha256Hex(ofFile: options.checkpoint)
            // The RepLKNet COCO table quotes FLOPs at 1280×800 for the (1333, 800) test scale.
            let flopsInput = pipeline.scale == (1333, 800) ? [1280, 800] : [pipeline.scale.0, pipeline.scale.1]
            var record = ResultsRecord(
                task: "detection", dataset: "coco", split: split, model: "Cascade Mask R-CNN " + model.backbone.config.name,
                checkpointPath: options.checkpoint, imageCount: 0,
                testMode: ["scale": .string(options.scale.defaultValueDescription), "max_dets": [100, 300, 1000],
                           "score_thr": .double(Double("\(model.config.scoreThreshold)")!)],
                metrics: [:], parameters: model.mergedParameterCount,
                flops: model.macs(height: flopsInput[1], width: flopsInput[0]), threads: engine.threads)
            record.flopsInput = flopsInput
            record.checkpointSHA256 = checkpointSHA256
            record.depthwise = engine.depthwise.rawValue
            record.precision = engine.precision.rawValue
            record.splitImages = ds.images.count
            let report: [String: Any] = ["record": try record.object(), "root": root, "split": split, "category_ids": ids]
            if let showDir {
                // Drawings named after the images must not land on the images themselves.
                let inputs = InputFiles(images.map { ds.imagePath($0) } + [options.checkpoint, ds.annotationPath])
                for img in images { try inputs.checkNotAnInput(detectionShowPath(img, in: showDir)) }
                try makeDirectory(showDir)
            }
            let names = classNames(model)
            let task = DetectionTask(dataset: ds, pipeline: pipeline, categoryIds: ids,
                                     show: showDir.map { ($0, names, detectionPalette(names.count), showScoreThr) })
            let identity = EvaluationIdentity(tool: "replk-det", kind: "det", checkpoint: options.checkpoint,
                                              checkpointSHA256: checkpointSHA256, settings: journalSettings(engine: engine))
            guard let outcomes = try evaluateOrShard(task, samples: images, identity: identity, options: evaluation, report: report) else { return }
            try finishDetection(report: report, groundTruth: ds.groundTruth, outcomes: outcomes, results: evaluation.results, json: evaluation.json)
        } catch {
            exitWithError("replk-det", error)
        }
    }
}

/// `replk-det eval`'s work on one image: its detections as COCO results.
struct DetectionTask: EvaluationTask {
    let dataset: COCODataset
    let pipeline: DetectionPipeline
    let categoryIds: [Int]
    let byId: [String: COCOImage]
    /// --show-dir: the folder, class names, palette and lowest score drawn.
    let show: (dir: String, names: [String], palette: [(UInt8, UInt8, UInt8)], scoreThr: Float)?

    init(dataset: COCODataset, pipeline: DetectionPipeline, categoryIds: [Int],
         show: (dir: String, names: [String], palette: [(UInt8, UInt8, UInt8)], scoreThr: Float)? = nil) {
        self.dataset = dataset; self.pipeline = pipeline; self.categoryIds = categoryIds; self.show = show
        byId = Dictionary(dataset.images.map { (String($0.id), $0) }, uniquingKeysWith: { a, _ in a })
    }

    func key(of img: COCOImage) -> String { String(img.id) }

    func decodeEntry(key: String, line: JournalLine) throws -> DetectionEntry {
        let image = byId[key]!
        return try DetectionEntry(line, imageId: image.id, height: image.height, width: image.width, categoryIds: Set(categoryIds))
    }

    func evaluate(_ batch: [COCOImage]) throws -> [Result<DetectionEntry, Error>] {
        batch.map { img in
            Result {
                let path = dataset.imagePath(img)
                let image = try Image(contentsOf: path)
                guard image.width == img.width && image.height == img.height else {
                    throw ToolError.io(path: path, detail: "image is \(image.width)×\(image.height), the annotation file says \(img.width)×\(img.height)")
                }
                let (dets, _) = pipeline(image)
                if let show {
                    try drawDetections(image, dets.filter { $0.score >= show.scoreThr }, classNames: show.names, palette: show.palette)
                        .write(to: detectionShowPath(img, in: show.dir))
                }
                // Kept as JSON text: Foundation's parser does not round-trip every double exactly.
                return .results(jsonText(dets.map {
                    $0.cocoResult(imageId: img.id, categoryIds: categoryIds, imageWidth: image.width, imageHeight: image.height)
                }, pretty: false))
            }
        }
    }

    func skipEntry(_ reason: String) -> DetectionEntry? { .skipped(reason) }
    func outcome(of e: DetectionEntry) -> DetectionEntry { e }

    static func skipReason(_ e: DetectionEntry) -> String? {
        if case let .skipped(why) = e { return why }
        return nil
    }
}

/// The COCO results files (image-id order, as pycocotools reads them), their evaluation, the
/// tables and the results record: the same for an unsharded run and for `merge`.
func finishDetection(report: [String: Any], groundTruth: COCOGroundTruth, outcomes o: EvaluationOutcomes<DetectionEntry>,
                     results: String, json: Bool) throws {
    var parts = [String]()
    var evaluated = 0
    for (_, e) in o.outcomes {
        if case let .results(r) = e {
            let inner = r.dropFirst().dropLast()
            if !inner.isEmpty { parts.append(String(inner)) }
            evaluated += 1
        }
    }
    var record = try ResultsRecord(object: report["record"] as? [String: Any] ?? [:])
    let stem = (record.checkpointPath as NSString).deletingPathExtension
    try makeDirectory(results + "/detections")
    let bboxPath = "\(results)/detections/\(stem).bbox.json", segmPath = "\(results)/detections/\(stem).segm.json"
    try writeText("[" + parts.joined(separator: ",") + "]\n", to: segmPath)
    var summaries = [COCOSummary]()
    // Evaluate the files just written: the journal's numbers round-trip exactly through them.
    let dets = try COCOFile.results(path: segmPath)
    try writeText(jsonText(dets.map { d -> [String: Any] in
        ["image_id": d.imageId, "category_id": d.categoryId, "bbox": d.bbox ?? [], "score": d.score]
    }, pretty: false) + "\n", to: bboxPath)
    for type in [COCOIoUType.bbox, .segm] where !dets.isEmpty {
        let ev = try COCOEvaluator(groundTruth: groundTruth, iouType: type, maxDets: [100, 300, 1000])
        // mmdetection drops "bbox" before evaluating masks, so areas (small/medium/large) come
        // from the masks rather than the boxes.
        try ev.add(type == .segm ? dets.map { var d = $0; d.bbox = nil; return d } : dets, source: segmPath)
        summaries.append(ev.summary())
    }
    var metrics: [String: JSONValue] = [:]
    for s in summaries {
        let keys = ["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l", "AR@100", "AR@300", "AR@1000", "AR_s@1000", "AR_m@1000", "AR_l@1000"]
        func num(_ x: Double) -> JSONValue { x.isNaN ? .null : .double(x) }
        metrics[s.iouType.rawValue] = .object(Dictionary(uniqueKeysWithValues: zip(keys, s.stats.map(JSONValue.double))))
        metrics[s.iouType.rawValue + "_per_category"] = .array(s.perCategory.map { ["name": .string($0.name), "ap": num($0.ap)] })
        metrics[s.iouType.rawValue + "_classwise"] = .array(s.classwise.map {
            ["name": .string($0.name), "id": .int($0.id), "mAP": num($0.ap), "mAP_50": num($0.ap50), "mAP_75": num($0.ap75),
             "mAP_s": num($0.apSmall), "mAP_m": num($0.apMedium), "mAP_l": num($0.apLarge)]
        })
        metrics[s.iouType.rawValue + "_stats"] = .array(s.stats.map(JSONValue.double))
    }
    record.imageCount = evaluated
    record.metrics = metrics
    record.throughput = o.seconds > 0 ? Double(o.computed) / o.seconds : nil
    record.latencyMs = o.computed > 0 ? 1000 * o.seconds / Double(o.computed) : nil
    record.shards = o.shards
    record.shardSeconds = o.shards != nil ? o.seconds : nil
    record.identifySamples(count: o.samples, digest: o.samplesDigest, evaluated: evaluated)
    let recordPath = try record.write(to: results)
    if json {
        var obj: [String: Any] = ["images": evaluated, "detections": dets.count, "skipped": o.skipped, "record": recordPath,
                                  "results": [bboxPath, segmPath]]
        for s in summaries { obj[s.iouType.rawValue] = ["stats": s.stats] }
        print(jsonText(obj))
        return
    }
    if summaries.isEmpty { print("no detections: nothing to evaluate") }
    for s in summaries {
        print("\nEvaluate annotation type *\(s.iouType.rawValue)*")
        for l in s.summaryLines { print(l) }
        // mmdetection 3.x's class-wise table (CocoMetric(classwise=True)), values as it rounds them.
        print("\n" + markdownTable(header: ["category", "mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"],
                                   rows: s.classwise.map(\.mmdetCells), rightAligned: [1, 2, 3, 4, 5, 6]))
        print("\n\(s.iouType.rawValue)_mAP_copypaste: " + (0..<6).map { formatPython3f(s.stats[$0]) }.joined(separator: " "))
    }
    printSkipped(o.skipped)
    print("\nresults: \(bboxPath), \(segmPath)\nresults record: \(recordPath)")
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put the partials of `eval --shard I/N` together: the COCO results files, tables and record of the unsharded run.",
        discussion: """
        Example:
          replk-det merge --results results/
        Reads the annotations from the --root the shards were given (or --root here). Refuses, naming the shard and
        what differs, partials of other settings or another image list, a missing or duplicate shard, and a
        truncated partial.
        """)

    @OptionGroup var merge: MergeOptions

    @Option(help: "COCO root, when not where the shards read it.")
    var root: String?

    func run() throws {
        do {
            var dataset: COCODataset?
            let (outcomes, report) = try mergePartials(DetectionTask.self, kind: "det", in: merge.results) { report in
                guard let root = root ?? report["root"] as? String, let split = report["split"] as? String,
                      let ids = (report["category_ids"] as? [Any])?.compactMap(JournalLine.integer) else {
                    throw MergeError("\(merge.results): the partials' header has no dataset root, split or categories")
                }
                let ds = try COCODataset(root: root, split: split)
                dataset = ds
                let byId = Dictionary(ds.images.map { (String($0.id), $0) }, uniquingKeysWith: { a, _ in a })
                let categoryIds = Set(ids)
                return { key, line in
                    guard let image = byId[key] else { throw JournalLineError("image \(key) is not in \(ds.annotationPath)") }
                    return try DetectionEntry(line, imageId: image.id, height: image.height, width: image.width, categoryIds: categoryIds)
                }
            }
            try finishDetection(report: report, groundTruth: dataset!.groundTruth, outcomes: outcomes, results: merge.results, json: merge.json)
        } catch {
            exitWithError("replk-det", error)
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "FLOPs and parameters of a Cascade Mask R-CNN checkpoint at any input size.",
        discussion: """
        Example (the RepLKNet COCO table's input):
          replk-det info \\
              --checkpoint RepLKNet-31B_ImageNet-22K_CascMaskRCNN_COCO.pth \\
              --shape 800,1280
        FLOPs are multiply-accumulates counted by the engine, as replk-bench cost counts them: backbone, FPN and RPN on
        the input padded to 32, the RoI heads for 1000 proposals and 100 detections.
        """)

    @Option(help: "mmdetection Cascade Mask R-CNN checkpoint.")
    var checkpoint: String

    @Option(help: inputShapeHelp)
    var shape = InputShape(height: 800, width: 1280)

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        do {
            let model = try CascadeMaskRCNN(checkpoint: checkpoint)
            let macs = model.macs(height: shape.height, width: shape.width)
            print(modelCostReport(checkpoint: checkpoint, model: "Cascade Mask R-CNN " + model.backbone.config.name, input: shape, macs: macs,
                                  parametersMerged: model.mergedParameterCount, parametersCheckpoint: model.parameterCount,
                                  note: "\(model.numClasses) classes; RoI heads counted for 1000 proposals and 100 detections", json: json))
        } catch {
            exitWithError("replk-det", error)
        }
    }
}

/// Where `eval --show-dir` draws `image`: its file name with `.jpg`, as mmdetection's show-dir.
func detectionShowPath(_ image: COCOImage, in dir: String) -> String {
    let stem = ((image.fileName as NSString).deletingPathExtension as NSString).lastPathComponent
    return dir + "/" + (stem.isEmpty ? String(image.id) : stem) + ".jpg"
}
