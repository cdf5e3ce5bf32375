import Foundation

/// One row of a leaderboard: a results record, or a number the paper reports.
public struct LeaderboardRow {
    public var task: String            // classification, segmentation, detection
    public var dataset: String         // imagenet, ade20k, cityscapes, coco (or as recorded)
    public var backbone: String
    public var method: String
    public var pretraining: String
    public var setting: String         // resolution or test mode
    /// Metrics in percent: top1/top5, mIoU/mIoU_ms/mAcc/aAcc, box/mask AP.
    public var metrics: [String: Double]
    public var params: Double?
    public var flops: Double?
    public var source: String          // "paper", or the checkpoint file
    public var date: String
    public var isReference: Bool
    /// Released checkpoint file names this paper row belongs to.
    public var releasedAs: [String] = []
    public var perClass: [(String, Double?)] = []
    /// The arithmetic the record's model ran at (`--precision`); records from before it, and the
    /// paper's rows, are fp32.
    public var precision = "fp32"

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
    /// Loads every `*.json` record in `dir`. Files that are not records are reported and skipped.
    public static func load(directory dir: String) -> (rows: [LeaderboardRow], skipped: [String]) {
        var rows = [LeaderboardRow](), skipped = [String]()
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        for f in files {
            let path = dir + "/" + f
            guard let data = FileManager.default.contents(atPath: path) else { skipped.append("\(path): cannot read"); continue }
            guard let parsed = try? JSONSerialization.jsonObject(with: data) else {
                skipped.append("\(path): not valid JSON"); continue
            }
            guard let obj = parsed as? [String: Any] else {
                skipped.append("\(path): not a RepLK results record (a JSON \(parsed is [Any] ? "array" : "value"), not an object)"); continue
            }
            guard (obj["format"] as? String) == "replk-results/1" else {
                skipped.append("\(path): not a RepLK results record (no \"format\": \"replk-results/1\")"); continue
            }
            guard let row = row(from: obj) else { skipped.append("\(path): record lacks task, dataset, model or metrics"); continue }
            rows.append(row)
        }
        return (rows, skipped)
    }

    static func num(_ v: Any?) -> Double? { (v as? NSNumber)?.doubleValue }

    static func row(from o: [String: Any]) -> LeaderboardRow? {
        guard let task = o["task"] as? String, let dataset = o["dataset"] as? String, let model = o["model"] as? String,
              let metrics = o["metrics"] as? [String: Any] else { return nil }
        let file = (o["checkpoint"] as? [String: Any])?["file"] as? String ?? "?"
        let mode = o["test_mode"] as? [String: Any] ?? [:]
        var m = [String: Double]()
        var method = "", setting = "", backbone = model
        var perClass = [(String, Double?)]()
        switch task {
        case "classification":
            guard let t1 = num(metrics["top1"]) else { return nil }
            m["top1"] = t1
            m["top5"] = num(metrics["top5"])
            method = "—"
            setting = (num(mode["input_size"]).map { "\(Int($0))²" }) ?? "—"
        case "segmentation":
            guard let miou = num(metrics["mIoU"]) else { return nil }
            let ms = (mode["aug_test"] as? Bool) == true
            m[ms ? "mIoU_ms" : "mIoU"] = miou
            m["mAcc"] = num(metrics["mAcc"]); m["aAcc"] = num(metrics["aAcc"])
            method = "UperNet"
            backbone = model.replacingOccurrences(of: "UperNet ", with: "")
            setting = "\(mode["mode"] as? String ?? "whole")\(ms ? ", ms+flip" : "")"
            if let names = metrics["classes"] as? [String], let iou = metrics["IoU"] as? [Any] {
                perClass = zip(names, iou).map { ($0, num($1)) }
            }
        case "detection":
            guard let box = num((metrics["bbox"] as? [String: Any])?["mAP"]) else { return nil }
            m["box_AP"] = 100 * box
            m["mask_AP"] = num((metrics["segm"] as? [String: Any])?["mAP"]).map { 100 * $0 }
            method = "Cascade Mask R-CNN"
            backbone = model.replacingOccurrences(of: "Cascade Mask R-CNN ", with: "")
            setting = (mode["scale"] as? String).map { "scale \($0)" } ?? "—"
        default:
            return nil
        }
        return LeaderboardRow(task: task, dataset: dataset, backbone: backbone, method: method, pretraining: pretraining(of: file),
                              setting: setting, metrics: m.compactMapValues { $0 }, params: num(o["params"]),
                              flops: num(o["flops"]), source: file, date: o["date"] as? String ?? "", isReference: false,
                              perClass: perClass, precision: o["precision"] as? String ?? "fp32")
    }

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

    /// Rows grouped by (task, dataset), references included, each group sorted by its main metric.
    public static func groups(_ measured: [LeaderboardRow], includeReferences: Bool = true) -> [(key: String, rows: [LeaderboardRow])] {
        var all = measured
        let keys = Set(measured.map { "\($0.task)/\($0.dataset)" })
        if includeReferences {
            all += paperRows.filter { keys.contains("\($0.task)/\($0.dataset)") || measured.isEmpty }
        }
        let order = ["classification", "segmentation", "detection"]
        let grouped = Dictionary(grouping: all) { "\($0.task)/\($0.dataset)" }
        return grouped.keys.sorted { a, b in
            let ta = order.firstIndex(of: String(a.split(separator: "/")[0])) ?? 9, tb = order.firstIndex(of: String(b.split(separator: "/")[0])) ?? 9
            return ta != tb ? ta < tb : a < b
        }.map { k in (k, grouped[k]!.sorted { ($0.mainMetric ?? -1) > ($1.mainMetric ?? -1) }) }
    }

    /// Column headers and cell values for a group.
    public static func table(_ key: String, _ rows: [LeaderboardRow]) -> (header: [String], cells: [[String]]) {
        func f(_ v: Double?, _ d: Int = 2) -> String { v.map { String(format: "%.\(d)f", $0) } ?? "—" }
        func delta(_ a: Double?, _ b: Double?) -> String {
            guard let a, let b else { return "" }
            return String(format: "%+.2f", a - b)
        }
        func params(_ p: Double?) -> String { p.map { String(format: "%.1fM", $0 / 1e6) } ?? "—" }
        func flops(_ p: Double?) -> String { p.map { String(format: "%.1fG", $0 / 1e9) } ?? "—" }
        let task = String(key.split(separator: "/")[0])
        switch task {
        case "classification":
            return (["backbone", "pretraining", "resolution", "precision", "top-1", "top-5", "Δ top-1", "#params", "FLOPs", "source"],
                    rows.map { r in
                        let ref = r.isReference ? nil : reference(for: r, in: paperRows)
                        return [r.backbone, r.pretraining, r.setting, r.precision, f(r.metrics["top1"]), f(r.metrics["top5"]),
                                delta(r.metrics["top1"], ref?.metrics["top1"]), params(r.params), flops(r.flops), r.source]
                    })
        case "segmentation":
            return (["backbone", "pretraining", "test", "precision", "mIoU (ss)", "mIoU (ms)", "mAcc", "aAcc", "Δ mIoU", "#params", "FLOPs", "source"],
                    rows.map { r in
                        let ref = r.isReference ? nil : reference(for: r, in: paperRows)
                        let d = r.metrics["mIoU"] != nil ? delta(r.metrics["mIoU"], ref?.metrics["mIoU"]) : delta(r.metrics["mIoU_ms"], ref?.metrics["mIoU_ms"])
                        return [r.backbone, r.pretraining, r.setting, r.precision, f(r.metrics["mIoU"]), f(r.metrics["mIoU_ms"]), f(r.metrics["mAcc"]),
                                f(r.metrics["aAcc"]), d, params(r.params), flops(r.flops), r.source]
                    })
        default:
            return (["backbone", "pretraining", "method", "precision", "AP box", "AP mask", "Δ box", "Δ mask", "#params", "FLOPs", "source"],
                    rows.map { r in
                        let ref = r.isReference ? nil : reference(for: r, in: paperRows)
                        return [r.backbone, r.pretraining, r.method, r.precision, f(r.metrics["box_AP"], 1), f(r.metrics["mask_AP"], 1),
                                delta(r.metrics["box_AP"], ref?.metrics["box_AP"]), delta(r.metrics["mask_AP"], ref?.metrics["mask_AP"]),
                                params(r.params), flops(r.flops), r.source]
                    })
        }
    }

    static func title(_ key: String) -> String {
        let parts = key.split(separator: "/").map(String.init)
        let names = ["imagenet": "ImageNet", "imagenet-folder": "ImageNet-style folder", "ade20k": "ADE20K", "cityscapes": "Cityscapes", "coco": "COCO"]
        return "\(parts[0].capitalized) — \(names[parts[1]] ?? parts[1])"
    }
}
