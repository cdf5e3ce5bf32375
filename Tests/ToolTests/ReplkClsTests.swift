import Foundation
import XCTest
import TestSupport
import RepLKWeights

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
        let results = Fixtures.temporaryDirectory()
        let r = try Tools.run("replk-cls", ["eval", "--data", "imagenet", "--root", demo + "/imagenet/val",
                                            "--checkpoint", demo + "/cls/replknet_shapes_cls.pth", "--input-size", "128",
                                            "--results", results, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(obj["top1"] as? Double, 84.0)   // reference_metrics.json: 42/50
        XCTAssertEqual(obj["images"] as? Int, 50)
        // The whole split: not partial.
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: obj["record"] as! String))) as! [String: Any]
        XCTAssertEqual(record["split_images"] as? Int, 50)
        XCTAssertEqual(record["partial"] as? Bool, false)
        XCTAssertEqual((record["samples_digest"] as? String)?.count, 64)
    }

    /// `eval --limit 5` on the 50 demo images: the record says partial, and replk-board shows it as
    /// a partial run of the demo shapes set, not under ImageNet's official split.
    func testLimitedRunIsRecordedAndShownAsPartial() throws {
        let results = Fixtures.temporaryDirectory()
        let r = try demoEval(checkpoint: demo + "/cls/replknet_shapes_cls.pth", results: results, ["--limit", "5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: obj["record"] as! String))) as! [String: Any]
        XCTAssertEqual(record["images"] as? Int, 5)
        XCTAssertEqual(record["split_images"] as? Int, 50)
        XCTAssertEqual(record["partial"] as? Bool, true)
        let board = try Tools.run("replk-board", ["--results", results])
        XCTAssertEqual(board.status, 0, board.stderr)
        XCTAssertTrue(board.stdout.contains("### Classification — demo shapes (ImageNet val layout, 50-image set, not the official split)"), board.stdout)
        let row = board.stdout.split(separator: "\n").first { $0.contains("replknet_shapes_cls.pth") }
        XCTAssertTrue(row?.contains("partial: 5 of 50") == true, board.stdout)
        let official = board.stdout.components(separatedBy: "### Classification — ImageNet val (official split")[1].components(separatedBy: "###")[0]
        XCTAssertFalse(official.contains("replknet_shapes_cls.pth"), official)
        let csv = try Tools.run("replk-board", ["--results", results, "--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        XCTAssertEqual(csv.stdout.split(separator: "\r\n").filter { $0.hasPrefix("group,") }.count, 1)
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

    let demo = Fixtures.path("../../Datasets/Demo")

    func demoEval(checkpoint: String, results: String, _ extra: [String] = []) throws -> Tools.Result {
        try Tools.run("replk-cls", ["eval", "--data", "imagenet", "--root", demo + "/imagenet/val", "--checkpoint", checkpoint,
                                    "--input-size", "128", "--results", results, "--json"] + extra)
    }

    /// Journal lines the tool did not write as they stand (a logits row of the wrong length, a
    /// label that is not the image's folder, a null logit, a label given as a string): each is
    /// reported in one line and its image computed again, so the resumed run still counts all 50
    /// images and prints the reference top-1, and the journal no longer holds the bad lines.
    func testResumeComputesAgainTheImagesOfBadJournalLines() throws {
        let results = Fixtures.temporaryDirectory()
        let ckpt = demo + "/cls/replknet_shapes_cls.pth"
        XCTAssertEqual(try demoEval(checkpoint: ckpt, results: results).status, 0)
        let journal = results + "/replknet_shapes_cls.cls-journal.jsonl"
        var lines = try Journals.lines(journal)
        XCTAssertEqual(lines.count, 51)
        try Journals.edit(&lines, 1) { $0["logits"] = Array(($0["logits"] as! [Any]).prefix(3)) }
        try Journals.edit(&lines, 2) { $0["label"] = 4 }
        try Journals.edit(&lines, 3) { var l = $0["logits"] as! [Any]; l[0] = NSNull(); $0["logits"] = l }
        try Journals.edit(&lines, 4) { $0["label"] = "0" }
        try Journals.write(lines, to: journal)
        let resumed = try demoEval(checkpoint: ckpt, results: results, ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(obj["images"] as? Int, 50)
        XCTAssertEqual(obj["top1"] as? Double, 84.0)
        let notices = resumed.stderr.split(separator: "\n").filter { $0.hasPrefix("replk-cls: \(journal) line") }
        XCTAssertEqual(notices.count, 4, resumed.stderr)
        for (n, why) in [(2, "\"logits\" has 3 values, expected 5"), (3, "\"label\" is 4, the image's folder says 0"),
                         (4, "\"logits\"[0] is not a finite number"), (5, "\"label\" is not an integer")] {
            XCTAssertTrue(notices.contains { $0.contains("line \(n): ") && $0.contains(why) && $0.hasSuffix("computing it again") },
                          "line \(n): \(resumed.stderr)")
        }
        XCTAssertTrue(resumed.stderr.contains("eval 50/50"), resumed.stderr)
        // The recomputed images replaced the bad lines: a second resume has nothing to report or run.
        let again = try demoEval(checkpoint: ckpt, results: results, ["--resume"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(again.stderr.contains("line"), again.stderr)
        XCTAssertEqual(try Journals.lines(journal).count, 51)
    }

    /// The journal records the checkpoint's sha256: replacing the checkpoint file between the
    /// interrupted run and --resume (here by another classifier under the same name) is refused
    /// in one line instead of mixing two models' logits, and so is a journal written before the
    /// hash was recorded.
    func testResumeRefusesAnotherCheckpointAndJournalsWithoutItsHash() throws {
        let dir = Fixtures.temporaryDirectory(), results = Fixtures.temporaryDirectory()
        let ckpt = dir + "/model.pth"
        try FileManager.default.copyItem(atPath: demo + "/cls/replknet_shapes_cls.pth", toPath: ckpt)
        XCTAssertEqual(try demoEval(checkpoint: ckpt, results: results, ["--limit", "5"]).status, 0)
        let journal = results + "/model.cls-journal.jsonl"
        let header = try Journals.lines(journal)[0]
        XCTAssertTrue(header.contains("\"checkpoint_sha256\":\""), header)
        // Same file: resumes.
        XCTAssertEqual(try demoEval(checkpoint: ckpt, results: results, ["--limit", "5", "--resume"]).status, 0)
        try FileManager.default.removeItem(atPath: ckpt)
        try FileManager.default.copyItem(atPath: Fixtures.path("dev-cls-a/model.pth"), toPath: ckpt)
        let other = try demoEval(checkpoint: ckpt, results: results, ["--limit", "5", "--resume"])
        XCTAssertEqual(other.status, 1)
        XCTAssertEqual(other.stderr.split(separator: "\n").count, 1, other.stderr)
        XCTAssertTrue(other.stderr.contains("\(ckpt): not the checkpoint the resume journal \(journal) was started with"), other.stderr)
        XCTAssertTrue(other.stderr.contains("run with --restart instead of --resume"), other.stderr)
        // A journal of an older version: no hash, so which model it holds is unknown.
        try FileManager.default.removeItem(atPath: ckpt)
        try FileManager.default.copyItem(atPath: demo + "/cls/replknet_shapes_cls.pth", toPath: ckpt)
        var lines = try Journals.lines(journal)
        try Journals.edit(&lines, 0) { var s = $0["settings"] as! [String: Any]; s["checkpoint_sha256"] = nil; $0["settings"] = s }
        try Journals.write(lines, to: journal)
        let old = try demoEval(checkpoint: ckpt, results: results, ["--limit", "5", "--resume"])
        XCTAssertEqual(old.status, 1)
        XCTAssertEqual(old.stderr.split(separator: "\n").count, 1, old.stderr)
        XCTAssertTrue(old.stderr.contains("does not record its checkpoint's sha256") && old.stderr.contains("run with --restart instead of --resume"), old.stderr)
        // Starting over (--restart) works and records the hash again.
        XCTAssertEqual(try demoEval(checkpoint: ckpt, results: results, ["--limit", "5", "--restart"]).status, 0)
        XCTAssertEqual(try Journals.lines(journal)[0], header)
    }

    /// Outputs never replace inputs: --save-logits naming the input tensor (by another spelling)
    /// and reparam --out naming its own checkpoint are refused before anything is written.
    func testOutputsThatWouldReplaceAnInputAreRefused() throws {
        let dir = Fixtures.temporaryDirectory()
        let tensor = dir + "/input.npy", ckpt = dir + "/model.pth"
        try FileManager.default.copyItem(atPath: Fixtures.path("dev-cls-a/input.npy"), toPath: tensor)
        try FileManager.default.copyItem(atPath: Fixtures.path("dev-cls-a/model.pth"), toPath: ckpt)
        let before = try Data(contentsOf: URL(fileURLWithPath: tensor)), ckptBefore = try Data(contentsOf: URL(fileURLWithPath: ckpt))
        try assertOneLineError(["infer", "--checkpoint", ckpt, "--tensor", tensor, "--save-logits", dir + "/./input.npy"],
                               contains: [dir + "/./input.npy", "would be written over the input", tensor])
        try assertOneLineError(["reparam", "--checkpoint", ckpt, "--out", ckpt], contains: [ckpt, "is an input"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: tensor)), before)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: ckpt)), ckptBefore)
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
