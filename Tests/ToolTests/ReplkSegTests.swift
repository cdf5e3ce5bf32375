import Foundation
import XCTest
import RepLKImaging
import TestSupport

final class ReplkSegTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")

    func evalArgs(_ root: String, _ results: String, _ extra: [String] = []) -> [String] {
        ["eval", "--data", "ade20k", "--root", root, "--checkpoint", demo + "/seg/upernet_replknet_shapes_ade.pth",
         "--scale", "1024,256", "--results", results] + extra
    }

    func testDemoEvaluationPrintsMMSegReferenceTable() throws {
        let r = try Tools.run("replk-seg", evalArgs(demo + "/ADEChallengeData2016", Fixtures.temporaryDirectory()))
        XCTAssertEqual(r.status, 0, r.stderr)
        // demo/README.md: mmseg IoUMetric on the 50 val images.
        XCTAssertTrue(r.stdout.contains("| 93.48 | 40.77 | 53.04 |"), r.stdout)
        for row in ["| background |  98.0 | 99.55 |", "|   circle   | 54.95 | 79.53 |", "|   square   | 16.19 | 19.98 |",
                    "|  triangle  | 22.75 | 31.28 |", "|    star    |  5.57 |  6.33 |", "|    ring    | 47.13 | 81.57 |"] {
            XCTAssertTrue(r.stdout.contains(row), row)
        }
        XCTAssertTrue(r.stdout.contains("aAcc: 93.4800  mIoU: 40.7700  mAcc: 53.0400"))
    }

    /// The opt-in FFT through the whole model (`fft`: stages 1 and 2 of the demo, where it pays;
    /// `fft-all`: every stage): the summary is mmseg's, and so is every class but circle, which may
    /// print 54.96 (one pixel of ADE_val_00000014 whose circle and square logits tie to 2e-7 goes
    /// to circle with `fft`). `fft` comes from `--depthwise`, over a `REPLK_DEPTHWISE` that says
    /// otherwise; `fft-all` from the environment. The results record says which ran.
    func testDemoEvaluationWithTheFFTMatchesMMSegToTheTiedPixel() throws {
        for (mode, flag, env) in [("fft", ["--depthwise", "fft"], "bands"), ("fft-all", [], "fft-all")] {
            let results = Fixtures.temporaryDirectory()
            let r = try Tools.run("replk-seg", evalArgs(demo + "/ADEChallengeData2016", results, flag),
                                  environment: ["REPLK_DEPTHWISE": env])
            XCTAssertEqual(r.status, 0, r.stderr)
            let files = try FileManager.default.contentsOfDirectory(atPath: results).filter { $0.hasPrefix("segmentation-") && $0.hasSuffix(".json") }
            XCTAssertEqual(files.count, 1, "\(files)")
            let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results + "/" + files[0]))) as! [String: Any]
            XCTAssertEqual(record["depthwise"] as? String, mode)
            XCTAssertTrue(r.stdout.contains("aAcc: 93.4800  mIoU: 40.7700  mAcc: 53.0400"), "\(mode): \(r.stdout)")
            for row in ["| background |  98.0 | 99.55 |", "|   square   | 16.19 | 19.98 |", "|  triangle  | 22.75 | 31.28 |",
                        "|    star    |  5.57 |  6.33 |", "|    ring    | 47.13 | 81.57 |"] {
                XCTAssertTrue(r.stdout.contains(row), "\(mode): \(row)")
            }
            XCTAssertTrue(r.stdout.contains("|   circle   | 54.95 | 79.53 |") || r.stdout.contains("|   circle   | 54.96 | 79.53 |"),
                          "\(mode): \(r.stdout)")
        }
    }

    func testInterruptedEvaluationResumesToTheSameNumbers() throws {
        let results = Fixtures.temporaryDirectory()
        let root = demo + "/ADEChallengeData2016"
        // Simulate an interruption: a journal that holds only part of the run (its first 12 lines).
        let full = try Tools.run("replk-seg", evalArgs(root, results, ["--json"]))
        XCTAssertEqual(full.status, 0, full.stderr)
        let journal = results + "/upernet_replknet_shapes_ade.seg-journal.jsonl"
        let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 51)
        try (lines.prefix(12).joined(separator: "\n") + "\n{\"key\": \"torn").write(toFile: journal, atomically: true, encoding: .utf8)
        let resumed = try Tools.run("replk-seg", evalArgs(root, results, ["--json", "--resume"]))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        func metrics(_ s: String) -> String { s.components(separatedBy: "\"classes\"")[0] }
        XCTAssertEqual(metrics(resumed.stdout), metrics(full.stdout))
        XCTAssertTrue(resumed.stderr.contains("eval 50/50"))
        // Other settings: resuming is refused rather than mixing results.
        let other = try Tools.run("replk-seg", evalArgs(root, results, ["--json", "--resume", "--mode", "slide", "--crop", "256"]))
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("other settings"), other.stderr)
        // Another depth-wise algorithm rounds differently: refused too.
        let fft = try Tools.run("replk-seg", evalArgs(root, results, ["--json", "--resume", "--depthwise", "fft"]))
        XCTAssertNotEqual(fft.status, 0)
        XCTAssertTrue(fft.stderr.contains("other settings"), fft.stderr)
    }

    /// A journal line whose count arrays have the wrong length used to stop the resumed run with
    /// SIGILL (a precondition of the metric); one with a value of the wrong type was neither
    /// counted nor run again (49 of 50 images, another mIoU, exit 0). Every line is now checked:
    /// each bad one is reported in one line and its image computed again, and the resumed run
    /// prints mmseg's numbers for all 50 images.
    func testResumeComputesAgainTheImagesOfBadJournalLines() throws {
        let results = Fixtures.temporaryDirectory()
        let root = demo + "/ADEChallengeData2016"
        let full = try Tools.run("replk-seg", evalArgs(root, results, ["--json"]))
        XCTAssertEqual(full.status, 0, full.stderr)
        let journal = results + "/upernet_replknet_shapes_ade.seg-journal.jsonl"
        var lines = try Journals.lines(journal)
        XCTAssertEqual(lines.count, 51)
        try Journals.edit(&lines, 3) { $0["intersect"] = Array(($0["intersect"] as! [Any]).dropLast()) }   // SIGILL before
        try Journals.edit(&lines, 5) { var p = $0["pred"] as! [Any]; p[0] = "many"; $0["pred"] = p }        // 49 images before
        try Journals.edit(&lines, 7) { $0["label"] = 7 }
        try Journals.edit(&lines, 9) { var p = $0["pred"] as! [Any]; p[0] = 1.5; $0["pred"] = p }
        try Journals.edit(&lines, 11) { var i = $0["intersect"] as! [Int]; i[0] += 1_000_000; $0["intersect"] = i }
        try Journals.edit(&lines, 13) { $0["key"] = "ADE_val_99999999.jpg" }
        lines[15] = "{\"key\": "
        lines.append(lines[17])
        try Journals.write(lines, to: journal)
        let keys = try [3, 5, 7, 9, 11, 17].map { try Journals.key(lines[$0]) }
        let resumed = try Tools.run("replk-seg", evalArgs(root, results, ["--json", "--resume"]))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        func metrics(_ s: String) -> String { s.components(separatedBy: "\"classes\"")[0] }
        XCTAssertEqual(metrics(resumed.stdout), metrics(full.stdout))
        let obj = try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(obj["images"] as? Int, 50)
        let notices = resumed.stderr.split(separator: "\n").filter { $0.hasPrefix("replk-seg: \(journal) line") }
        XCTAssertEqual(notices.count, 8, resumed.stderr)
        for (n, why) in [(4, "\"intersect\" has 5 values, expected 6"), (6, "\"pred\"[0] is not an integer"),
                         (8, "\"label\" is not an array"), (10, "\"pred\"[0] is not an integer"),
                         (12, "\"intersect\"[0] exceeds the class's predicted or labelled pixels"),
                         (52, "appears again (first on line 18)")] {
            XCTAssertTrue(notices.contains { $0.contains("line \(n): ") && $0.contains(why) && $0.hasSuffix("computing it again") },
                          "line \(n): \(resumed.stderr)")
        }
        XCTAssertTrue(notices.contains { $0.contains("line 14: \"ADE_val_99999999.jpg\" is not an image of this run; ignored") }, resumed.stderr)
        XCTAssertTrue(notices.contains { $0.contains("line 16: not a JSON object") }, resumed.stderr)
        // The bad lines are gone and their images journalled anew, once each.
        let after = try Journals.lines(journal)
        XCTAssertEqual(after.count, 51)
        for k in keys { XCTAssertEqual(try after.dropFirst().filter { try Journals.key($0) == k }.count, 1, k) }
    }

    /// The journal's settings name the checkpoint by its sha256 (the one the results record gives).
    func testJournalRecordsTheCheckpointsSHA256() throws {
        let results = Fixtures.temporaryDirectory()
        let r = try Tools.run("replk-seg", evalArgs(demo + "/ADEChallengeData2016", results, ["--limit", "2"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        let header = try Journals.lines(results + "/upernet_replknet_shapes_ade.seg-journal.jsonl")[0]
        let settings = (try JSONSerialization.jsonObject(with: Data(header.utf8)) as! [String: Any])["settings"] as! [String: Any]
        let files = try FileManager.default.contentsOfDirectory(atPath: results).filter { $0.hasPrefix("segmentation-") }
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results + "/" + files[0]))) as! [String: Any]
        let sha = try XCTUnwrap(settings["checkpoint_sha256"] as? String)
        XCTAssertEqual(sha.count, 64)
        XCTAssertEqual((record["checkpoint"] as? [String: Any])?["sha256"] as? String, sha)
    }

    func testBadFilesStopTheRunOrAreSkippedWithKeepGoing() throws {
        let root = Fixtures.temporaryDirectory() + "/ADEChallengeData2016"
        try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/annotations", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: demo + "/ADEChallengeData2016/images/validation", toPath: root + "/images/validation")
        try FileManager.default.copyItem(atPath: demo + "/ADEChallengeData2016/annotations/validation", toPath: root + "/annotations/validation")
        let img = root + "/images/validation/ADE_val_00000003.jpg"
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).write(to: URL(fileURLWithPath: img))
        try FileManager.default.removeItem(atPath: root + "/annotations/validation/ADE_val_00000005.png")
        try FileManager.default.removeItem(atPath: root + "/annotations/validation/ADE_val_00000007.png")
        try FileManager.default.copyItem(atPath: Fixtures.path("imaging/label_gray.png"), toPath: root + "/annotations/validation/ADE_val_00000007.png")
        let stop = try Tools.run("replk-seg", evalArgs(root, Fixtures.temporaryDirectory()))
        XCTAssertNotEqual(stop.status, 0)
        XCTAssertTrue(stop.stderr.contains("ADE_val_00000003.jpg: corrupt image"), stop.stderr)
        let results = Fixtures.temporaryDirectory()
        let go = try Tools.run("replk-seg", evalArgs(root, results, ["--keep-going"]))
        XCTAssertEqual(go.status, 0, go.stderr)
        XCTAssertTrue(go.stdout.contains("Skipped 3 image(s)"), go.stdout)
        XCTAssertTrue(go.stdout.contains("ADE_val_00000005.png: cannot read: No such file"), go.stdout)
        XCTAssertTrue(go.stdout.contains("ADE_val_00000007.png: label map is 13×9 but its image is 256×256"), go.stdout)
    }

    /// `infer --out D D/a.png` used to replace the input PNG with its label map. Outputs are
    /// compared with the inputs by file identity, so the same folder, a link to it, or a hard
    /// link are all refused in one line before anything is written; the input is unchanged.
    func testInferNeverWritesOverItsInput() throws {
        let dir = Fixtures.temporaryDirectory()
        let input = dir + "/a.png"
        try FileManager.default.copyItem(atPath: demo + "/ADEChallengeData2016/images/validation/ADE_val_00000001.jpg", toPath: dir + "/src.jpg")
        try Image(contentsOf: dir + "/src.jpg").write(to: input)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let link = Fixtures.temporaryDirectory() + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: dir)
        for out in [dir, dir + "/", link] {
            let r = try Tools.run("replk-seg", ["infer", "--data", "ade20k", "--checkpoint", demo + "/seg/upernet_replknet_shapes_ade.pth",
                                                "--scale", "1024,256", "--out", out, input])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("a.png") && r.stderr.contains("input"), r.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: input)), before, out)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/a_overlay.jpg"))
        }
    }

    /// Inputs with the same file name from different folders used to overwrite each other's
    /// outputs. Their paths relative to the inputs' common folder are kept under --out (as mmseg
    /// keeps a dataset's sub-folders under --show-dir); two inputs that would still share an
    /// output (x.jpg and x.png of one folder) are refused, naming both.
    func testInferKeepsSameNamedInputsApart() throws {
        let dir = Fixtures.temporaryDirectory()
        let val = demo + "/ADEChallengeData2016/images/validation/"
        for (sub, src) in [("a", "ADE_val_00000001.jpg"), ("b", "ADE_val_00000002.jpg")] {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: val + src, toPath: dir + "/\(sub)/x.jpg")
        }
        let out = Fixtures.temporaryDirectory()
        let args = ["infer", "--data", "ade20k", "--checkpoint", demo + "/seg/upernet_replknet_shapes_ade.pth", "--scale", "1024,256", "--out"]
        let r = try Tools.run("replk-seg", args + [out, dir + "/a/x.jpg", dir + "/b/x.jpg"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try Image.readLabelMap(out + "/a/x.png"), b = try Image.readLabelMap(out + "/b/x.png")
        XCTAssertNotEqual(a.pixels, b.pixels)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/a/x_overlay.jpg") && FileManager.default.fileExists(atPath: out + "/b/x_overlay.jpg"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/x.png"))
        try Image(contentsOf: dir + "/a/x.jpg").write(to: dir + "/a/x.png")
        let clash = try Tools.run("replk-seg", args + [Fixtures.temporaryDirectory(), dir + "/a/x.jpg", dir + "/a/x.png"])
        XCTAssertEqual(clash.status, 1)
        XCTAssertEqual(clash.stderr.split(separator: "\n").count, 1, clash.stderr)
        XCTAssertTrue(clash.stderr.contains(dir + "/a/x.jpg and " + dir + "/a/x.png would both be written to"), clash.stderr)
    }

    /// --save-pred into the dataset's own annotation folder would replace the ground truth with
    /// predictions: refused before any image is evaluated.
    func testSavePredOverTheGroundTruthIsRefused() throws {
        let root = Fixtures.temporaryDirectory() + "/ADEChallengeData2016"
        try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/annotations", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: demo + "/ADEChallengeData2016/images/validation", toPath: root + "/images/validation")
        try FileManager.default.copyItem(atPath: demo + "/ADEChallengeData2016/annotations/validation", toPath: root + "/annotations/validation")
        let label = root + "/annotations/validation/ADE_val_00000001.png"
        let before = try Data(contentsOf: URL(fileURLWithPath: label))
        let r = try Tools.run("replk-seg", evalArgs(root, Fixtures.temporaryDirectory(), ["--save-pred", root + "/annotations/validation"]))
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("ADE_val_00000001.png: is an input"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: label)), before)
    }

    func testInferWritesLabelMapsAndOverlays() throws {
        let out = Fixtures.temporaryDirectory()
        let images = ["ADE_val_00000001.jpg", "ADE_val_00000002.jpg"].map { demo + "/ade20k-sample/ADEChallengeData2016/images/validation/" + $0 }
        let r = try Tools.run("replk-seg", ["infer", "--data", "ade20k", "--checkpoint", demo + "/seg/upernet_replknet_shapes_ade.pth",
                                            "--scale", "1024,256", "--out", out] + images)
        XCTAssertEqual(r.status, 0, r.stderr)
        for (img, name) in zip(images, ["ADE_val_00000001", "ADE_val_00000002"]) {
            let src = try Image(contentsOf: img)
            let label = try Image.readLabelMap(out + "/\(name).png")
            XCTAssertEqual([label.width, label.height], [src.width, src.height])
            XCTAssertTrue(label.pixels.allSatisfy { $0 < 6 })
            let overlay = try Image(contentsOf: out + "/\(name)_overlay.jpg")
            XCTAssertGreaterThan(overlay.width, src.width)   // the legend sits beside the image
        }
    }

    /// The same checkpoint at two --scale values, one after the other into one results folder: two
    /// records (even within one second), two rows replk-board tells apart by their scale, both partial.
    func testTwoScalesGiveTwoDistinguishableBoardRows() throws {
        let results = Fixtures.temporaryDirectory()
        let root = demo + "/ADEChallengeData2016"
        for (scale, extra) in [("1024,256", [String]()), ("512,128", ["--restart"])] {
            let r = try Tools.run("replk-seg", ["eval", "--data", "ade20k", "--root", root, "--checkpoint", demo + "/seg/upernet_replknet_shapes_ade.pth",
                                                "--scale", scale, "--limit", "2", "--quiet", "--results", results] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let records = try FileManager.default.contentsOfDirectory(atPath: results).filter { $0.hasSuffix(".json") }
        XCTAssertEqual(records.count, 2, "\(records)")
        let board = try Tools.run("replk-board", ["--results", results])
        XCTAssertEqual(board.status, 0, board.stderr)
        let rows = board.stdout.split(separator: "\n").filter { $0.contains("upernet_replknet_shapes_ade.pth") }
        XCTAssertEqual(rows.count, 2, board.stdout)
        XCTAssertTrue(rows.contains { $0.contains("1024×256") } && rows.contains { $0.contains("512×128") }, board.stdout)
        XCTAssertTrue(rows.allSatisfy { $0.contains("partial: 2 of") }, board.stdout)
    }
}
