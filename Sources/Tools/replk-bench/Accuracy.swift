import ArgumentParser
import RepLKBackbone
import RepLKEngine
import Foundation
import RepLKImaging
import RepLKSegmentation
import RepLKToolSupport
import RepLKWeights

/// What bf16 costs in accuracy, against float32 in the same run: the demo evaluations through the
/// tools at both precisions, and the official fixtures' outputs.
struct Accuracy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy at fp32 and bf16 side by side: the demo evaluations (top-1, mIoU / aAcc / mAcc, bbox and segm AP) and the fixtures (logits against the official float32 outputs, label-map pixels against float32).",
        discussion: """
        Run from the repository's root (or give --root): it evaluates Datasets/Demo with the replk-cls, replk-seg and
        replk-det next to this binary, and reads Tests/Fixtures. Needs an \\
            AVX512_BF16 CPU.
          replk-bench accuracy
        """)

    @Option(help: "The repository's root (Datasets/Demo, Tests/Fixtures).") var root = "."
    @Flag(help: "Print one JSON object.") var json = false

    /// A sibling tool's path (the binaries live in one folder).
    func tool(_ name: String) -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return ((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
    }

    /// Runs `tool` with `args` plus `--json --precision P --results DIR` and returns its JSON.
    func evaluate(_ name: String, _ args: [String], precision: Precision) throws -> [String: Any] {
        let results = NSTemporaryDirectory() + "replk-accuracy-\(getpid())-\(name)-\(precision.rawValue)"
        defer { try? FileManager.default.removeItem(atPath: results) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool(name))
        p.arguments = ["eval"] + args + ["--precision", precision.rawValue, "--results", results, "--json"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { throw ToolError.io(path: tool(name), detail: "cannot run: \(error.localizedDescription)") }
        // The tool's progress and errors go to stderr, a few lines: read after stdout.
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0, let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            let why = errText.split(separator: "\n").last.map(String.init) ?? "no message"
            throw ToolError.io(path: tool(name), detail: "eval at \(precision.rawValue) failed (exit \(p.terminationStatus)): \(why)")
        }
        return obj
    }

    func run() throws {
        requirePrecision(.bf16, tool: "replk-bench")
        do {
            let demo = (root as NSString).appendingPathComponent("Datasets/Demo")
            let fixtures = (root as NSString).appendingPathComponent("Tests/Fixtures")
            var rows = [[String]]()
            var obj = [String: Any]()
            func add(_ what: String, _ key: String, _ values: [Precision: Double], format: String) {
                let f = values[.fp32] ?? .nan, b = values[.bf16] ?? .nan
                rows.append([what, String(format: format, f), String(format: format, b), String(format: format, b - f)])
                obj[key] = ["fp32": f, "bf16": b]
            }
            var cls = [Precision: [String: Any]](), seg = cls, det = cls
            for p in Precision.allCases {
                cls[p] = try evaluate("replk-cls", ["--data", "imagenet", "--root", demo + "/imagenet/val",
                                                    "--checkpoint", demo + "/cls/replknet_shapes_cls.pth", "--input-size", "128"], precision: p)
                seg[p] = try evaluate("replk-seg", ["--data", "ade20k", "--root", demo + "/ADEChallengeData2016",
                                                    "--checkpoint", demo + "/seg/upernet_replknet_shapes_ade.pth", "--scale", "1024,256"], precision: p)
                det[p] = try evaluate("replk-det", ["--data", "coco", "--root", demo + "/coco",
                                                    "--checkpoint", demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth", "--scale", "256,256"], precision: p)
            }
            func number(_ d: [Precision: [String: Any]], _ path: [String], index: Int? = nil) -> [Precision: Double] {
                d.compactMapValues { o in
                    var v: Any? = o
                    for k in path { v = (v as? [String: Any])?[k] }
                    if let index, let a = v as? [Double], a.count > index { return 100 * a[index] }
                    return v as? Double
                }
            }
            add("demo classification top-1 (%)", "demo_cls_top1", number(cls, ["top1"]), format: "%.2f")
            add("demo segmentation mIoU (%)", "demo_seg_miou", number(seg, ["mIoU"]), format: "%.2f")
            add("demo segmentation aAcc (%)", "demo_seg_aacc", number(seg, ["aAcc"]), format: "%.2f")
            add("demo segmentation mAcc (%)", "demo_seg_macc", number(seg, ["mAcc"]), format: "%.2f")
            add("demo detection bbox AP (%)", "demo_det_bbox_ap", number(det, ["bbox", "stats"], index: 0), format: "%.2f")
            add("demo detection segm AP (%)", "demo_det_segm_ap", number(det, ["segm", "stats"], index: 0), format: "%.2f")

            // The official float32 logits of dev-cls-a and dev-cls-b (one checkpoint, two inputs).
            var logitError = [Precision: Double](), top1Agree = [Precision: Double]()
            var engine = EngineConfiguration.fromEnvironment()
            for p in Precision.allCases {
                engine.precision = p
                let path = fixtures + "/dev-cls-a/model.pth"
                let model = try RepLKNet(stateDict: try Checkpoint(path: path).stateDict(), file: path,
                                         options: RepLKNetOptions(engine: engine))
                var worst = 0.0, agree = 0, images = 0
                for dir in ["dev-cls-a", "dev-cls-b"] {
                    let x = try NPY.read(path: fixtures + "/\(dir)/input.npy")
                    let want = try NPY.read(path: fixtures + "/\(dir)/logits_reparam.npy")
                    let input = x.values.withUnsafeBufferPointer {
                        Tensor.fromNCHW($0, n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3])
                    }
                    let got = model.logits(input).scalars
                    let scale = want.values.reduce(0) { max($0, abs($1)) }
                    worst = max(worst, Double(zip(got, want.values).reduce(0) { max($0, abs($1.0 - $1.1)) } / scale))
                    let classes = want.shape[1]
                    for row in 0..<want.shape[0] {
                        let g = got[row * classes..<(row + 1) * classes], w = want.values[row * classes..<(row + 1) * classes]
                        if g.indices.max(by: { g[$0] < g[$1] }) == w.indices.max(by: { w[$0] < w[$1] }) { agree += 1 }
                        images += 1
                    }
                }
                logitError[p] = worst
                top1Agree[p] = 100 * Double(agree) / Double(images)
            }
            add("fixture logits: max abs Δ / max abs logit, vs official", "fixture_logit_rel_diff", logitError, format: "%.2e")
            add("fixture top-1 equal to official (%)", "fixture_top1_agreement", top1Agree, format: "%.0f")

            // dev-seg whole and slide: label-map pixels that differ from float32's.
            var sd = StateDict()
            let backbone = try Checkpoint(path: fixtures + "/dev-cls-a/model.pth").stateDict()
            for k in backbone.keys where !k.hasPrefix("norm.") && !k.hasPrefix("head.") { sd.insert("backbone." + k, backbone[k]!) }
            let heads = try Checkpoint(path: fixtures + "/dev-seg-ade-whole/heads.safetensors").stateDict()
            for k in heads.keys { sd.insert(k, heads[k]!) }
            let models = try Dictionary(uniqueKeysWithValues: Precision.allCases.map { p -> (Precision, Segmenter) in
                var e = engine
                e.precision = p
                return (p, try Segmenter(stateDict: sd, file: "dev-seg", alignCorners: false, engine: e))
            })
            for (dir, mode) in [("dev-seg-ade-whole", SegmentationTestConfig.Mode.whole),
                                ("dev-seg-ade-slide", .slide(crop: (512, 512), stride: (341, 341)))] {
                var config = SegmentationTestConfig.ade20k
                config.mode = mode
                let image = try Image(contentsOf: fixtures + "/\(dir)/input.jpg")
                let labels = models.mapValues { SegmentationPipeline(model: $0, config: config)(image).labels }
                let a = labels[.fp32]!, b = labels[.bf16]!
                let share = 100 * Double(zip(a, b).filter { $0 != $1 }.count) / Double(a.count)
                add("\(dir): label-map pixels differing from fp32 (%)", "\(dir)_pixels_differing", [.fp32: 0, .bf16: share],
                    format: "%.3f")
            }
            if json { print(jsonText(obj)); return }
            print(markdownTable(header: ["measure", "fp32", "bf16", "bf16 − fp32"], rows: rows, rightAligned: [1, 2, 3]))
        } catch {
            exitWithError("replk-bench", error)
        }
    }
}
