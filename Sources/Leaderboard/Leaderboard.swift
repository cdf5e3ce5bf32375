import Foundation
import RepLKRecords

/// One row of a leaderboard: a results record, or a number the paper reports.
public struct LeaderboardRow {
    /// The task: `classification`, `segmentation` or `detection`.
    public var task: String
    /// The data set key: `imagenet`, `ade20k`, `cityscapes`, `coco`, or as the record names it.
    public var dataset: String
    /// The backbone's name, e.g. `RepLKNet-31B` (for segmentation and detection without the method prefix).
    public var backbone: String
    /// The method around the backbone: `UperNet`, `Cascade Mask R-CNN`, or "—" for classification.
    public var method: String
    /// The pre-training data set (ImageNet-1K, ImageNet-22K, MegData-73M) read from the checkpoint's
    /// file name, or "—" when the name says none.
    public var pretraining: String
    /// The test mode: the center crop for classification, the inference mode (and "ms+flip") for
    /// segmentation, "single scale" for detection, "paper" for the paper's rows.
    public var setting: String
    /// Metrics in percent: top1/top5, mIoU/mIoU_ms/mAcc/aAcc, box/mask AP.
    public var metrics: [String: Double]
    /// Number of parameters (a count, not millions), or nil when unknown.
    public var params: Double?
    /// Multiply-accumulates of one image at the record's FLOPs input size (the RepLKNet tables'
    /// convention), or nil when unknown.
    public var flops: Double?
    /// "paper" for a paper row, otherwise the checkpoint file the record was measured with.
    public var source: String
    /// When the record was written (ISO 8601, UTC); empty for the paper's rows and records without one.
    public var date: String
    /// Whether the row is a number the paper reports rather than a measured record.
    public var isReference: Bool
    /// Released checkpoint file names this paper row belongs to.
    public var releasedAs: [String] = []
    /// Per-class IoU in percent of a segmentation record, as (class name, IoU; nil where the record
    /// holds no number), in the record's class order; empty otherwise.
    public var perClass: [(String, Double?)] = []
    /// The arithmetic the record's model ran at (`--precision`); records from before it, and the
    /// paper's rows, are fp32.
    public var precision = "fp32"
    /// The split evaluated, its image count (before `--limit`; nil in older records), the images
    /// evaluated, and whether the run covered less than the whole split.
    public var split = ""
    /// The split's image count before `--limit`; nil in older records.
    public var splitImages: Int? = nil
    /// The number of images evaluated.
    public var images: Int? = nil
    /// Whether the run covered less than the whole split.
    public var partial = false
    /// The test scale: "224²" for classification, "W×H" for segmentation and detection; the
    /// classification input size as a number.
    public var scale = ""
    /// The classification input size in pixels (nil for the other tasks).
    public var resolution: Int? = nil
    /// A run over the bundled demo shapes (Datasets/Demo): its checkpoint or class names say so.
    public var demoShapes = false

    /// The size of the set evaluated: the split's, or for records without it, the images evaluated.
    public var setSize: Int? { splitImages ?? images }

    /// Whether the row belongs to the official validation split of a dataset the paper reports.
    public var isOfficialSplit: Bool {
        if isReference { return true }
        guard let o = Leaderboard.officialSplits[dataset], let n = setSize, n == o.images else { return false }
        return dataset == "imagenet" ? !split.lowercased().contains("train") : split == o.split
    }

    /// The metric the table is sorted by.
    public var mainMetric: Double? {
        switch task {
        case "classification": return metrics["top1"]
        case "segmentation": return metrics["mIoU"] ?? metrics["mIoU_ms"]
        default: return metrics["box_AP"]
        }
    }
}

/// Reads results records and renders leaderboards with the paper's numbers as reference rows.
public enum Leaderboard {
    /// Loads every `*.json` record in `dir` (as `ResultsRecord` reads them). Files that are not
    /// records, or records the board cannot place (no main metric, another task), are reported in
    /// one line each and skipped.
    public static func load(directory dir: String) -> (rows: [LeaderboardRow], skipped: [String]) {
        var rows = [LeaderboardRow](), skipped = [String]()
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        for f in files {
            let path = dir + "/" + f
            let record: ResultsRecord
            do {
                record = try ResultsRecord(contentsOfFile: path)
            } catch {
                switch error.problem {
                case let .missing(key) where lacking.contains(key): skipped.append(lacksMessage(path))
                default: skipped.append(error.description)
                }
                continue
            }
            guard let row = row(from: record) else { skipped.append(lacksMessage(path)); continue }
            rows.append(row)
        }
        return (rows, skipped)
    }

    // A record without one of these keys is reported in the words the board has always used;
    // any other problem in the reader's.
    static let lacking = Set([ResultsRecord.CodingKeys.task, .dataset, .model, .metrics].map(\.rawValue))

    static func lacksMessage(_ path: String) -> String { "\(path): record lacks task, dataset, model or metrics" }

    /// The row of a record; nil for a task the board does not show, or a record without its task's main metric.
    static func row(from record: ResultsRecord) -> LeaderboardRow? {
        let task = record.task, model = record.model, metrics = record.metrics, mode = record.testMode
        let file = record.checkpointPath
        var m = [String: Double]()
        var method = "", setting = "", backbone = model, scale = ""
        var resolution: Int?
        var perClass = [(String, Double?)]()
        func wh(_ v: JSONValue?) -> String? {
            if let a = v?.array, a.count == 2, let w = a[0].number, let h = a[1].number { return "\(Int(w))×\(Int(h))" }
            if let s = v?.string {
                let p = s.split(whereSeparator: { $0 == "," || $0 == "x" || $0 == "×" }).map { $0.trimmingCharacters(in: .whitespaces) }
                if p.count == 2, let w = Int(p[0]), let h = Int(p[1]) { return "\(w)×\(h)" }
                return s
            }
            return nil
        }
        switch task {
        case "classification":
            guard let t1 = metrics["top1"]?.number else { return nil }
            m["top1"] = t1
            m["top5"] = metrics["top5"]?.number
            method = "—"
            resolution = mode["input_size"]?.number.map { Int($0) }
            scale = resolution.map { "\($0)²" } ?? "—"
            setting = mode["crop_pct"]?.number.map { "center crop \(String(format: "%g", $0))" } ?? "center crop"
        case "segmentation":
            guard let miou = metrics["mIoU"]?.number else { return nil }
            let ms = mode["aug_test"]?.bool == true
            m[ms ? "mIoU_ms" : "mIoU"] = miou
            m["mAcc"] = metrics["mAcc"]?.number; m["aAcc"] = metrics["aAcc"]?.number
            method = "UperNet"
            backbone = model.replacingOccurrences(of: "UperNet ", with: "")
            setting = "\(mode["mode"]?.string ?? "whole")\(ms ? ", ms+flip" : "")"
            scale = wh(mode["scale"]) ?? "—"
            let names = metrics["classes"]?.array?.map(\.string)
            if let names, !names.contains(nil), let iou = metrics["IoU"]?.array {
                perClass = zip(names.map { $0! }, iou).map { ($0, $1.number) }
            }
        case "detection":
            guard let box = metrics["bbox"]?["mAP"]?.number else { return nil }
            m["box_AP"] = 100 * box
            m["mask_AP"] = metrics["segm"]?["mAP"]?.number.map { 100 * $0 }
            method = "Cascade Mask R-CNN"
            backbone = model.replacingOccurrences(of: "Cascade Mask R-CNN ", with: "")
            setting = "single scale"
            scale = wh(mode["scale"]) ?? "—"
        default:
            return nil
        }
        let shapes: Set<String> = ["background", "circle", "square", "triangle", "star", "ring"]
        let demo = file.lowercased().contains("replknet_shapes")
            || (!perClass.isEmpty && perClass.allSatisfy { shapes.contains($0.0.lowercased()) })
        return LeaderboardRow(task: task, dataset: record.dataset, backbone: backbone, method: method, pretraining: pretraining(of: file),
                              setting: setting, metrics: m.compactMapValues { $0 }, params: record.parameters.map(Double.init),
                              flops: record.flops, source: file, date: record.date ?? "", isReference: false,
                              perClass: perClass, precision: record.precision ?? "fp32",
                              split: record.split, splitImages: record.splitImages,
                              images: record.imageCount, partial: record.partial ?? false,
                              scale: scale, resolution: resolution, demoShapes: demo)
    }

    /// The official validation split of each dataset the paper reports, and its size.
    public static let officialSplits: [String: (split: String, images: Int)] = [
        "imagenet": ("val", 50000), "ade20k": ("validation", 2000), "cityscapes": ("val", 500), "coco": ("val2017", 5000),
    ]

    /// ImageNet-1K / 22K / MegData-73M from a released file name.
    static func pretraining(of file: String) -> String {
        let f = file.lowercased()
        if f.contains("megdata") || f.contains("meg73m") { return "MegData-73M" }
        if f.contains("22k") || f.contains("in21k") { return "ImageNet-22K" }
        if f.contains("1k") || f.contains("in1k") { return "ImageNet-1K" }
        return "—"
    }

    /// The paper row a measured row reproduces (same task and dataset, its checkpoint released as that row).
    public static func reference(for row: LeaderboardRow, in refs: [LeaderboardRow]) -> LeaderboardRow? {
        refs.first { $0.task == row.task && $0.dataset == row.dataset && $0.releasedAs.contains(row.source) }
    }

    /// The group a row belongs to: its task and dataset's official split, or (anything else) its
    /// task, dataset, split and set size.
    static func groupKey(_ r: LeaderboardRow) -> String {
        r.isOfficialSplit ? "\(r.task)/\(r.dataset)/official" : "\(r.task)/\(r.dataset)/\(r.split)/\(r.setSize.map(String.init) ?? "?")"
    }

    /// The paper's rows with the official split they were measured on.
    static var paperRowsWithSplits: [LeaderboardRow] {
        paperRows.map { r in
            var r = r
            if let o = officialSplits[r.dataset] { r.split = o.split; r.splitImages = o.images; r.images = o.images }
            return r
        }
    }

    /// Rows grouped by task and data set: one group per official split of a dataset the paper
    /// reports (its paper rows always shown when `includeReferences`), then one per other set
    /// (task, dataset, split and size: the demo sets among them). In each group the full runs and
    /// paper rows are sorted by the main metric and ranked; partial runs follow, unranked.
    public static func groups(_ measured: [LeaderboardRow], includeReferences: Bool = true) -> [LeaderboardGroup] {
        var all = measured
        if includeReferences { all += paperRowsWithSplits }
        let order = ["classification", "segmentation", "detection"]
        let grouped = Dictionary(grouping: all, by: groupKey)
        let keys = grouped.keys.sorted { a, b in
            let ra = grouped[a]![0], rb = grouped[b]![0]
            let ta = order.firstIndex(of: ra.task) ?? 9, tb = order.firstIndex(of: rb.task) ?? 9
            if ta != tb { return ta < tb }
            if ra.isOfficialSplit != rb.isOfficialSplit { return ra.isOfficialSplit }
            if ra.dataset != rb.dataset { return ra.dataset < rb.dataset }
            if ra.split != rb.split { return ra.split < rb.split }
            return (ra.setSize ?? 0) > (rb.setSize ?? 0)
        }
        return keys.map { k in
            let rows = grouped[k]!
            let byMetric: (LeaderboardRow, LeaderboardRow) -> Bool = { ($0.mainMetric ?? -1) > ($1.mainMetric ?? -1) }
            let full = rows.filter { !$0.partial }.sorted(by: byMetric), part = rows.filter(\.partial).sorted(by: byMetric)
            return LeaderboardGroup(key: k, title: title(rows[0], demo: rows.contains(where: \.demoShapes)),
                                    official: rows[0].isOfficialSplit, rows: full + part,
                                    ranks: full.indices.map { $0 + 1 } + part.map { _ in nil })
        }
    }

    /// "50000", or for a run over part of the split "partial: 5 of 50".
    static func imagesCell(_ r: LeaderboardRow) -> String {
        guard let n = r.images else { return "—" }
        if r.partial { return "partial: \(n) of \(r.splitImages.map(String.init) ?? "?")" }
        return "\(n)"
    }

    /// Column headers and cell values for a group.
    public static func table(_ g: LeaderboardGroup) -> (header: [String], cells: [[String]]) {
        func f(_ v: Double?, _ d: Int = 2) -> String { v.map { String(format: "%.\(d)f", $0) } ?? "—" }
        func delta(_ a: Double?, _ b: Double?) -> String {
            guard let a, let b else { return "" }
            return String(format: "%+.2f", a - b)
        }
        func params(_ p: Double?) -> String { p.map { String(format: "%.1fM", $0 / 1e6) } ?? "—" }
        func flops(_ p: Double?) -> String { p.map { String(format: "%.1fG", $0 / 1e9) } ?? "—" }
        // Δ against the paper only for full runs of the official split.
        func ref(_ r: LeaderboardRow) -> LeaderboardRow? {
            r.isReference || r.partial || !g.official ? nil : reference(for: r, in: paperRows)
        }
        func date(_ r: LeaderboardRow) -> String { r.date.isEmpty ? "—" : String(r.date.prefix(10)) }
        let rank = g.ranks.map { $0.map(String.init) ?? "" }
        let task = g.rows.first?.task ?? ""
        switch task {
        case "classification":
            return (["#", "backbone", "pretraining", "images", "test", "resolution", "precision", "top-1", "top-5", "Δ top-1", "#params", "FLOPs", "date", "source"],
                    zip(g.rows, rank).map { r, k in
                        [k, r.backbone, r.pretraining, imagesCell(r), r.setting, r.scale, r.precision, f(r.metrics["top1"]), f(r.metrics["top5"]),
                         delta(r.metrics["top1"], ref(r)?.metrics["top1"]), params(r.params), flops(r.flops), date(r), r.source]
                    })
        case "segmentation":
            return (["#", "backbone", "pretraining", "images", "test", "scale", "precision", "mIoU (ss)", "mIoU (ms)", "mAcc", "aAcc", "Δ mIoU", "#params", "FLOPs", "date", "source"],
                    zip(g.rows, rank).map { r, k in
                        let p = ref(r)
                        let d = r.metrics["mIoU"] != nil ? delta(r.metrics["mIoU"], p?.metrics["mIoU"]) : delta(r.metrics["mIoU_ms"], p?.metrics["mIoU_ms"])
                        return [k, r.backbone, r.pretraining, imagesCell(r), r.setting, r.scale, r.precision, f(r.metrics["mIoU"]), f(r.metrics["mIoU_ms"]),
                                f(r.metrics["mAcc"]), f(r.metrics["aAcc"]), d, params(r.params), flops(r.flops), date(r), r.source]
                    })
        default:
            return (["#", "backbone", "pretraining", "method", "images", "test", "scale", "precision", "AP box", "AP mask", "Δ box", "Δ mask", "#params", "FLOPs", "date", "source"],
                    zip(g.rows, rank).map { r, k in
                        [k, r.backbone, r.pretraining, r.method, imagesCell(r), r.setting, r.scale, r.precision, f(r.metrics["box_AP"], 1), f(r.metrics["mask_AP"], 1),
                         delta(r.metrics["box_AP"], ref(r)?.metrics["box_AP"]), delta(r.metrics["mask_AP"], ref(r)?.metrics["mask_AP"]),
                         params(r.params), flops(r.flops), date(r), r.source]
                    })
        }
    }

    static let datasetNames = ["imagenet": "ImageNet", "imagenet-folder": "ImageNet-style folder", "ade20k": "ADE20K", "cityscapes": "Cityscapes", "coco": "COCO"]

    /// "Segmentation — ADE20K validation (official split, 2000 images)", "Segmentation — ADE20K
    /// validation, 50-image set (not the official split)", or for the bundled demo sets
    /// "Segmentation — demo shapes (ADE20K validation layout, 50-image set, not the official split)".
    static func title(_ r: LeaderboardRow, demo: Bool) -> String {
        let name = datasetNames[r.dataset] ?? r.dataset
        let split = r.split.isEmpty ? "" : " " + r.split
        let size = r.setSize.map { "\($0)-image set" } ?? "set of unknown size"
        if r.isOfficialSplit { return "\(r.task.capitalized) — \(name)\(split) (official split, \(r.setSize ?? 0) images)" }
        if demo { return "\(r.task.capitalized) — demo shapes (\(name)\(split) layout, \(size), not the official split)" }
        return "\(r.task.capitalized) — \(name)\(split), \(size) (not the official split)"
    }
}

/// One table of the leaderboard: the rows of one data set, full runs ranked, partial runs after them.
public struct LeaderboardGroup {
    /// The grouping key: `task/dataset/official`, or `task/dataset/split/size` for other sets.
    public var key: String
    /// The table's heading, naming the task, data set, split and size.
    public var title: String
    /// The official validation split of a dataset the paper reports (its paper rows included).
    public var official: Bool
    /// The rows in table order: full runs and paper rows by the main metric, then partial runs.
    public var rows: [LeaderboardRow]
    /// 1, 2, … for full runs and paper rows; nil for partial runs.
    public var ranks: [Int?]
}
