import Foundation
import XCTest
import TestSupport

/// `--precision` through the tools: the demo evaluations at bf16 stay within a point of fp32's
/// reference numbers, their records say which precision ran, a journal is not resumed at another
/// precision, and a CPU (or kernel build) without bf16 gets a one-line error with exit 2.
final class PrecisionTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")

    var bf16Unavailable: String? {
        // The tools' own check: bf16 is refused with exit 2 where it cannot run.
        let r = try? Tools.run("replk-bench", ["peak", "--precision", "bf16", "--threads", "1", "--json"])
        return r?.status == 0 ? nil : (r?.stderr ?? "replk-bench did not run")
    }

    func record(in dir: String, prefix: String) throws -> [String: Any] {
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }
        XCTAssertEqual(files.count, 1, "\(files)")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + files[0]))) as! [String: Any]
    }

    func json(_ r: Tools.Result) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    }

    func testDemoEvaluationsAtBF16StayWithinAPointOfFloat32() throws {
        if let reason = bf16Unavailable { print("PrecisionTests: skipped: \(reason)"); throw XCTSkip(reason) }
        // Classification: fp32 prints 84.00 on the 50 demo images (Datasets/Demo/cls/reference_metrics.json).
        var results = Fixtures.temporaryDirectory()
        var r = try Tools.run("replk-cls", ["eval", "--data", "imagenet", "--root", demo + "/imagenet/val", "--checkpoint",
                                            demo + "/cls/replknet_shapes_cls.pth", "--input-size", "128", "--precision", "bf16",
                                            "--results", results, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try json(r)["top1"] as! Double, 84.0, accuracy: 1.0)
        XCTAssertEqual(try record(in: results, prefix: "classification-")["precision"] as? String, "bf16")

        // Segmentation: mmseg's mIoU 40.77, aAcc 93.48, mAcc 53.04 at fp32.
        results = Fixtures.temporaryDirectory()
        r = try Tools.run("replk-seg", ["eval", "--data", "ade20k", "--root", demo + "/ADEChallengeData2016", "--checkpoint",
                                        demo + "/seg/upernet_replknet_shapes_ade.pth", "--scale", "1024,256", "--precision", "bf16",
                                        "--results", results, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let seg = try json(r)
        XCTAssertEqual(seg["mIoU"] as! Double, 40.77, accuracy: 1.0)
        XCTAssertEqual(seg["aAcc"] as! Double, 93.48, accuracy: 1.0)
        XCTAssertEqual(seg["mAcc"] as! Double, 53.04, accuracy: 1.0)
        XCTAssertEqual(try record(in: results, prefix: "segmentation-")["precision"] as? String, "bf16")

        // Detection: pycocotools' bbox AP 0.627 and segm AP 0.576 at fp32.
        results = Fixtures.temporaryDirectory()
        r = try Tools.run("replk-det", ["eval", "--data", "coco", "--root", demo + "/coco", "--checkpoint",
                                        demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth", "--scale", "256,256",
                                        "--precision", "bf16", "--results", results, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let det = try json(r)
        XCTAssertEqual(((det["bbox"] as! [String: Any])["stats"] as! [Double])[0], 0.627, accuracy: 0.01)
        XCTAssertEqual(((det["segm"] as! [String: Any])["stats"] as! [Double])[0], 0.576, accuracy: 0.01)
        XCTAssertEqual(try record(in: results, prefix: "detection-")["precision"] as? String, "bf16")
    }

    func testJournalWrittenAtBF16IsNotResumedAtFloat32() throws {
        if let reason = bf16Unavailable { print("PrecisionTests: skipped: \(reason)"); throw XCTSkip(reason) }
        let results = Fixtures.temporaryDirectory()
        func run(_ extra: [String]) throws -> Tools.Result {
            try Tools.run("replk-cls", ["eval", "--data", "imagenet", "--root", demo + "/imagenet/val", "--checkpoint",
                                        demo + "/cls/replknet_shapes_cls.pth", "--input-size", "128", "--limit", "4",
                                        "--results", results] + extra)
        }
        XCTAssertEqual(try run(["--precision", "bf16"]).status, 0)
        let refused = try run(["--resume"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("precision"), refused.stderr)
        XCTAssertEqual(try run(["--precision", "bf16", "--resume"]).status, 0)
    }

    func testBF16WithoutTheAVX512KernelsIsAOneLineErrorWithExitTwo() throws {
        // REPLK_KERNELS=v3 selects the AVX2 build, which has no bf16 kernels: the same refusal a CPU
        // without AVX512_BF16 gets, before any model is read.
        for (tool, args) in [("replk-cls", ["infer", "--checkpoint", demo + "/cls/replknet_shapes_cls.pth", "x.jpg"]),
                             ("replk-seg", ["eval", "--data", "ade20k", "--root", "/nonexistent", "--checkpoint", "x.pth"]),
                             ("replk-det", ["eval", "--data", "coco", "--root", "/nonexistent", "--checkpoint", "x.pth"]),
                             ("replk-bench", ["peak"])] {
            let r = try Tools.run(tool, args + ["--precision", "bf16"], environment: ["REPLK_KERNELS": "v3"])
            XCTAssertEqual(r.status, 2, "\(tool): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("\(tool): error:") && r.stderr.contains("bf16"), r.stderr)
        }
    }

    func testLeaderboardShowsThePrecision() throws {
        if let reason = bf16Unavailable { print("PrecisionTests: skipped: \(reason)"); throw XCTSkip(reason) }
        let results = Fixtures.temporaryDirectory()
        let r = try Tools.run("replk-cls", ["eval", "--data", "imagenet", "--root", demo + "/imagenet/val", "--checkpoint",
                                            demo + "/cls/replknet_shapes_cls.pth", "--input-size", "128", "--limit", "4",
                                            "--precision", "bf16", "--results", results])
        XCTAssertEqual(r.status, 0, r.stderr)
        let board = try Tools.run("replk-board", ["--results", results])
        XCTAssertEqual(board.status, 0, board.stderr)
        let header = board.stdout.split(separator: "\n").first { $0.contains("precision") }
        XCTAssertNotNil(header, board.stdout)
        XCTAssertTrue(board.stdout.split(separator: "\n").contains { $0.contains("replknet_shapes_cls.pth") && $0.contains("| bf16 ") }, board.stdout)
    }
}
