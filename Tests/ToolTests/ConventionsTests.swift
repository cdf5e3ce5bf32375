import Foundation
import XCTest
import TestSupport

/// The small conventions (issue 28): `--version` everywhere, one default thread count, options
/// only where they do something, one exit code per kind of error; and `info` with FLOPs at any
/// input size, `replk-eval seg` with the class list the predictions use.
final class ConventionsTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")

    func testEveryToolPrintsItsVersionAndTheKernelBuildChosen() throws {
        for tool in ["replk-cls", "replk-seg", "replk-det", "replk-eval", "replk-bench"] {
            let r = try Tools.run(tool, ["--version"])
            XCTAssertEqual(r.status, 0, "\(tool): \(r.stderr)")
            XCTAssertTrue(r.stdout.hasPrefix("\(tool) 0."), r.stdout)
            XCTAssertTrue(r.stdout.contains("kernels: x86-64-v"), r.stdout)
            XCTAssertTrue(r.stdout.contains("chosen on this CPU"), r.stdout)
        }
        let forced = try Tools.run("replk-det", ["--version"], environment: ["REPLK_KERNELS": "v3"])
        XCTAssertTrue(forced.stdout.contains("kernels: x86-64-v3 (AVX2 + FMA)"), forced.stdout)
    }

    func testThreadsDefaultToAllCPUsInEveryTool() throws {
        for (tool, args) in [("replk-cls", ["infer"]), ("replk-seg", ["eval"]), ("replk-det", ["infer"]), ("replk-bench", ["dwconv"]),
                             ("replk-bench", ["model"]), ("replk-bench", ["peak"]), ("replk-bench", ["gemm"])] {
            let r = try Tools.run(tool, args + ["--help"])
            let help = r.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
            XCTAssertTrue(help.contains("--threads <threads> Threads (default: all CPUs"), "\(tool) \(args): \(help)")
        }
    }

    func testBenchCommandsListOnlyTheOptionsTheyUse() throws {
        let peak = try Tools.run("replk-bench", ["peak", "--help"]).stdout
        for unused in ["--peers", "--depthwise", "--rounds", "--repeat"] { XCTAssertFalse(peak.contains(unused), "peak lists \(unused)") }
        for cmd in ["gemm", "conv3x3", "coco-eval"] {
            let help = try Tools.run("replk-bench", [cmd, "--help"]).stdout
            XCTAssertFalse(help.contains("--peers <") && cmd != "coco-eval", "\(cmd) lists --peers")
            XCTAssertFalse(help.contains("--rounds"), "\(cmd) lists --rounds")
            XCTAssertFalse(help.contains("--depthwise"), "\(cmd) lists --depthwise")
        }
        XCTAssertTrue(try Tools.run("replk-bench", ["dwconv", "--help"]).stdout.contains("--peers"))
        let json = try Tools.run("replk-bench", ["gemm", "--shapes", "8x16x16", "--repeat", "1", "--threads", "1", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8)), json.stdout)
    }

    /// 64 for a bad command line in every tool, 2 for a setting the tools cannot run with, 1 for a bad file.
    func testOneExitCodePerKindOfError() throws {
        let photo = demo + "/coco/val2017/000000000001.jpg"
        for (tool, args) in [("replk-cls", ["eval", "--data", "voc", "--root", "r", "--checkpoint", "c"]),
                             ("replk-seg", ["eval", "--data", "voc", "--root", "r", "--checkpoint", "c"]),
                             ("replk-seg", ["infer", "--data", "ade20k", "--mode", "tiles", "--checkpoint", "c", "--out", "o", photo]),
                             ("replk-det", ["eval", "--data", "voc", "--root", "r", "--checkpoint", "c"]),
                             ("replk-eval", ["seg", "--data", "voc", "--root", "r", "--pred", "p"]),
                             ("replk-eval", ["seg", "--data", "ade20k", "--root", "r", "--pred", "p", "--num-classes", "0"]),
                             ("replk-bench", ["dwconv", "--depthwise", "fast"]),
                             ("replk-det", ["info", "--checkpoint", "c", "--shape", "800,0"])] {
            let r = try Tools.run(tool, args)
            XCTAssertEqual(r.status, 64, "\(tool) \(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        let setting = try Tools.run("replk-det", ["infer", "--checkpoint", demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth",
                                                  "--out", Fixtures.temporaryDirectory(), photo], environment: ["REPLK_DEPTHWISE": "fast"])
        XCTAssertEqual(setting.status, 2, setting.stderr)
        XCTAssertEqual(setting.stderr.split(separator: "\n").count, 1, setting.stderr)
        let file = try Tools.run("replk-det", ["info", "--checkpoint", "/nonexistent.pth"])
        XCTAssertEqual(file.status, 1, file.stderr)
    }

    func json(_ tool: String, _ args: [String]) throws -> [String: Any] {
        let r = try Tools.run(tool, args + ["--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    }

    /// FLOPs at any input size: four times the pixels, about four times the multiply-adds (the
    /// detector's RoI heads are a fixed part); parameters as the checkpoint's. Before, only
    /// `replk-bench cost`'s three fixed configurations were counted.
    func testInfoCountsFLOPsAndParametersAtAnyShape() throws {
        let cls = demo + "/cls/replknet_shapes_cls.pth", seg = demo + "/seg/upernet_replknet_shapes_ade.pth"
        let det = demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth"
        let c1 = try json("replk-cls", ["info", "--checkpoint", cls, "--shape", "128"]), c2 = try json("replk-cls", ["info", "--checkpoint", cls, "--shape", "256,256"])
        XCTAssertEqual(c1["params_merged"] as? Int, 1_413_605)
        XCTAssertEqual(c2["input"] as? [Int], [256, 256])
        XCTAssertEqual((c2["gmacs"] as! Double) / (c1["gmacs"] as! Double), 4, accuracy: 0.2)
        let s1 = try json("replk-seg", ["info", "--checkpoint", seg, "--shape", "256,256"]), s2 = try json("replk-seg", ["info", "--checkpoint", seg, "--shape", "512,512"])
        XCTAssertEqual((s2["gmacs"] as! Double) / (s1["gmacs"] as! Double), 4, accuracy: 0.2)
        XCTAssertGreaterThan(s1["params_merged"] as! Int, c1["params_merged"] as! Int)
        let d1 = try json("replk-det", ["info", "--checkpoint", det, "--shape", "256,256"]), d2 = try json("replk-det", ["info", "--checkpoint", det, "--shape", "512,512"])
        let ratio = (d2["gmacs"] as! Double) / (d1["gmacs"] as! Double)
        XCTAssertTrue(ratio > 1.1 && ratio < 4, "\(ratio)")   // the RoI heads (1000 proposals) weigh much in the demo model
        XCTAssertEqual(d1["input"] as? [Int], [256, 256])
    }

    /// `replk-eval seg` on the demo's predictions printed ADE20K's 150 names (144 of them nan):
    /// `--classes FILE` or `--num-classes N` give the predictions' own classes, and the header says which.
    func testEvalSegTakesTheClassListFromAFileOrACount() throws {
        let base = ["seg", "--data", "ade20k", "--root", demo + "/ADEChallengeData2016", "--pred", demo + "/seg/val_pred"]
        let names = Fixtures.temporaryDirectory() + "/shapes.txt"
        try "background\ncircle\nsquare\ntriangle\nstar\nring\n".write(toFile: names, atomically: true, encoding: .utf8)
        let r = try Tools.run("replk-eval", base + ["--classes", names])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("per class results (classes: 6 from \(names)):"), r.stdout)
        XCTAssertTrue(r.stdout.contains("|   circle   | 54.95 | 79.53 |"), r.stdout)
        XCTAssertFalse(r.stdout.contains("wall"))
        let obj = try json("replk-eval", base + ["--num-classes", "6"])
        XCTAssertEqual(obj["classes"] as? [String], (0..<6).map { "class \($0)" })
        XCTAssertEqual(obj["mIoU"] as? Double, 40.77)
        XCTAssertEqual(obj["class_list"] as? String, "6 numbered (--num-classes)")
        XCTAssertTrue(r.stderr.contains("eval 50/50"), r.stderr)
        let quiet = try Tools.run("replk-eval", base + ["--classes", names, "--quiet"])
        XCTAssertEqual(quiet.stderr, "")
        XCTAssertEqual(quiet.stdout, r.stdout)
        let ade = try Tools.run("replk-eval", base)
        XCTAssertTrue(ade.stdout.hasPrefix("per class results (classes: 150 of ADE20K"), ade.stdout)
        // Disagreements are one-line errors naming the file.
        let both = try Tools.run("replk-eval", base + ["--classes", names, "--num-classes", "5"])
        XCTAssertEqual(both.status, 1)
        XCTAssertEqual(both.stderr, "replk-eval: error: \(names): has 6 class names, but --num-classes is 5\n")
        let few = try Tools.run("replk-eval", base + ["--num-classes", "3"])
        XCTAssertNotEqual(few.status, 0)
        XCTAssertEqual(few.stderr.split(separator: "\n").filter { $0.contains("error") }.count, 1, few.stderr)
    }
}
