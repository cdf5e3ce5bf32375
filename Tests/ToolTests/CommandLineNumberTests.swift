import Foundation
import XCTest
import TestSupport

/// Every numeric option of every tool is checked when the command line is parsed: a number out
/// of range is a one-line usage error (exit 64) naming the option, before any model or dataset is
/// read. Before, some looped forever, trapped, or ran to a meaningless result with exit 0.
final class CommandLineNumberTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")

    func assertUsageError(_ tool: String, _ args: [String], _ needles: [String], line: UInt = #line) throws {
        let r = try Tools.run(tool, args)
        XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)", line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("\(tool): error: "), r.stderr, line: line)
        for n in needles { XCTAssertTrue(r.stderr.contains(n), "\(n) not in: \(r.stderr)", line: line) }
        XCTAssertEqual(r.stdout, "", line: line)
    }

    func testReplkClsNumbers() throws {
        let ckpt = demo + "/cls/replknet_shapes_cls.pth", photo = Fixtures.path("imaging/photo.jpg")
        let eval = ["eval", "--root", demo + "/imagenet/val", "--checkpoint", ckpt, "--results", Fixtures.temporaryDirectory()]
        try assertUsageError("replk-cls", eval + ["--batch-size", "0"], ["--batch-size must be at least 1, not 0"])   // looped forever
        try assertUsageError("replk-cls", eval + ["--batch-size", "-1"], ["--batch-size must be at least 1, not -1"])  // trapped
        try assertUsageError("replk-cls", eval + ["--limit", "0"], ["--limit must be at least 1"])
        try assertUsageError("replk-cls", eval + ["--threads", "-1"], ["--threads must be from 1 to 1024, not -1"])   // "Missing value"
        try assertUsageError("replk-cls", eval + ["--threads", "0"], ["--threads"])
        try assertUsageError("replk-cls", ["infer", "--checkpoint", ckpt, "--input-size", "0", photo], ["--input-size must be from 1 to 8192, not 0"])  // trapped
        try assertUsageError("replk-cls", ["infer", "--checkpoint", ckpt, "--input-size", "100000", photo], ["--input-size"])
        try assertUsageError("replk-cls", ["infer", "--checkpoint", ckpt, "--top-k", "0", photo], ["--top-k must be at least 1"])  // empty table
        try assertUsageError("replk-cls", ["infer", "--checkpoint", ckpt, "--mean", "0.5,x,0.5", photo], ["'0.5,x,0.5'", "--mean"])
        try assertUsageError("replk-cls", ["infer", "--checkpoint", ckpt, "--mean", "0.5,0.5", photo], ["--mean needs three"])
        try assertUsageError("replk-cls", ["infer", "--checkpoint", ckpt, "--std", "0.2,0,0.2", photo], ["--std", "above 0"])
        try assertUsageError("replk-cls", ["infer", "--checkpoint", ckpt, "--std", "nan,1,1", photo], ["--std"])
    }

    /// A negative number is the option's value, not another flag.
    func testNegativeNumbersAreValues() throws {
        let r = try Tools.run("replk-cls", ["infer", "--checkpoint", Fixtures.path("dev-cls-a/model.pth"),
                                            "--mean", "-0.5,0,0.5", "--top-k", "2", Fixtures.path("imaging/photo.jpg")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("|    2 |"), r.stdout)
    }

    func testReplkSegNumbers() throws {
        let results = Fixtures.temporaryDirectory() + "/results"
        let eval = ["eval", "--data", "ade20k", "--root", demo + "/ADEChallengeData2016", "--checkpoint",
                    demo + "/seg/upernet_replknet_shapes_ade.pth", "--results", results]
        try assertUsageError("replk-seg", eval + ["--limit", "0"], ["--limit must be at least 1, not 0"])   // a record of NaN before
        XCTAssertFalse(FileManager.default.fileExists(atPath: results))
        try assertUsageError("replk-seg", eval + ["--crop", "0", "--mode", "slide"], ["--crop"])
        try assertUsageError("replk-seg", eval + ["--stride", "-3"], ["--stride", "not -3"])
        try assertUsageError("replk-seg", eval + ["--scale", "1024"], ["--scale needs 'long,short'"])
        try assertUsageError("replk-seg", eval + ["--scale", "0,256"], ["--scale", "not 0"])
        try assertUsageError("replk-seg", eval + ["--scale", "1024,x"], ["'1024,x'", "--scale"])
        try assertUsageError("replk-seg", eval + ["--ratios", "0.5,0", "--aug-test"], ["--ratios", "above 0"])
        try assertUsageError("replk-seg", eval + ["--threads", "-2"], ["--threads", "not -2"])
        try assertUsageError("replk-seg", eval + ["--mode", "tiles"], ["'tiles'", "whole", "slide"])
        try assertUsageError("replk-seg", ["eval", "--data", "ade", "--root", "r", "--checkpoint", "c"], ["'ade'", "ade20k", "cityscapes"])
    }

    func testReplkDetNumbers() throws {
        let ckpt = demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth", photo = demo + "/coco/val2017/000000000001.jpg"
        let out = Fixtures.temporaryDirectory() + "/out"
        try assertUsageError("replk-det", ["infer", "--checkpoint", ckpt, "--score-thr", "1.5", "--out", out, photo], ["--score-thr must be a number from 0 to 1, not 1.5"])
        try assertUsageError("replk-det", ["infer", "--checkpoint", ckpt, "--score-thr", "nan", "--out", out, photo], ["--score-thr"])
        try assertUsageError("replk-det", ["infer", "--checkpoint", ckpt, "--score-thr", "-0.1", "--out", out, photo], ["--score-thr"])
        try assertUsageError("replk-det", ["infer", "--checkpoint", ckpt, "--scale", "1333", "--out", out, photo], ["--scale needs 'long,short'"])
        try assertUsageError("replk-det", ["infer", "--checkpoint", ckpt, "--threads", "5000", "--out", out, photo], ["--threads", "not 5000"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let eval = ["eval", "--root", demo + "/coco", "--checkpoint", ckpt, "--results", Fixtures.temporaryDirectory()]
        try assertUsageError("replk-det", eval + ["--limit", "-1"], ["--limit must be at least 1, not -1"])
        try assertUsageError("replk-det", eval + ["--data", "voc"], ["'voc'", "coco"])
    }

    func testReplkEvalNumbers() throws {
        let coco = ["coco", "--gt", Fixtures.path("coco/gt_1.json"), "--results", Fixtures.path("coco/dt_1.json")]
        try assertUsageError("replk-eval", coco + ["--max-dets", "0"], ["--max-dets", "not 0"])
        try assertUsageError("replk-eval", coco + ["--max-dets", "100,x"], ["'100,x'", "--max-dets"])
        try assertUsageError("replk-eval", coco + ["--max-dets", "-5"], ["--max-dets", "not -5"])
        try assertUsageError("replk-eval", coco + ["--iou-type", "box"], ["'box'", "bbox", "segm"])
        try assertUsageError("replk-eval", ["seg", "--data", "voc", "--root", "r", "--pred", "p"], ["'voc'", "ade20k"])
    }

    func testReplkBenchNumbers() throws {
        let dw = ["dwconv", "--channels", "32", "--size", "16", "--kernel", "5", "--depth", "2", "--threads", "1", "--repeat", "2"]
        try assertUsageError("replk-bench", dw + ["--kernel", "4"], ["--kernel must be odd"])
        try assertUsageError("replk-bench", dw + ["--kernel", "0"], ["--kernel"])
        try assertUsageError("replk-bench", dw + ["--channels", "0"], ["--channels", "not 0"])
        try assertUsageError("replk-bench", dw + ["--size", "-1"], ["--size", "not -1"])
        try assertUsageError("replk-bench", dw + ["--depth", "0"], ["--depth"])
        try assertUsageError("replk-bench", dw + ["--batch", "0"], ["--batch"])
        try assertUsageError("replk-bench", dw + ["--channels", "65536", "--size", "8192"], ["1 GiB"])
        try assertUsageError("replk-bench", dw + ["--repeat", "0"], ["--repeat", "not 0"])
        try assertUsageError("replk-bench", dw + ["--rounds", "0"], ["--rounds"])
        try assertUsageError("replk-bench", dw + ["--threads", "-1"], ["--threads", "not -1"])
        try assertUsageError("replk-bench", ["table1", "--kernels", "3,x"], ["'3,x'", "--kernels"])
        try assertUsageError("replk-bench", ["table1", "--kernels", "3,4"], ["--kernels", "odd"])
        try assertUsageError("replk-bench", ["table1", "--sizes", "16,0"], ["--sizes", "not 0"])
        try assertUsageError("replk-bench", ["model", "replknet-31b", "--size", "0"], ["--size", "not 0"])
        try assertUsageError("replk-bench", ["model", "upernet-31b", "--height", "100000"], ["--height"])
        try assertUsageError("replk-bench", ["model", "replknet-31b", "--batch", "-3"], ["--batch", "not -3"])
        try assertUsageError("replk-bench", ["model", "resnet-50"], ["'resnet-50'", "replknet-31b"])
        try assertUsageError("replk-bench", ["gemm", "--shapes", "56x128"], ["'56x128'", "SIDExCINxCOUT"])
        try assertUsageError("replk-bench", ["gemm", "--shapes", "0x128x128"], ["'0x128x128'"])
        try assertUsageError("replk-bench", ["gemm", "--activation", "tanh"], ["'tanh'", "gelu"])
        try assertUsageError("replk-bench", ["conv3x3", "--shapes", "16x-1x8"], ["'16x-1x8'"])
        try assertUsageError("replk-bench", ["coco-eval", "--gt", "g", "--results", "r", "--iou-type", "x"], ["'x'", "bbox"])
        try assertUsageError("replk-bench", ["random-checkpoint", "replknet-99", "--out", "o"], ["'replknet-99'"])
    }

    func testReplkBoardFormat() throws {
        try assertUsageError("replk-board", ["--format", "pdf"], ["'pdf'", "md", "csv", "html"])
    }
}
