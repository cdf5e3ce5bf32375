import Foundation
import XCTest
import RepLKLeaderboard
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
                                metrics: ["aAcc": 83.1, "mIoU": 49.87, "mAcc": 61.2, "IoU": [70.5, NSNull()], "classes": ["wall", "building"]],
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
        let md = Leaderboard.markdown(Leaderboard.load(directory: dir).rows)
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
        let csv = Leaderboard.csv(rows).split(separator: "\n")
        XCTAssertEqual(csv.filter { !$0.hasPrefix("table,") }.count, 12)   // 2 measured + 6 ImageNet + 4 ADE20K paper rows
        XCTAssertTrue(csv.contains { $0.contains("49.87") && $0.contains("-0.03") })
        let html = Leaderboard.html(rows)
        XCTAssertEqual(html.components(separatedBy: "<tr class=\"measured\">").count - 1, 2)
        XCTAssertEqual(html.components(separatedBy: "<tr class=\"paper\">").count - 1, 10)
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
        // Sort the ADE20K table by mIoU (ss), its fifth column, ascending (two clicks) before the DOM is dumped.
        html = html.replacingOccurrences(of: "</body>", with: "<script>sortTable('t1', 4); sortTable('t1', 4);</script></body>")
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
}
