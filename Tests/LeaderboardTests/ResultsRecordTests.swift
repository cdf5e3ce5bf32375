import Foundation
import XCTest
import RepLKLeaderboard
import RepLKRecords
import RepLKToolSupport
import TestSupport

/// The results record shared by the eval tools (which write it) and replk-board (which reads it):
/// what is written reads back equal, older records still read, and a bad one is a one-line error.
final class ResultsRecordTests: XCTestCase {
    /// A record with every field set, numbers of each kind in its settings and metrics.
    func fullRecord(checkpoint: String) -> ResultsRecord {
        var r = ResultsRecord(task: "segmentation", dataset: "ade20k", split: "validation", model: "UperNet RepLKNet-31B",
                              checkpointPath: checkpoint, imageCount: 7,
                              testMode: ["mode": "whole", "aug_test": true, "scale": [2048, 512], "ratios": [0.5, 1.0, 1.75],
                                         "score_thr": .double(Double("\(Float(0.05))")!)],
                              metrics: ["mIoU": 49.87, "aAcc": 100.0, "IoU": [70.5, nil, 0.0], "classes": ["wall", "building", "sky"],
                                        "bbox": ["mAP": 0.627, "AR@100": -1.0]],
                              parameters: 111_820_000, flops: 1_174.3e9, throughput: 2.5, latencyMs: 400.25, threads: 2)
        r.checkpointSHA256 = String(repeating: "ab", count: 32)
        r.flopsInput = [2048, 512]
        r.depthwise = "auto"; r.precision = "bf16"
        r.shards = 3; r.shardSeconds = 12.5
        r.splitImages = 2000; r.samplesDigest = String(repeating: "0f", count: 32); r.partial = true
        return r
    }

    func testRecordWrittenByTheToolsReadsBackEqual() throws {
        let dir = Fixtures.temporaryDirectory()
        let r = fullRecord(checkpoint: dir + "/RepLKNet-31B_ImageNet-1K_UperNet_ADE20K.pth")
        let path = try r.write(to: dir)
        let back = try ResultsRecord(contentsOfFile: path)
        var want = r
        want.checkpointPath = "RepLKNet-31B_ImageNet-1K_UperNet_ADE20K.pth"   // a record holds the file's name
        want.date = back.date; want.command = CommandLine.arguments.joined(separator: " "); want.engineVersion = engineVersion
        XCTAssertNotNil(back.date)
        XCTAssertEqual(back, want)
        // The digits written: integers as integers, 1.0 as 1.0, the Float threshold at its shortest decimal.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for s in ["\"ratios\": [0.5, 1.0, 1.75]", "\"score_thr\": 0.05\n", "\"aAcc\": 100.0,", "\"params\": 111820000,",
                  "\"flops\": 1174300000000.0,", "\"IoU\": [70.5, null, 0.0]"] {
            XCTAssertTrue(text.contains(s), "\(s) in\n\(text)")
        }
        // Written again, the record read back gives the same text (merge writes such records).
        let again = try back.write(to: dir + "/again")
        func withoutDateAndCommand(_ p: String) throws -> String {
            try String(contentsOfFile: p, encoding: .utf8).split(separator: "\n").filter { !$0.contains("\"date\"") && !$0.contains("\"command\"") }
                .joined(separator: "\n")
        }
        XCTAssertEqual(try withoutDateAndCommand(again), try withoutDateAndCommand(path))
    }

    func testRecordRoundTripsThroughJSONEncoderAndDecoder() throws {
        var r = fullRecord(checkpoint: "x.pth")
        // JSONEncoder writes 1.0 as 1, which JSONDecoder reads as an integer: settings of non-whole numbers here.
        r.testMode["ratios"] = [0.5, 1.25]
        r.metrics["aAcc"] = 99.5
        r.metrics["IoU"] = [70.5, nil]
        r.metrics["bbox"] = ["mAP": 0.627]
        r.date = "2026-12-07T14:00:00Z"; r.command = "replk-seg eval"
        let data = try JSONEncoder().encode(r)
        XCTAssertEqual(try JSONDecoder().decode(ResultsRecord.self, from: data), r)
        // The same keys as the tools' writer.
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any]).keys
        XCTAssertEqual(Set(keys), Set(r.jsonObject.keys))
        XCTAssertEqual(Set(keys), Set(ResultsRecord.CodingKeys.allCases.map(\.rawValue)), "every documented key is written")
    }

    /// A record as the first replk-cls wrote it (no flops_input_wh, depthwise, precision, shards,
    /// split_images, samples_digest, partial), with a key from some later version.
    func testOldRecordWithoutTheNewerFieldsReads() throws {
        let dir = Fixtures.temporaryDirectory()
        let text = """
        {"format": "replk-results/1", "task": "classification", "dataset": "imagenet", "split": "val", "model": "RepLKNet-31B",
         "checkpoint": {"file": "RepLKNet-31B_ImageNet-1K_224.pth", "sha256": "00"}, "images": 50000,
         "test_mode": {"input_size": 224, "crop_pct": 0.875, "interpolation": "bicubic"}, "metrics": {"top1": 83.48, "top5": 96.5},
         "params": 79527272, "flops": 15.4e9, "throughput_img_per_s": 80.5, "threads": 2, "engine_version": "0.1.0",
         "date": "2025-01-01T00:00:00Z", "command": "replk-cls eval", "a_key_from_the_future": {"x": [1]}}
        """
        try text.write(toFile: dir + "/old.json", atomically: true, encoding: .utf8)
        let r = try ResultsRecord(contentsOfFile: dir + "/old.json")
        XCTAssertEqual(r.imageCount, 50000)
        XCTAssertEqual(r.metrics["top1"]?.number, 83.48)
        XCTAssertEqual(r.checkpointPath, "RepLKNet-31B_ImageNet-1K_224.pth")
        XCTAssertEqual(r.flops, 15.4e9)
        for missing in [r.flopsInput as Any?, r.depthwise, r.precision, r.shards, r.shardSeconds, r.splitImages, r.samplesDigest, r.partial] {
            XCTAssertNil(missing)
        }
        let (rows, skipped) = Leaderboard.load(directory: dir)
        XCTAssertEqual(skipped, [])
        XCTAssertEqual(rows.first?.precision, "fp32", "records from before --precision ran at fp32")
        XCTAssertEqual(rows.first?.partial, false)
        XCTAssertEqual(rows.first?.date, "2025-01-01T00:00:00Z")
    }

    func testWrongTypedFieldIsAOneLineErrorNamingTheFile() throws {
        let dir = Fixtures.temporaryDirectory()
        func write(_ name: String, _ change: (inout [String: Any]) -> Void) throws -> String {
            var o = try fullRecord(checkpoint: "x.pth").object()
            change(&o)
            let path = dir + "/" + name
            try JSONSerialization.data(withJSONObject: o).write(to: URL(fileURLWithPath: path))
            return path
        }
        let cases: [(String, (inout [String: Any]) -> Void, String)] = [
            ("params.json", { $0["params"] = "111.8M" }, "\"params\" is a string, not an integer"),
            ("images.json", { $0["images"] = 7.5 }, "\"images\" is a number, not an integer"),
            ("file.json", { $0["checkpoint"] = ["file": 3, "sha256": "00"] }, "\"checkpoint.file\" is an integer, not a string"),
            ("partial.json", { $0["partial"] = "yes" }, "\"partial\" is a string, not a boolean"),
            ("split.json", { $0["split"] = nil }, "no \"split\""),
        ]
        var want = [String]()
        for (name, change, problem) in cases {
            let path = try write(name, change)
            XCTAssertThrowsError(try ResultsRecord(contentsOfFile: path)) { e in
                XCTAssertEqual("\(e)", "\(path): \(problem)")
                XCTAssertFalse("\(e)".contains("\n"))
            }
            want.append("\(path): \(problem)")
        }
        // replk-board skips each with that line, as it skips any file that is not a record.
        let (rows, skipped) = Leaderboard.load(directory: dir)
        XCTAssertEqual(rows.count, 0)
        XCTAssertEqual(Set(skipped), Set(want))
        // A shard partial's record template: the same reader, the same kind of line.
        var o = try fullRecord(checkpoint: "x.pth").object()
        o["threads"] = [2]
        XCTAssertThrowsError(try ResultsRecord(object: o)) { e in
            XCTAssertEqual("\(e)", "results record template: \"threads\" is an array, not an integer")
        }
    }
}
