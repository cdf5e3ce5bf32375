import Foundation
import XCTest
import TestSupport

/// `eval --shard I/N` and `merge`: the demo evaluations split into N shards and merged print the
/// unsharded run's tables and write a record with the same metrics, for every task and for N = 1,
/// 2, 3 and more shards than images; bad shard values and partials that do not belong together
/// are one-line errors.
final class ShardTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")

    struct TaskCase {
        let tool: String
        let kind: String
        let eval: [String]
    }

    var cls: TaskCase {
        TaskCase(tool: "replk-cls", kind: "cls",
                 eval: ["eval", "--data", "imagenet", "--root", demo + "/imagenet/val", "--checkpoint", demo + "/cls/replknet_shapes_cls.pth",
                        "--limit", "9", "--batch-size", "4"])
    }
    var seg: TaskCase {
        TaskCase(tool: "replk-seg", kind: "seg",
                 eval: ["eval", "--data", "ade20k", "--root", demo + "/ADEChallengeData2016", "--checkpoint",
                        demo + "/seg/upernet_replknet_shapes_ade.pth", "--scale", "1024,256", "--limit", "7"])
    }
    var det: TaskCase {
        TaskCase(tool: "replk-det", kind: "det",
                 eval: ["eval", "--data", "coco", "--root", demo + "/coco", "--checkpoint",
                        demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth", "--scale", "256,256", "--limit", "5"])
    }

    func jsonText(_ v: Any, pretty: Bool) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
    }

    /// The printed output without the lines naming files (which differ between runs).
    func tables(_ stdout: String) -> String {
        stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("results record:") && !$0.hasPrefix("results:") }.joined(separator: "\n")
    }

    func record(in dir: String) throws -> [String: Any] {
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") && !$0.contains("partial") }
        XCTAssertEqual(files.count, 1, "\(files)")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + files[0]))) as! [String: Any]
    }

    func runShards(_ t: TaskCase, _ n: Int, results: String, extra: [String] = []) throws {
        for i in 0..<n {
            let r = try Tools.run(t.tool, t.eval + ["--results", results, "--shard", "\(i)/\(n)"] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("shard \(i)/\(n):"), r.stdout)
        }
    }

    func assertMergeEqualsUnsharded(_ t: TaskCase, shards: [Int]) throws {
        let single = Fixtures.temporaryDirectory()
        let u = try Tools.run(t.tool, t.eval + ["--results", single])
        XCTAssertEqual(u.status, 0, u.stderr)
        let want = try record(in: single)
        for n in shards {
            let dir = Fixtures.temporaryDirectory()
            try runShards(t, n, results: dir)
            let m = try Tools.run(t.tool, ["merge", "--results", dir])
            XCTAssertEqual(m.status, 0, m.stderr)
            XCTAssertEqual(tables(m.stdout), tables(u.stdout), "\(t.tool), \(n) shards")
            let merged = try record(in: dir)
            XCTAssertEqual(jsonText(merged["metrics"]!, pretty: false), jsonText(want["metrics"]!, pretty: false), "\(t.tool), \(n) shards")
            XCTAssertEqual(merged["images"] as? Int, want["images"] as? Int)
            XCTAssertEqual(merged["shards"] as? Int, n)
            XCTAssertNotNil(merged["shard_seconds"] as? Double)
            // The merge identifies the same data as the unsharded run: the split's size, the sample list, partial or not.
            XCTAssertNotNil(merged["samples_digest"] as? String)
            XCTAssertNotNil(merged["split_images"] as? Int)
            for k in ["task", "dataset", "split", "model", "flops", "params", "test_mode", "checkpoint", "precision", "depthwise",
                      "split_images", "samples_digest", "partial"] {
                XCTAssertEqual(jsonText(merged[k] as Any, pretty: false), jsonText(want[k] as Any, pretty: false), "\(t.tool): \(k)")
            }
            if t.kind == "det" {
                for f in ["bbox", "segm"] {
                    let a = try String(contentsOfFile: "\(single)/detections/cascade_mask_rcnn_replknet_shapes_coco.\(f).json", encoding: .utf8)
                    let b = try String(contentsOfFile: "\(dir)/detections/cascade_mask_rcnn_replknet_shapes_coco.\(f).json", encoding: .utf8)
                    XCTAssertEqual(a, b, "\(f) results file, \(n) shards")
                }
            }
        }
    }

    func testShardedClassificationMergesToTheUnshardedRecord() throws {
        try assertMergeEqualsUnsharded(cls, shards: [1, 2, 3, 11])
    }

    func testShardedSegmentationMergesToTheUnshardedTablesToTheDigit() throws {
        try assertMergeEqualsUnsharded(seg, shards: [1, 2, 3, 9])
    }

    func testShardedDetectionMergesToTheUnshardedResultsFiles() throws {
        try assertMergeEqualsUnsharded(det, shards: [1, 2, 3, 7])
    }

    func assertOneLine(_ r: Tools.Result, status: Int32? = nil, _ needles: [String], line: UInt = #line) {
        if let status { XCTAssertEqual(r.status, status, r.stderr, line: line) } else { XCTAssertNotEqual(r.status, 0, line: line) }
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr, line: line)
        for n in needles { XCTAssertTrue(r.stderr.contains(n), "\(n) not in: \(r.stderr)", line: line) }
        XCTAssertFalse(r.stderr.contains("Fatal error"), line: line)
    }

    func testBadShardValuesAreUsageErrors() throws {
        let dir = Fixtures.temporaryDirectory()
        for (v, needle) in [("3/3", "I must be from 0 to 2"), ("0/0", "N must be at least 1"), ("-1/2", "I must be from 0 to 1"),
                            ("a/b", "'a/b'"), ("1", "'1'")] {
            assertOneLine(try Tools.run("replk-seg", seg.eval + ["--results", dir, "--shard", v]), status: 64, [needle, "--shard"])
        }
        assertOneLine(try Tools.run("replk-seg", seg.eval + ["--results", dir, "--shard", "auto"]), status: 64,
                      ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"])
        assertOneLine(try Tools.run("replk-seg", seg.eval + ["--results", dir, "--shard", "auto"], environment: ["JOB_COMPLETION_INDEX": "1"]),
                      status: 64, ["REPLK_SHARDS"])
        assertOneLine(try Tools.run("replk-seg", seg.eval + ["--results", dir, "--shard", "auto"],
                                    environment: ["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "3"]),
                      status: 64, ["array task 7"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/upernet_replknet_shapes_ade.seg-partial-0-of-3.jsonl"))
    }

    /// `--shard auto` takes I and N from a Slurm job array (counted from its first index) or a
    /// Kubernetes Indexed Job.
    func testShardAutoReadsSlurmAndKubernetesVariables() throws {
        let dir = Fixtures.temporaryDirectory()
        let slurm = try Tools.run("replk-cls", cls.eval + ["--results", dir, "--shard", "auto"],
                                  environment: ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "6"])
        XCTAssertEqual(slurm.status, 0, slurm.stderr)
        XCTAssertTrue(slurm.stdout.contains("shard 1/3: 3 image(s)"), slurm.stdout)
        let k8s = try Tools.run("replk-cls", cls.eval + ["--results", dir, "--shard", "auto"],
                                environment: ["JOB_COMPLETION_INDEX": "2", "REPLK_SHARDS": "3"])
        XCTAssertEqual(k8s.status, 0, k8s.stderr)
        XCTAssertTrue(k8s.stdout.contains("shard 2/3: 3 image(s)"), k8s.stdout)
        // Shard 0 is missing: merge names it.
        assertOneLine(try Tools.run("replk-cls", ["merge", "--results", dir]), ["missing shard 0 of 3"])
    }

    func testMergeRefusesPartialsThatDoNotBelongTogether() throws {
        let dir = Fixtures.temporaryDirectory()
        try runShards(seg, 3, results: dir)
        let stem = dir + "/upernet_replknet_shapes_ade.seg-partial"
        let fm = FileManager.default
        let keep = try String(contentsOfFile: "\(stem)-1-of-3.jsonl", encoding: .utf8)

        // Missing.
        try fm.removeItem(atPath: "\(stem)-1-of-3.jsonl")
        assertOneLine(try Tools.run("replk-seg", ["merge", "--results", dir]), ["missing shard 1 of 3"])
        // Truncated (a partial cut short, e.g. copied while being written elsewhere).
        let lines = keep.split(separator: "\n")
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: "\(stem)-1-of-3.jsonl", atomically: true, encoding: .utf8)
        assertOneLine(try Tools.run("replk-seg", ["merge", "--results", dir]), ["\(stem)-1-of-3.jsonl", "truncated"])
        try (lines.prefix(3).joined(separator: "\n")).write(toFile: "\(stem)-1-of-3.jsonl", atomically: true, encoding: .utf8)
        assertOneLine(try Tools.run("replk-seg", ["merge", "--results", dir]), ["\(stem)-1-of-3.jsonl", "truncated"])
        try "".write(toFile: "\(stem)-1-of-3.jsonl", atomically: true, encoding: .utf8)
        assertOneLine(try Tools.run("replk-seg", ["merge", "--results", dir]), ["\(stem)-1-of-3.jsonl", "not a seg partial"])
        try keep.write(toFile: "\(stem)-1-of-3.jsonl", atomically: true, encoding: .utf8)
        // Duplicate: a second copy of shard 1.
        try keep.write(toFile: "\(stem)-1-of-3.copy.jsonl", atomically: true, encoding: .utf8)
        assertOneLine(try Tools.run("replk-seg", ["merge", "--results", dir]), ["both hold shard 1/3"])
        try fm.removeItem(atPath: "\(stem)-1-of-3.copy.jsonl")
        // Another setting: shard 1 run again at another scale.
        let r = try Tools.run(seg.tool, seg.eval.map { $0 == "1024,256" ? "512,128" : $0 } + ["--results", dir, "--shard", "1/3", "--restart"])
        XCTAssertEqual(r.status, 0, r.stderr)
        assertOneLine(try Tools.run("replk-seg", ["merge", "--results", dir]), ["shard 1/3", "other settings", "scale"])
        try keep.write(toFile: "\(stem)-1-of-3.jsonl", atomically: true, encoding: .utf8)
        XCTAssertEqual(try Tools.run("replk-seg", ["merge", "--results", dir]).status, 0)
        // Another sample list: shard 2 of a run over 6 images next to shards of a run over 7.
        let mixed = Fixtures.temporaryDirectory()
        for i in 0..<2 { try fm.copyItem(atPath: "\(stem)-\(i)-of-3.jsonl", toPath: "\(mixed)/upernet_replknet_shapes_ade.seg-partial-\(i)-of-3.jsonl") }
        let six = try Tools.run(seg.tool, seg.eval.map { $0 == "7" ? "6" : $0 } + ["--results", mixed, "--shard", "2/3"])
        XCTAssertEqual(six.status, 0, six.stderr)
        assertOneLine(try Tools.run("replk-seg", ["merge", "--results", mixed]), ["shard 2/3", "other settings", "images"])
        // Another split of the same run: a partial of 2 shards next to those of 3.
        let other = Fixtures.temporaryDirectory()
        try runShards(seg, 2, results: other)
        try fm.copyItem(atPath: "\(other)/upernet_replknet_shapes_ade.seg-partial-1-of-2.jsonl", toPath: "\(stem)-1-of-2.jsonl")
        assertOneLine(try Tools.run("replk-seg", ["merge", "--results", dir]), ["differently split"])
        // No partials at all.
        assertOneLine(try Tools.run("replk-det", ["merge", "--results", Fixtures.temporaryDirectory()]), ["no det partials"])
    }

    /// A shard killed part-way and run again with --resume (as a requeued array task is) ends
    /// with the same partial; running a finished shard again changes nothing either.
    func testAKilledShardResumesToTheSamePartial() throws {
        let dir = Fixtures.temporaryDirectory()
        try runShards(det, 2, results: dir)
        let stem = dir + "/cascade_mask_rcnn_replknet_shapes_coco"
        func sampleLines(_ path: String) throws -> [Substring] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst().map { $0 }
        }
        let want = try sampleLines("\(stem).det-partial-0-of-2.jsonl")
        XCTAssertEqual(want.count, 4)   // 3 images of 5, and the end line
        let journal = "\(stem).det-journal.shard-0-of-2.jsonl"
        let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n")
        try (lines.prefix(2).joined(separator: "\n") + "\n").write(toFile: journal, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: "\(stem).det-partial-0-of-2.jsonl")
        let r = try Tools.run(det.tool, det.eval + ["--results", dir, "--shard", "0/2", "--resume"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try sampleLines("\(stem).det-partial-0-of-2.jsonl"), want)
        let again = try Tools.run(det.tool, det.eval + ["--results", dir, "--shard", "0/2", "--resume"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try sampleLines("\(stem).det-partial-0-of-2.jsonl"), want)
        XCTAssertEqual(try Tools.run(det.tool, ["merge", "--results", dir]).status, 0)
    }
}

/// A partial is input like any other: hostile headers are one-line errors, never a trap.
final class HostilePartialTests: XCTestCase {
    func testHostilePartialHeadersAreOneLineErrors() throws {
        func partial(_ header: String, lines: [String] = []) -> String {
            ([header] + lines + ["{\"end\":\(lines.count)}"]).joined(separator: "\n") + "\n"
        }
        let settings = "\"settings\":{},\"tool\":\"replk-cls\",\"kind\":\"cls\",\"format\":\"replk-partial/1\",\"samples_digest\":\"x\",\"report\":{\"classes\":3}"
        let cases: [(String, String)] = [
            ("{\"partial\":{\(settings),\"shard\":[0,1],\"samples\":9223372036854775807,\"shard_samples\":0}}", "sample count"),
            ("{\"partial\":{\(settings),\"shard\":[0,1],\"samples\":-1,\"shard_samples\":0}}", "sample count"),
            ("{\"partial\":{\(settings),\"shard\":[5,2],\"samples\":1,\"shard_samples\":1}}", "is not a shard"),
            ("{\"partial\":{\(settings),\"shard\":[0,0],\"samples\":1,\"shard_samples\":1}}", "is not a shard"),
            ("{\"partial\":{\(settings),\"shard\":[0,9223372036854775807],\"samples\":1,\"shard_samples\":1}}", "shard"),
            ("{\"partial\":{\(settings),\"shard\":[0,1],\"samples\":1000000,\"shard_samples\":1000000}}", "holds 0 samples"),
            ("{\"partial\":[]}", "not a cls partial"),
        ]
        for (header, needle) in cases {
            let dir = Fixtures.temporaryDirectory()
            try partial(header).write(toFile: dir + "/m.cls-partial-0-of-1.jsonl", atomically: true, encoding: .utf8)
            let r = try Tools.run("replk-cls", ["merge", "--results", dir])
            XCTAssertEqual(r.status, 1, "\(header): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(needle), "\(needle) not in \(r.stderr)")
        }
        // A sample line that does not decode names its file and line.
        let dir = Fixtures.temporaryDirectory()
        try partial("{\"partial\":{\(settings),\"shard\":[0,1],\"samples\":1,\"shard_samples\":1}}",
                    lines: ["{\"key\":\"a\",\"label\":7,\"top\":[0,1,2]}"]).write(toFile: dir + "/m.cls-partial-0-of-1.jsonl", atomically: true, encoding: .utf8)
        let r = try Tools.run("replk-cls", ["merge", "--results", dir])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("m.cls-partial-0-of-1.jsonl line 2") && r.stderr.contains("\"label\""), r.stderr)
    }
}
