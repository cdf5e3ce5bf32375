import Foundation
import XCTest
import RepLKImaging
import TestSupport

final class ReplkDetTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")
    var checkpoint: String { demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth" }

    /// The "stats" arrays of the --json output, read digit for digit.
    func stats(_ out: String, _ type: String) -> [Double] {
        let t = out[out.range(of: "\"\(type)\": {")!.upperBound...]
        let a = t[t.range(of: "[")!.upperBound..<t.range(of: "]")!.lowerBound]
        return a.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces))! }
    }

    /// mmdetection's class-wise table (CocoMetric(classwise=True), mmdet 3.x columns), printed
    /// and recorded: the rows pycocotools' precision array gives for the demo (computed with
    /// pycocotools 2.0.11 from the results files this run writes, bbox and masks without bbox, as
    /// mmdetection evaluates them).
    func testDemoEvaluationPrintsMMDetectionClasswiseTable() throws {
        let results = Fixtures.temporaryDirectory()
        let r = try Tools.run("replk-det", ["eval", "--data", "coco", "--root", demo + "/coco", "--checkpoint", checkpoint,
                                           "--scale", "256,256", "--results", results])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("| category |   mAP | mAP_50 | mAP_75 | mAP_s | mAP_m | mAP_l |"), r.stdout)
        for row in ["| circle   | 0.726 |  0.818 |  0.787 | 0.509 | 0.775 | 0.917 |",   // bbox
                    "| star     | 0.694 |  0.842 |  0.842 | 0.603 |   0.8 |   nan |",
                    "| circle   | 0.717 |  0.818 |    0.8 | 0.485 | 0.779 | 0.892 |",   // segm
                    "| ring     | 0.606 |  0.879 |  0.648 | 0.481 | 0.667 |   nan |"] {
            XCTAssertTrue(r.stdout.contains(row), row)
        }
        let file = try FileManager.default.contentsOfDirectory(atPath: results).first { $0.hasPrefix("detection-") && $0.hasSuffix(".json") }!
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results + "/" + file))) as! [String: Any]
        let rows = (record["metrics"] as! [String: Any])["bbox_classwise"] as! [[String: Any]]
        XCTAssertEqual(rows.map { $0["name"] as! String }, ["circle", "square", "triangle", "star", "ring"])
        XCTAssertEqual(rows[0]["mAP_50"] as! Double, 0.818, accuracy: 5e-4)
        XCTAssertTrue(rows[1]["mAP_l"] is NSNull)
    }

    func testDemoEvaluationReproducesMMDetection() throws {
        let results = Fixtures.temporaryDirectory()
        let r = try Tools.run("replk-det", ["eval", "--data", "coco", "--root", demo + "/coco", "--checkpoint", checkpoint,
                                           "--scale", "256,256", "--results", results, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // Datasets/Demo/det/reference_metrics.json: COCOeval.stats as mmdetection's CocoMetric computed them.
        let ref = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: demo + "/det/reference_metrics.json"))) as! [String: Any]
        let want = ref["cocoeval_stats"] as! [String: [Double]]
        XCTAssertEqual(stats(r.stdout, "bbox").map { String(format: "%.3f", $0) }, want["bbox"]!.map { String(format: "%.3f", $0) })
        XCTAssertEqual(stats(r.stdout, "segm").map { String(format: "%.3f", $0) }, want["segm"]!.map { String(format: "%.3f", $0) })
        // Resume after an interruption that left 20 images journalled: same numbers.
        let journal = results + "/cascade_mask_rcnn_replknet_shapes_coco.det-journal.jsonl"
        let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n")
        try (lines.prefix(21).joined(separator: "\n") + "\n").write(toFile: journal, atomically: true, encoding: .utf8)
        let resumed = try Tools.run("replk-det", ["eval", "--data", "coco", "--root", demo + "/coco", "--checkpoint", checkpoint,
                                                 "--scale", "256,256", "--results", results, "--json", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(stats(resumed.stdout, "bbox"), stats(r.stdout, "bbox"))
        XCTAssertEqual(stats(resumed.stdout, "segm"), stats(r.stdout, "segm"))
    }

    func testInferDrawsAndWritesCOCOResults() throws {
        let out = Fixtures.temporaryDirectory()
        let image = demo + "/coco/val2017/000000000001.jpg"
        let r = try Tools.run("replk-det", ["infer", "--checkpoint", checkpoint, "--scale", "256,256", image, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let drawn = try Image(contentsOf: out + "/000000000001.jpg")
        XCTAssertEqual([drawn.width, drawn.height], [256, 256])
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/000000000001.json"))) as! [[String: Any]]
        XCTAssertFalse(results.isEmpty)
        for d in results {
            XCTAssertEqual(d["image_id"] as? Int, 1)
            XCTAssertEqual((d["bbox"] as? [Double])?.count, 4)
            XCTAssertNotNil((d["segmentation"] as? [String: Any])?["counts"] as? String)
        }
    }

    /// Journal lines with detections the tool could not have written (a box of three numbers,
    /// results that are not a JSON array, a number where the text belongs, another image's id)
    /// are reported in one line each and their images detected again: the resumed run gives the
    /// same COCO stats as the run that wrote the journal.
    func testResumeComputesAgainTheImagesOfBadJournalLines() throws {
        let results = Fixtures.temporaryDirectory()
        let args = ["eval", "--data", "coco", "--root", demo + "/coco", "--checkpoint", checkpoint, "--scale", "256,256",
                    "--limit", "8", "--results", results, "--json"]
        let r = try Tools.run("replk-det", args)
        XCTAssertEqual(r.status, 0, r.stderr)
        let journal = results + "/cascade_mask_rcnn_replknet_shapes_coco.det-journal.jsonl"
        var lines = try Journals.lines(journal)
        XCTAssertEqual(lines.count, 9)
        func editFirstDetection(_ n: Int, _ edit: @escaping (inout [String: Any]) -> Void) throws {
            try Journals.edit(&lines, n) { obj in
                var dets = try! JSONSerialization.jsonObject(with: Data((obj["results"] as! String).utf8)) as! [[String: Any]]
                edit(&dets[0])
                obj["results"] = String(decoding: try! JSONSerialization.data(withJSONObject: dets), as: UTF8.self)
            }
        }
        try editFirstDetection(1) { $0["bbox"] = Array(($0["bbox"] as! [Any]).prefix(3)) }
        try Journals.edit(&lines, 2) { $0["results"] = "[{]" }
        try Journals.edit(&lines, 3) { $0["results"] = 5 }
        try editFirstDetection(4) { $0["image_id"] = 999 }
        try Journals.write(lines, to: journal)
        let resumed = try Tools.run("replk-det", args + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(stats(resumed.stdout, "bbox"), stats(r.stdout, "bbox"))
        XCTAssertEqual(stats(resumed.stdout, "segm"), stats(r.stdout, "segm"))
        let notices = resumed.stderr.split(separator: "\n").filter { $0.hasPrefix("replk-det: \(journal) line") }
        XCTAssertEqual(notices.count, 4, resumed.stderr)
        for (n, why) in [(2, "\"results\"[0]: \"bbox\" has 3 values, expected 4"), (3, "\"results\" is not a JSON array"),
                         (4, "\"results\" is not a string"), (5, "\"results\"[0]: \"image_id\" is not")] {
            XCTAssertTrue(notices.contains { $0.contains("line \(n): ") && $0.contains(why) && $0.hasSuffix("computing it again") },
                          "line \(n): \(resumed.stderr)")
        }
    }

    /// `infer --out D D/x.jpg` used to replace the photo with the drawing. Outputs are compared
    /// with the inputs by file identity: refused in one line before anything is written, also
    /// through a link to D; the photo is unchanged.
    func testInferNeverDrawsOverItsInput() throws {
        let dir = Fixtures.temporaryDirectory()
        let photo = dir + "/x.jpg"
        try FileManager.default.copyItem(atPath: demo + "/coco/val2017/000000000001.jpg", toPath: photo)
        let before = try Data(contentsOf: URL(fileURLWithPath: photo))
        let link = Fixtures.temporaryDirectory() + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: dir)
        for out in [dir, link] {
            let r = try Tools.run("replk-det", ["infer", "--checkpoint", checkpoint, "--scale", "256,256", "--out", out, photo])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(out + "/x.jpg") && r.stderr.contains("input"), r.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: photo)), before, out)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.json"))
        }
    }

    /// Two inputs named x.jpg in different folders: each keeps its folder under --out (a/x.jpg,
    /// b/x.jpg and their JSON), instead of the second overwriting the first.
    func testInferKeepsSameNamedInputsApart() throws {
        let dir = Fixtures.temporaryDirectory()
        for (sub, src) in [("a", "000000000001.jpg"), ("b", "000000000002.jpg")] {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: demo + "/coco/val2017/" + src, toPath: dir + "/\(sub)/x.jpg")
        }
        let out = Fixtures.temporaryDirectory()
        let r = try Tools.run("replk-det", ["infer", "--checkpoint", checkpoint, "--scale", "256,256", "--out", out,
                                           dir + "/a/x.jpg", dir + "/b/x.jpg"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try Data(contentsOf: URL(fileURLWithPath: out + "/a/x.json")), b = try Data(contentsOf: URL(fileURLWithPath: out + "/b/x.json"))
        XCTAssertNotEqual(a, b)
        XCTAssertNoThrow(try Image(contentsOf: out + "/a/x.jpg"))
        XCTAssertNoThrow(try Image(contentsOf: out + "/b/x.jpg"))
    }

    func testWrongInputsAreClearErrors() throws {
        let seg = demo + "/seg/upernet_replknet_shapes_ade.pth"
        let a = try Tools.run("replk-det", ["infer", "--checkpoint", seg, demo + "/coco/val2017/000000000001.jpg", "--out", Fixtures.temporaryDirectory()])
        XCTAssertNotEqual(a.status, 0)
        XCTAssertTrue(a.stderr.contains("segmentation checkpoint"), a.stderr)
        // An annotation file for another dataset (6 categories, not the model's 5).
        let root = Fixtures.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: root + "/annotations", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: demo + "/coco/val2017", toPath: root + "/val2017")
        try FileManager.default.copyItem(atPath: Fixtures.path("coco/gt_1.json"), toPath: root + "/annotations/instances_val2017.json")
        let b = try Tools.run("replk-det", ["eval", "--data", "coco", "--root", root, "--checkpoint", checkpoint, "--results", Fixtures.temporaryDirectory()])
        XCTAssertNotEqual(b.status, 0)
        XCTAssertTrue(b.stderr.contains("6 categories but the checkpoint predicts 5 classes"), b.stderr)
        let c = try Tools.run("replk-det", ["infer", "--checkpoint", checkpoint, Fixtures.path("imaging/truncated.jpg"), "--out", Fixtures.temporaryDirectory()])
        XCTAssertNotEqual(c.status, 0)
        XCTAssertTrue(c.stderr.contains("truncated.jpg: corrupt image"), c.stderr)
    }
}
