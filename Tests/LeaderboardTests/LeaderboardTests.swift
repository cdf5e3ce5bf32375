import Foundation
import XCTest
import RepLKLeaderboard
import RepLKRecords
import TestSupport
import RepLKToolSupport

final class LeaderboardTests: XCTestCase {
    /// Records written by the tools' writer, for one run per task (the released 31B ADE20K
    /// checkpoint's name, so its row gets a Δ against the paper).
    func writeRecords(_ dir: String) throws {
        let ckpt = dir + "/RepLKNet-31B_ImageNet-1K_UperNet_ADE20K.pth"
        try "not really a checkpoint".write(toFile: ckpt, atomically: true, encoding: .utf8)
        var seg = ResultsRecord(task: "segmentation", dataset: "ade20k", split: "validation", model: "UperNet RepLKNet-31B",
                                checkpointPath: ckpt, imageCount: 2000, testMode: ["mode": "whole", "aug_test": false],
                                metrics: ["aAcc": 83.1, "mIoU": 49.87, "mAcc": 61.2, "IoU": [70.5, nil], "classes": ["wall", "building"]],
                                parameters: 111_820_000, flops: 1_174.3e9, threads: 2)
        seg.flopsInput = [2048, 512]
        try seg.write(to: dir)
        let cls = ResultsRecord(task: "classification", dataset: "imagenet", split: "val", model: "RepLKNet-31B", checkpointPath: ckpt,
                                imageCount: 50000, testMode: ["input_size": 224], metrics: ["top1": 83.48, "top5": 96.5],
                                parameters: 79_527_272, flops: 15.4e9, threads: 2)
        try cls.write(to: dir)
    }

    func testRecordsRoundTripIntoRows() throws {
        let dir = Fixtures.temporaryDirectory()
        try writeRecords(dir)
        let (rows, skipped) = Leaderboard.load(directory: dir)
        XCTAssertEqual(skipped, [])
        let seg = rows.first { $0.task == "segmentation" }!
        XCTAssertEqual(seg.metrics["mIoU"], 49.87)
        XCTAssertEqual(seg.backbone, "RepLKNet-31B")
        XCTAssertEqual(seg.pretraining, "ImageNet-1K")
        XCTAssertEqual(seg.params, 111_820_000)
        XCTAssertEqual(seg.perClass.count, 2)
        XCTAssertNil(seg.perClass[1].1)
        // The record carries the checkpoint's hash, the engine version and the command line.
        let file = try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasPrefix("segmentation-ade20k-") }!
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + file))) as! [String: Any]
        XCTAssertEqual((obj["checkpoint"] as? [String: Any])?["sha256"] as? String, sha256Hex(Array("not really a checkpoint".utf8)))
        XCTAssertNotNil(obj["engine_version"])
        XCTAssertNotNil(obj["command"])
    }

    func testMarkdownSnapshot() throws {
        let dir = Fixtures.temporaryDirectory()
        try writeRecords(dir)
        // The records carry today's date: the snapshot holds YYYY-MM-DD in its place.
        let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        let md = Leaderboard.markdown(Leaderboard.load(directory: dir).rows).replacingOccurrences(of: today, with: "YYYY-MM-DD")
        if ProcessInfo.processInfo.environment["REPLK_UPDATE_SNAPSHOTS"] == "1" {
            try md.write(toFile: Fixtures.path("records/board.md"), atomically: true, encoding: .utf8)
        }
        let want = try String(contentsOfFile: Fixtures.path("records/board.md"), encoding: .utf8)
        XCTAssertEqual(md, want)
    }

    func testCSVAndHTMLCarryTheSameRows() throws {
        let dir = Fixtures.temporaryDirectory()
        try writeRecords(dir)
        let rows = Leaderboard.load(directory: dir).rows
        let csv = Leaderboard.csv(rows).split(separator: "\r\n")
        // 2 measured + every paper row (6 ImageNet, 4 ADE20K, 1 Cityscapes, 5 COCO), one header.
        XCTAssertEqual(csv.count, 1 + 2 + Leaderboard.paperRows.count)
        XCTAssertTrue(csv.contains { $0.contains("49.87") && $0.contains("RepLKNet-31B_ImageNet-1K_UperNet_ADE20K.pth") })
        let html = Leaderboard.html(rows)
        XCTAssertEqual(html.components(separatedBy: "<tr class=\"measured\">").count - 1, 2)
        XCTAssertEqual(html.components(separatedBy: "<tr class=\"paper\">").count - 1, Leaderboard.paperRows.count)
        XCTAssertFalse(html.contains("http"), "no external assets")
    }

    func testMalformedAndForeignRecordsAreSkipped() throws {
        let dir = Fixtures.temporaryDirectory()
        try writeRecords(dir)
        try "{ broken".write(toFile: dir + "/a.json", atomically: true, encoding: .utf8)
        try "[1, 2]".write(toFile: dir + "/b.json", atomically: true, encoding: .utf8)
        try "{\"format\": \"other\"}".write(toFile: dir + "/c.json", atomically: true, encoding: .utf8)
        let (rows, skipped) = Leaderboard.load(directory: dir)
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(skipped.count, 3)
        XCTAssertTrue(skipped[0].contains("a.json: not valid JSON"))
    }

    /// Renders the HTML page in headless Chromium (Debian's `chromium`) and checks the rows the
    /// browser built, after clicking a header to sort.
    func testHTMLRendersInHeadlessChromium() throws {
        let browser = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let browser else { throw XCTSkip("no Chromium installed (apt-get install chromium); .ci/run installs it") }
        let dir = Fixtures.temporaryDirectory()
        try writeRecords(dir)
        var html = Leaderboard.html(Leaderboard.load(directory: dir).rows)
        // Sort the ADE20K table by mIoU (ss), its eighth column, ascending (two clicks) before the DOM is dumped.
        html = html.replacingOccurrences(of: "</body>", with: "<script>sortTable('t1', 7); sortTable('t1', 7);</script></body>")
        let page = dir + "/board.html"
        try html.write(toFile: page, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + page]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertTrue(dom.contains("<td>49.87</td>"), "measured row rendered")
        XCTAssertTrue(dom.contains("<td>55.20</td>"), "paper row rendered")
        let ade = dom.components(separatedBy: "id=\"t1\"")[1]
        XCTAssertLessThan(ade.range(of: "49.87")!.lowerBound, ade.range(of: "55.20")!.lowerBound, "ascending sort applied by the browser")
    }

    // MARK: the leaderboard must not mislead (issue 28)

    /// A record as the tools write it, for one evaluation.
    func record(_ dir: String, task: String = "classification", dataset: String = "imagenet", split: String = "val",
                checkpoint: String = "RepLKNet-31B_ImageNet-1K_224.pth", images: Int, splitImages: Int?, partial: Bool?,
                testMode: [String: JSONValue] = ["input_size": 224], metrics: [String: JSONValue] = ["top1": 100.0, "top5": 100.0],
                model: String = "RepLKNet-31B") throws {
        let ckpt = dir + "/" + checkpoint
        try "weights".write(toFile: ckpt, atomically: true, encoding: .utf8)
        var r = ResultsRecord(task: task, dataset: dataset, split: split, model: model, checkpointPath: ckpt, imageCount: images,
                              testMode: testMode, metrics: metrics, parameters: 79_000_000, flops: 15.3e9, threads: 2)
        r.splitImages = splitImages
        r.partial = partial
        r.samplesDigest = sampleListDigest((0..<images).map(String.init))
        let path = try r.write(to: dir)
        // Distinct names for records written within the same second.
        try FileManager.default.moveItem(atPath: path, toPath: dir + "/\(UUID().uuidString).json")
        try FileManager.default.removeItem(atPath: ckpt)
    }

    func testLimitedRunIsMarkedPartialAndNotRankedAboveThePaper() throws {
        let dir = Fixtures.temporaryDirectory()
        // replk-cls eval --limit 5 on the real ImageNet val: 100.00 over 5 images.
        try record(dir, images: 5, splitImages: 50000, partial: true)
        let rows = Leaderboard.load(directory: dir).rows
        XCTAssertEqual(rows.first?.partial, true)
        let g = Leaderboard.groups(rows).first { $0.official && $0.rows.first?.task == "classification" }!
        XCTAssertEqual(g.rows.first?.source, "paper", "the paper's XL row leads, not a 5-image run")
        XCTAssertEqual(g.rows.first?.metrics["top1"], 87.8)
        let i = g.rows.firstIndex { !$0.isReference }!
        XCTAssertNil(g.ranks[i], "a partial run has no rank")
        XCTAssertEqual(i, g.rows.count - 1, "partial runs come after the full ones")
        let md = Leaderboard.markdown(rows)
        XCTAssertTrue(md.contains("partial: 5 of 50000"), md)
        XCTAssertTrue(md.split(separator: "\n").first { $0.contains("| 1 ") }?.contains("RepLKNet-XL") == true, md)
    }

    func testDemoSizedSetsAreGroupedApartFromTheOfficialSplits() throws {
        let dir = Fixtures.temporaryDirectory()
        try record(dir, checkpoint: "replknet_shapes_cls.pth", images: 50, splitImages: 50, partial: false)
        try record(dir, task: "detection", dataset: "coco", split: "val2017", checkpoint: "cascade_mask_rcnn_replknet_shapes_coco.pth",
                   images: 20, splitImages: 20, partial: false, testMode: ["scale": "1333,800"],
                   metrics: ["bbox": ["mAP": 0.627], "segm": ["mAP": 0.6]], model: "Cascade Mask R-CNN RepLKNet-31B")
        try record(dir, task: "segmentation", dataset: "ade20k", split: "validation", checkpoint: "mine.pth", images: 50, splitImages: 50,
                   partial: false, testMode: ["mode": "whole", "aug_test": false, "scale": [2048, 512]],
                   metrics: ["mIoU": 60.0, "aAcc": 90.0, "mAcc": 70.0], model: "UperNet RepLKNet-31B")
        let groups = Leaderboard.groups(Leaderboard.load(directory: dir).rows)
        for g in groups where g.official {
            XCTAssertTrue(g.rows.allSatisfy(\.isReference), "\(g.title): only the paper's rows, no demo run")
        }
        let titles = groups.filter { !$0.official }.map(\.title)
        XCTAssertEqual(titles, ["Classification — demo shapes (ImageNet val layout, 50-image set, not the official split)",
                                "Segmentation — ADE20K validation, 50-image set (not the official split)",
                                "Detection — demo shapes (COCO val2017 layout, 20-image set, not the official split)"])
        for g in groups where !g.official { XCTAssertFalse(g.rows.contains(where: \.isReference), "no paper rows in \(g.title)") }
        // The 62.7 demo COCO run is not under "Detection — COCO val2017 (official split …)".
        let md = Leaderboard.markdown(Leaderboard.load(directory: dir).rows)
        let official = md.components(separatedBy: "### Detection — COCO val2017 (official split")[1].components(separatedBy: "###")[0]
        XCTAssertFalse(official.contains("62.7"), official)
    }

    func testTwoScalesOfOneCheckpointGiveDistinguishableRows() throws {
        let dir = Fixtures.temporaryDirectory()
        for s: JSONValue in [[2048, 512], [2560, 640]] {
            try record(dir, task: "segmentation", dataset: "ade20k", split: "validation", checkpoint: "RepLKNet-31B_ImageNet-1K_UperNet_ADE20K.pth",
                       images: 2000, splitImages: 2000, partial: false, testMode: ["mode": "whole", "aug_test": false, "scale": s],
                       metrics: ["mIoU": 49.0, "aAcc": 80.0, "mAcc": 60.0], model: "UperNet RepLKNet-31B")
        }
        for s: JSONValue in ["1333,800", "1600,1000"] {
            try record(dir, task: "detection", dataset: "coco", split: "val2017", checkpoint: "RepLKNet-31B_ImageNet-1K_CascMaskRCNN_COCO.pth",
                       images: 5000, splitImages: 5000, partial: false, testMode: ["scale": s],
                       metrics: ["bbox": ["mAP": 0.5], "segm": ["mAP": 0.4]], model: "Cascade Mask R-CNN RepLKNet-31B")
        }
        for g in Leaderboard.groups(Leaderboard.load(directory: dir).rows) {
            let t = Leaderboard.table(g)
            let measured = zip(g.rows, t.cells).filter { !$0.0.isReference }.map { $0.1.dropFirst().joined(separator: "|") }
            XCTAssertEqual(Set(measured).count, measured.count, "\(g.title): rows that look the same: \(measured)")
        }
        let md = Leaderboard.markdown(Leaderboard.load(directory: dir).rows)
        for s in ["2048×512", "2560×640", "1333×800", "1600×1000"] { XCTAssertTrue(md.contains(s), s) }
    }

    func testCityscapesPaperRowsShownWithAnADE20KResult() throws {
        let dir = Fixtures.temporaryDirectory()
        try writeRecords(dir)
        let md = Leaderboard.markdown(Leaderboard.load(directory: dir).rows)
        XCTAssertTrue(md.contains("### Segmentation — Cityscapes val (official split, 500 images)"), md)
        XCTAssertTrue(md.contains("83.10"), "the paper's Cityscapes 31B row")
        XCTAssertTrue(md.contains("### Detection — COCO val2017 (official split, 5000 images)"), md)
    }

    /// A minimal RFC 4180 reader: fields of each record (quoted fields may hold commas and quotes).
    func parseCSV(_ text: String) -> [[String]] {
        var rows = [[String]](), row = [String](), field = "", quoted = false
        var it = Array(text).makeIterator()
        var pending: Character? = nil
        while let c = pending ?? it.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let n = it.next() { if n == "\"" { field.append("\"") } else { quoted = false; pending = n } } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(field); field = "" }
            else if c == "\r\n" || c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
            else { field.append(c) }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    func testCSVIsOneTidyTableWithPlainNumbers() throws {
        let dir = Fixtures.temporaryDirectory()
        try writeRecords(dir)
        try record(dir, checkpoint: "replknet_shapes_cls.pth", images: 5, splitImages: 50, partial: true)
        let rows = parseCSV(Leaderboard.csv(Leaderboard.load(directory: dir).rows))
        let header = rows[0]
        XCTAssertEqual(header, Leaderboard.exportFields)
        XCTAssertEqual(rows.filter { $0 == header }.count, 1, "one header line")
        XCTAssertEqual(rows.count, 1 + 3 + Leaderboard.paperRows.count)
        for r in rows { XCTAssertEqual(r.count, header.count, "\(r)") }
        let body = rows.dropFirst()
        for name in ["params", "flops", "top1", "top5", "mIoU", "mIoU_ms", "mAcc", "aAcc", "box_AP", "mask_AP", "resolution", "images", "split_images"] {
            let i = header.firstIndex(of: name)!
            for r in body where !r[i].isEmpty { XCTAssertNotNil(Double(r[i]), "\(name): \(r[i])") }
        }
        let i = header.firstIndex(of: "params")!, f = header.firstIndex(of: "flops")!
        XCTAssertTrue(body.allSatisfy { Double($0[i]) != nil && Double($0[f]) != nil })
        XCTAssertTrue(body.contains { $0[i] == "79000000" && $0[f] == "15300000000" }, "plain counts, no 79.0M / 15.3G")
        XCTAssertFalse(body.contains { $0.contains("—") || $0.contains("²") }, "no dashes or units")
        let p = header.firstIndex(of: "partial")!, n = header.firstIndex(of: "images")!
        XCTAssertTrue(body.contains { $0[p] == "true" && $0[n] == "5" })
    }

    func testJSONIsAListOfRowObjects() throws {
        let dir = Fixtures.temporaryDirectory()
        try writeRecords(dir)
        let parsed = try JSONSerialization.jsonObject(with: Data(Leaderboard.json(Leaderboard.load(directory: dir).rows).utf8))
        let rows = try XCTUnwrap(parsed as? [[String: Any]])
        XCTAssertEqual(rows.count, 2 + Leaderboard.paperRows.count)
        for r in rows { XCTAssertEqual(Set(r.keys), Set(Leaderboard.exportFields)) }
        let seg = rows.first { ($0["source"] as? String) == "RepLKNet-31B_ImageNet-1K_UperNet_ADE20K.pth" && ($0["task"] as? String) == "segmentation" }!
        XCTAssertEqual(seg["mIoU"] as? Double, 49.87)
        XCTAssertEqual(seg["params"] as? Int, 111_820_000)
        XCTAssertTrue(seg["top1"] is NSNull)
        XCTAssertEqual(seg["partial"] as? Bool, false)
    }

    /// Records from before split_images / samples_digest / partial load as full runs, grouped by their image count.
    func testOldRecordsWithoutSplitFieldsStillLoad() throws {
        let dir = Fixtures.temporaryDirectory()
        let old: [String: Any] = ["format": "replk-results/1", "task": "classification", "dataset": "imagenet", "split": "val",
                                  "model": "RepLKNet-31B", "checkpoint": ["file": "x.pth", "sha256": "00"], "images": 50000,
                                  "test_mode": ["input_size": 224], "metrics": ["top1": 83.4, "top5": 96.4]]
        try JSONSerialization.data(withJSONObject: old).write(to: URL(fileURLWithPath: dir + "/old.json"))
        let (rows, skipped) = Leaderboard.load(directory: dir)
        XCTAssertEqual(skipped, [])
        XCTAssertEqual(rows.first?.partial, false)
        XCTAssertTrue(rows.first?.isOfficialSplit == true)
        XCTAssertTrue(Leaderboard.markdown(rows).contains("| 50000 "))
        let rec = try ResultsRecord(object: old)
        XCTAssertNil(rec.splitImages)
        XCTAssertNil(rec.partial)
    }
}
