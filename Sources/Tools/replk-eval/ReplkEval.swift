import ArgumentParser
import RepLKDatasets
import RepLKEval
import Foundation
import RepLKImaging
import RepLKToolSupport

@main
struct ReplkEval: ParsableCommand {
    static func main() { mainCheckingCPU("replk-eval") }

    static let configuration = CommandConfiguration(
        commandName: "replk-eval",
        abstract: "Evaluate existing predictions: COCO box/mask AP as pycocotools computes it, mIoU as mmsegmentation does.",
        version: toolVersion("replk-eval"),
        subcommands: [COCO.self, Seg.self])
}

/// `--iou-type`: what COCO AP compares.
enum IoUType: String, ExpressibleByArgument, CaseIterable {
    case bbox, segm
    var coco: COCOIoUType { self == .bbox ? .bbox : .segm }
}

/// `seg --data`: the datasets whose layouts and classes the tool knows.
enum SegmentationData: String, ExpressibleByArgument, CaseIterable {
    case ade20k, cityscapes
}

struct COCO: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "COCO AP/AR for a results file (the 12 numbers of COCOeval.summarize()).",
        discussion: """
        Example:
          replk-eval coco --gt instances_val2017.json --results dets.json \\
              --iou-type bbox
        mmdetection evaluates with --max-dets 100,300,1000.
        """)

    @Option(help: "Ground-truth annotation file.")
    var gt: String

    @Option(help: "Results file (JSON array of detections).")
    var results: String

    @Option(help: "bbox or segm.")
    var iouType = IoUType.bbox

    @Option(parsing: .unconditional, help: "maxDets, comma-separated (pycocotools: 1,10,100; mmdetection: 100,300,1000).")
    var maxDets = IntList([1, 10, 100])

    @Flag(help: "For segm, ignore the results' boxes so instance areas come from the masks (what mmdetection's CocoMetric does; pycocotools alone uses the box area).")
    var maskArea = false

    @Flag(help: "Print one JSON object instead of the tables.")
    var json = false

    func validate() throws {
        try checkOption("--max-dets", maxDets, in: 1...1_000_000, form: "comma-separated positive integers, e.g. 100,300,1000")
    }

    func run() throws {
        do {
            let type = iouType.coco
            let md = maxDets.values
            let start = Date()
            let truth = try COCOFile.groundTruth(path: gt)
            let evaluator = try COCOEvaluator(groundTruth: truth, iouType: type, maxDets: md)
            var dets = try COCOFile.results(path: results)
            if maskArea && type == .segm { dets = dets.map { var d = $0; d.bbox = nil; return d } }
            if dets.isEmpty { throw ToolError.io(path: results, detail: "holds no detections (pycocotools cannot evaluate an empty results file)") }
            do {
                try evaluator.add(dets)
            } catch {
                throw ToolError.io(path: results, detail: "\(error)")
            }
            let summary = evaluator.summary()
            let seconds = Date().timeIntervalSince(start)
            if json {
                print(jsonText([
                    "iou_type": type.rawValue, "max_dets": md, "stats": summary.stats,
                    "per_category": summary.perCategory.map { ["id": $0.id, "name": $0.name, "ap": $0.ap.isNaN ? NSNull() : $0.ap as Any] },
                    "images": truth.images.count, "detections": evaluator.detectionCount, "seconds": seconds,
                ]))
                return
            }
            print("Evaluate annotation type *\(type.rawValue)*")
            for l in summary.summaryLines { print(l) }
            print("\n" + cocoClasswiseTable(summary))
            let copy = [0, 1, 2, 3, 4, 5].map { formatPython3f(summary.stats[$0]) }.joined(separator: " ")
            print("\n\(type.rawValue)_mAP_copypaste: \(copy)")
        } catch {
            exitWithError("replk-eval", error)
        }
    }
}

/// mmdetection's class-wise AP table (3 name/AP column pairs per row).
func cocoClasswiseTable(_ s: COCOSummary) -> String {
    let cells = s.perCategory.map { ($0.name, $0.ap.isNaN ? "nan" : String(format: "%.3f", $0.ap)) }
    var rows = [[String]]()
    var i = 0
    while i < cells.count {
        var r = [String]()
        for j in 0..<3 {
            if i + j < cells.count { r += [cells[i + j].0, cells[i + j].1] } else { r += ["", ""] }
        }
        rows.append(r)
        i += 3
    }
    return markdownTable(header: ["category", "AP", "category", "AP", "category", "AP"], rows: rows, rightAligned: [1, 3, 5])
}

struct Seg: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "mIoU / mAcc / aAcc of predicted label maps, as mmsegmentation's IoUMetric prints them.",
        discussion: """
        --pred DIR holds one label PNG per image, at the image's path relative to the split's image folder
        (images/validation/ for ADE20K, leftImg8bit/val/ for Cityscapes) with the extension replaced by .png.
        Values are class indices: 0–149 for ADE20K, train ids for Cityscapes.
          replk-eval seg --data ade20k --root /data/ADEChallengeData2016 --pred preds/
        For Cityscapes the official cityscapesScripts scores (class and category IoU and iIoU) are printed too,
        when gtFine holds *_labelIds.png and *_instanceIds.png.
        Predictions of a model with other classes (the demo's 6 shapes in the ADE20K layout):
          replk-eval seg --data ade20k --root Datasets/Demo/ADEChallengeData2016 \\
              --pred Datasets/Demo/seg/val_pred --classes shapes.txt
        """)

    @Option(help: "ade20k or cityscapes.")
    var data: SegmentationData

    @Option(help: "Dataset root (ADEChallengeData2016 or the Cityscapes folder).")
    var root: String

    @Option(help: "Folder of predicted label PNGs.")
    var pred: String

    @Option(help: "Split (default: validation for ADE20K, val for Cityscapes).")
    var split: String?

    @Option(help: "Class names, one a line (UTF-8; default: the dataset's, 150 for ADE20K, 19 for Cityscapes).")
    var classes: String?

    @Option(parsing: .unconditional, help: "Number of classes (named class 0, class 1, …, unless --classes names them).")
    var numClasses: Int?

    @Option(help: "Write the confusion matrix (pixel counts, ground truth × predicted) to this CSV file, and its per-row percentages as a heatmap next to it (<name>.png), as mmseg's confusion_matrix.py.")
    var confusionMatrix: String?

    @Flag(help: "Print one JSON object instead of the tables.")
    var json = false

    @Flag(help: "No progress on standard error.")
    var quiet = false

    func validate() throws {
        try checkOption("--num-classes", numClasses, in: 1...255)
        if let confusionMatrix, !confusionMatrix.lowercased().hasSuffix(".csv") {
            throw ValidationError("--confusion-matrix needs a .csv file name (the heatmap goes next to it as .png), not \(confusionMatrix)")
        }
    }

    /// The class names and a description of where they came from, for the table's header.
    func classList(_ ds: SegmentationDataset) throws -> (names: [String], source: String) {
        if let classes {
            let names = try readClassNames(classes)
            if let numClasses, numClasses != names.count {
                throw ToolError.io(path: classes, detail: "has \(names.count) class names, but --num-classes is \(numClasses)")
            }
            return (names, "\(names.count) from \(classes)")
        }
        if let numClasses { return ((0..<numClasses).map { "class \($0)" }, "\(numClasses) numbered (--num-classes)") }
        return (ds.classNames, "\(ds.classNames.count) of \(data == .cityscapes ? "Cityscapes" : "ADE20K") (--data \(data.rawValue); --classes or --num-classes for others)")
    }

    func run() throws {
        do {
            let ds: SegmentationDataset
            switch data {
            case .ade20k: ds = try ADE20KDataset(root: root, split: split ?? "validation")
            case .cityscapes: ds = try CityscapesDataset(root: root, split: split ?? "val")
            }
            let (names, classSource) = try classList(ds)
            var metric = SegmentationMetric(classNames: names)
            var confusion = confusionMatrix.map { _ in ConfusionMatrix(classCount: names.count) }
            if let confusionMatrix {
                // Never over a dataset file or a prediction.
                try InputFiles(ds.samples.flatMap { [$0.imagePath, $0.labelPath, ds.predictionPath($0, in: pred)] })
                    .checkNotAnInput(confusionMatrix)
            }
            var official: CityscapesMetric? = (ds as? CityscapesDataset).flatMap { cs in
                cs.samples.allSatisfy { FileManager.default.fileExists(atPath: cs.labelIdsPath($0)) && FileManager.default.fileExists(atPath: cs.instanceIdsPath($0)) } ? CityscapesMetric() : nil
            }
            let progress = Progress(total: ds.samples.count, label: "eval", enabled: !quiet)
            for s in ds.samples {
                let gt = try ds.label(s)
                let predPath = ds.predictionPath(s, in: pred)
                let p = try Image.readLabelMap(predPath)
                guard p.width == gt.width && p.height == gt.height else {
                    throw ToolError.io(path: predPath, detail: "prediction is \(p.width)×\(p.height), ground truth \(s.labelPath) is \(gt.width)×\(gt.height)")
                }
                do {
                    try metric.add(prediction: p.pixels, label: gt.values)
                    try confusion?.add(prediction: p.pixels, label: gt.values)
                } catch {
                    let culprit = "\(error)".hasPrefix("predicted") ? predPath : s.labelPath
                    throw ToolError.io(path: culprit, detail: "\(error)")
                }
                if var o = official, let cs = ds as? CityscapesDataset {
                    let ids = try Image.readLabelMap(cs.labelIdsPath(s)).pixels
                    let inst = try Map16(contentsOf: cs.instanceIdsPath(s)).values
                    try o.add(prediction: p.pixels.map { CityscapesDataset.labelIds[Int($0)] }, labelIds: ids, instanceIds: inst)
                    official = o
                }
                progress.step()
            }
            let r = metric.summary()
            func num(_ v: Float) -> Any { v.isNaN ? NSNull() : Double(String(describing: v))! }
            var confusionFiles = [String]()
            if let confusionMatrix, let confusion {
                let png = String(confusionMatrix.dropLast(4)) + ".png"
                try writeText(confusion.csv(classNames: names), to: confusionMatrix)
                try percentHeatmap(confusion.rowPercentages, rows: names.count, columns: names.count, rowLabels: names, columnLabels: names,
                                   title: "Normalized confusion matrix (%), \(ds.samples.count) images").write(to: png)
                confusionFiles = [confusionMatrix, png]
            }
            if json {
                var obj: [String: Any] = ["aAcc": num(r.aAcc), "mIoU": num(r.mIoU), "mAcc": num(r.mAcc),
                                          "IoU": r.iou.map(num), "Acc": r.acc.map(num), "classes": names,
                                          "class_list": classSource, "images": ds.samples.count]
                if !confusionFiles.isEmpty { obj["confusion_matrix"] = confusionFiles }
                if let o = official?.summary() {
                    func d(_ v: Double) -> Any { v.isNaN ? NSNull() : v }
                    obj["cityscapes"] = ["averageScoreClasses": d(o.averageScoreClasses), "averageScoreInstClasses": d(o.averageScoreInstClasses),
                                         "averageScoreCategories": d(o.averageScoreCategories), "averageScoreInstCategories": d(o.averageScoreInstCategories)]
                }
                print(jsonText(obj))
                return
            }
            print("per class results (classes: \(classSource)):\n" + r.classTable)
            print("\nSummary:\n" + r.summaryTable)
            print("\n" + r.logLine)
            if let o = official?.summary() { print("\ncityscapesScripts (label ids):\n" + o.report) }
            if !confusionFiles.isEmpty { print("\nconfusion matrix: \(confusionFiles.joined(separator: ", "))") }
        } catch {
            exitWithError("replk-eval", error)
        }
    }
}

/// Class names from a text file, one a line (blank lines at the end ignored); a one-line error
/// naming the file when it cannot be read or holds no names.
func readClassNames(_ path: String) throws -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ToolError.io(path: path, detail: FileManager.default.fileExists(atPath: path) ? "cannot read class names" : "no such file (class names expected, one a line)")
    }
    guard let text = String(data: data, encoding: .utf8) else { throw ToolError.io(path: path, detail: "class names are not UTF-8 text") }
    var names = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
    while names.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { names.removeLast() }
    guard !names.isEmpty else { throw ToolError.io(path: path, detail: "holds no class names (one a line expected)") }
    if let i = names.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
        throw ToolError.io(path: path, detail: "line \(i + 1) is empty (one class name a line expected)")
    }
    guard names.count <= 255 else { throw ToolError.io(path: path, detail: "has \(names.count) class names; label maps hold at most 255 classes (255 is ignored)") }
    return names
}
