import Foundation
import XCTest
import TestSupport
import Weights

final class ReplkClsTests: XCTestCase {
    func testTensorInSaveLogitsOutMatchesFixtureMergedAndUnmerged() throws {
        let dir = Fixtures.temporaryDirectory()
        for (ckpt, suffix) in [("dev-cls-a/model.pth", ""), ("dev-cls-a/model_reparam.pth", "_reparam")] {
            for extra in [[], ["--no-reparam"]] {
                let out = dir + "/logits.npy"
                let r = try Tools.run("replk-cls", ["infer", "--checkpoint", Fixtures.path(ckpt), "--tensor",
                                                    Fixtures.path("dev-cls-a/input.npy"), "--save-logits", out, "--json"] + extra)
                XCTAssertEqual(r.status, 0, r.stderr)
                let got = try NPY.read(path: out), want = try Fixtures.npy("dev-cls-a/logits\(suffix).npy")
                XCTAssertEqual(got.shape, [1, 10])
                XCTAssertLessThanOrEqual(maxAbsDifference(got.values, want.values), 5e-5, "\(ckpt) \(extra)")
            }
        }
    }

    func testDemoClassifierReachesReferenceTop1() throws {
        let demo = Fixtures.path("../../Datasets/Demo")
        let r = try Tools.run("replk-cls", ["eval", "--data", "imagenet", "--root", demo + "/imagenet/val",
                                            "--checkpoint", demo + "/cls/replknet_shapes_cls.pth", "--input-size", "128",
                                            "--results", Fixtures.temporaryDirectory(), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(obj["top1"] as? Double, 84.0)   // reference_metrics.json: 42/50
        XCTAssertEqual(obj["images"] as? Int, 50)
    }

    /// Each bad input: non-zero exit, one line on stderr that names the file and the problem.
    func assertOneLineError(_ args: [String], contains needles: [String], line: UInt = #line) throws {
        let r = try Tools.run("replk-cls", args)
        XCTAssertNotEqual(r.status, 0, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.stderr, line: line)
        for n in needles { XCTAssertTrue(r.stderr.contains(n), "\(n) not in: \(r.stderr)", line: line) }
        XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("Stack dump"), line: line)
    }

    func testBadInputsGiveOneLineErrors() throws {
        let tmp = Fixtures.temporaryDirectory()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("dev-cls-a/model.pth")))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: tmp + "/truncated.pth"))
        try assertOneLineError(["infer", "--checkpoint", tmp + "/truncated.pth", Fixtures.path("imaging/photo.jpg")],
                               contains: [tmp + "/truncated.pth", "truncated"])
        let hostile = Fixtures.path("checkpoint-forms/hostile_os_system.pth")
        try assertOneLineError(["infer", "--checkpoint", hostile, Fixtures.path("imaging/photo.jpg")],
                               contains: [hostile, "os.system"])
        let ckpt = Fixtures.path("dev-cls-a/model.pth")
        try assertOneLineError(["infer", "--checkpoint", ckpt, Fixtures.path("imaging/make_imaging_fixtures.py")],
                               contains: ["make_imaging_fixtures.py", "not an image"])
        try assertOneLineError(["infer", "--checkpoint", ckpt, "/no/such/photo.jpg"],
                               contains: ["/no/such/photo.jpg", "No such file"])
        try assertOneLineError(["infer", "--checkpoint", "/no/such/model.pth", Fixtures.path("imaging/photo.jpg")],
                               contains: ["/no/such/model.pth", "No such file"])
        try assertOneLineError(["infer", "--checkpoint", Fixtures.path("checkpoint-forms/plain.pth"), Fixtures.path("imaging/photo.jpg")],
                               contains: ["plain.pth", "not a RepLKNet checkpoint"])
    }

    func testReparamWritesMergedSafetensors() throws {
        let out = Fixtures.temporaryDirectory() + "/deploy.safetensors"
        let r = try Tools.run("replk-cls", ["reparam", "--checkpoint", Fixtures.path("dev-cls-a/model.pth"), "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let sd = try Checkpoint(path: out).stateDict()
        XCTAssertNotNil(sd["stages.0.blocks.0.large_kernel.lkb_reparam.weight"])
        XCTAssertNil(sd["stages.0.blocks.0.large_kernel.small_conv.conv.weight"])
        let info = try Tools.run("replk-cls", ["info", "--checkpoint", out, "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(obj["merged_checkpoint"] as? Bool, true)
        XCTAssertEqual(obj["params_merged"] as? Int, 2_255_978)
    }
}
