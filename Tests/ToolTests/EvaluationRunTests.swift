import Foundation
import XCTest
import RepLKImaging
import TestSupport

/// The evaluation run the three `eval` commands share: a journal holding finished images is never
/// discarded silently, and Ctrl-C says how to continue.
final class EvaluationRunTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")

    func segEval(_ results: String, _ extra: [String] = []) -> [String] {
        ["eval", "--data", "ade20k", "--root", demo + "/ADEChallengeData2016", "--checkpoint",
         demo + "/seg/upernet_replknet_shapes_ade.pth", "--scale", "1024,256", "--limit", "3", "--results", results] + extra
    }

    /// Running eval again without --resume used to start a new journal over the finished images.
    func testRerunningWithoutResumeIsRefusedUnlessRestart() throws {
        let results = Fixtures.temporaryDirectory()
        XCTAssertEqual(try Tools.run("replk-seg", segEval(results)).status, 0)
        let journal = results + "/upernet_replknet_shapes_ade.seg-journal.jsonl"
        let before = try String(contentsOfFile: journal, encoding: .utf8)
        let again = try Tools.run("replk-seg", segEval(results))
        XCTAssertEqual(again.status, 64, again.stderr)
        XCTAssertEqual(again.stderr.split(separator: "\n").count, 1, again.stderr)
        for n in [journal, "holds 3 finished image(s)", "--resume", "--restart"] { XCTAssertTrue(again.stderr.contains(n), again.stderr) }
        XCTAssertEqual(try String(contentsOfFile: journal, encoding: .utf8), before)
        let both = try Tools.run("replk-seg", segEval(results, ["--resume", "--restart"]))
        XCTAssertEqual(both.status, 64, both.stderr)
        XCTAssertEqual(try Tools.run("replk-seg", segEval(results, ["--resume"])).status, 0)
        let restarted = try Tools.run("replk-seg", segEval(results, ["--restart"]))
        XCTAssertEqual(restarted.status, 0, restarted.stderr)
        XCTAssertTrue(restarted.stdout.contains("aAcc"), restarted.stdout)
    }

    /// Ctrl-C ends with one line naming the journal and --resume, exit 130; the resumed run
    /// finishes from the images already journalled.
    func testInterruptSaysHowToResume() throws {
        let results = Fixtures.temporaryDirectory()
        let args = ["eval", "--data", "coco", "--root", demo + "/coco", "--checkpoint",
                    demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth", "--results", results, "--threads", "1"]
        let p = Process()
        p.executableURL = Tools.productsDirectory.appendingPathComponent("replk-det")
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let journal = results + "/cascade_mask_rcnn_replknet_shapes_coco.det-journal.jsonl"
        let deadline = Date().addingTimeInterval(120)
        // Interrupt once two images are journalled.
        while Date() < deadline, p.isRunning {
            if let t = try? String(contentsOfFile: journal, encoding: .utf8), t.split(separator: "\n").count >= 3 { break }
            usleep(50_000)
        }
        XCTAssertTrue(p.isRunning, "the evaluation finished before it could be interrupted")
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 130, stderr)
        let last = stderr.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).last.map(String.init) ?? ""
        XCTAssertEqual(last, "replk-det: interrupted; the finished images are kept in \(journal): run the same command with --resume to continue")
        let resumed = try Tools.run("replk-det", args + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("bbox_mAP_copypaste"), resumed.stdout)
    }
}

/// `eval --show-dir DIR` (segmentation and detection) draws every evaluated image, as mmseg's
/// and mmdet's `tools/test.py --show-dir` do, and never into the dataset's own folders.
final class ShowDirTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")

    func testSegmentationEvalDrawsEveryImage() throws {
        let show = Fixtures.temporaryDirectory() + "/show"
        let r = try Tools.run("replk-seg", ["eval", "--data", "ade20k", "--root", demo + "/ADEChallengeData2016", "--checkpoint",
                                           demo + "/seg/upernet_replknet_shapes_ade.pth", "--scale", "1024,256", "--limit", "3",
                                           "--results", Fixtures.temporaryDirectory(), "--show-dir", show])
        XCTAssertEqual(r.status, 0, r.stderr)
        for n in 1...3 {
            let name = String(format: "ADE_val_%08d", n)
            let drawn = try Image(contentsOf: "\(show)/\(name).jpg")
            let original = try Image(contentsOf: "\(demo)/ADEChallengeData2016/images/validation/\(name).jpg")
            // The overlay at the image's size, with the legend panel beside it.
            XCTAssertGreaterThanOrEqual(drawn.width, original.width)
            XCTAssertEqual(drawn.height, original.height)
        }
        let refused = try Tools.run("replk-seg", ["eval", "--data", "ade20k", "--root", demo + "/ADEChallengeData2016", "--checkpoint",
                                                 demo + "/seg/upernet_replknet_shapes_ade.pth", "--limit", "1", "--results", Fixtures.temporaryDirectory(),
                                                 "--show-dir", demo + "/ADEChallengeData2016/images/validation"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("ADE_val_00000001.jpg") && refused.stderr.contains("written over"), refused.stderr)
    }

    func testDetectionEvalDrawsEveryImage() throws {
        let show = Fixtures.temporaryDirectory() + "/show"
        let r = try Tools.run("replk-det", ["eval", "--data", "coco", "--root", demo + "/coco", "--checkpoint",
                                           demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth", "--scale", "256,256", "--limit", "2",
                                           "--results", Fixtures.temporaryDirectory(), "--show-dir", show])
        XCTAssertEqual(r.status, 0, r.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: show).sorted()
        XCTAssertEqual(files.count, 2, "\(files)")
        for f in files {
            let drawn = try Image(contentsOf: "\(show)/\(f)")
            let original = try Image(contentsOf: "\(demo)/coco/val2017/\(f)")
            XCTAssertEqual(drawn.width, original.width)
            XCTAssertNotEqual(drawn.pixels, original.pixels)
        }
    }
}

/// `replk-eval seg --confusion-matrix FILE.csv`: mmseg's confusion_matrix.py, as counts and a heatmap.
final class ConfusionMatrixToolTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")

    func testDemoConfusionMatrixAgreesWithThePerClassAccuracy() throws {
        let dir = Fixtures.temporaryDirectory()
        try "background\ncircle\nsquare\ntriangle\nstar\nring\n".write(toFile: dir + "/shapes.txt", atomically: true, encoding: .utf8)
        let r = try Tools.run("replk-eval", ["seg", "--data", "ade20k", "--root", demo + "/ADEChallengeData2016", "--pred",
                                            demo + "/seg/val_pred", "--classes", dir + "/shapes.txt", "--confusion-matrix", dir + "/cm.csv", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = try String(contentsOfFile: dir + "/cm.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines[0], "ground truth \\ predicted,background,circle,square,triangle,star,ring")
        XCTAssertEqual(lines.count, 7)
        // Row / column sums: the diagonal over the row is mmseg's per-class Acc (the README's table).
        let rows = lines.dropFirst().map { $0.split(separator: ",").dropFirst().map { Int($0)! } }
        let acc = rows.enumerated().map { g, row in 100 * Double(row[g]) / Double(row.reduce(0, +)) }
        for (got, want) in zip(acc, [99.55, 79.53, 19.98, 31.28, 6.33, 81.57]) { XCTAssertEqual(got, want, accuracy: 0.005) }
        let png = try Image(contentsOf: dir + "/cm.png")
        XCTAssertGreaterThan(png.width, 6 * 6)
        // A .csv name is required; it never replaces a dataset file.
        let bad = try Tools.run("replk-eval", ["seg", "--data", "ade20k", "--root", demo + "/ADEChallengeData2016", "--pred",
                                              demo + "/seg/val_pred", "--num-classes", "6", "--confusion-matrix", dir + "/cm.txt"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
    }
}
