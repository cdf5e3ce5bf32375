import Foundation
import XCTest
import TestSupport

/// Replays Tests/Fixtures/fuzz-regressions/fuzz-journal through replk-cls's real resume. Those inputs
/// are fuzz-journal's (Tests/Fuzz/Sources/fuzz-journal): byte 0 odd, entry lines to follow the
/// journal's settings line; even, a whole journal. Their keys (cls/…, seg/…, det ids) are mapped onto
/// the images of a `replk-cls eval --limit 3` run on the demo, the lines put behind that run's
/// settings line, and the run resumed: it must finish with the uninterrupted run's numbers, every
/// bad line reported and its image computed again, or (a whole journal) be refused in one line
/// naming the journal.
final class JournalFuzzRegressionTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")

    func evalArgs(_ results: String, _ extra: [String] = []) -> [String] {
        ["eval", "--root", demo + "/imagenet/val", "--checkpoint", demo + "/cls/replknet_shapes_cls.pth",
         "--input-size", "128", "--limit", "3", "--results", results, "--json"] + extra
    }

    func testJournalRegressionLinesAreRecomputedOrRefusedInOneLine() throws {
        let results = Fixtures.temporaryDirectory()
        let full = try Tools.run("replk-cls", evalArgs(results))
        XCTAssertEqual(full.status, 0, full.stderr)
        func metrics(_ s: String) -> String? {
            (try? JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any]).map { o in
                "\(o["top1"] ?? "-") \(o["top5"] ?? "-") \(o["images"] ?? "-")"
            }
        }
        let want = try XCTUnwrap(metrics(full.stdout))
        let journal = results + "/replknet_shapes_cls.cls-journal.jsonl"
        let original = try Journals.lines(journal)
        XCTAssertEqual(original.count, 4)
        let keys = try original.dropFirst().map(Journals.key)
        let fuzzKeys = ["cls/a.jpg": 0, "cls/b.jpg": 1, "seg/a.png": 2, "seg/b.png": 0, "1": 1, "2": 2]

        for input in try FuzzRegressions.inputs("fuzz-journal") {
            guard let mode = input.bytes.first else { continue }
            var text = String(decoding: input.bytes.dropFirst(), as: UTF8.self)
            if mode & 1 == 1 {
                // Entry lines: map the keys, keep the lines that do not parse as they are.
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                    guard var obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                          let k = obj["key"] as? String, let n = fuzzKeys[k] else { return String(line) }
                    obj["key"] = keys[n]
                    return String(decoding: try! JSONSerialization.data(withJSONObject: obj), as: UTF8.self)
                }
                text = original[0] + "\n" + lines.joined(separator: "\n")
            }
            try text.write(toFile: journal, atomically: true, encoding: .utf8)
            let r = try Tools.run("replk-cls", evalArgs(results, ["--resume"]))
            XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("Stack dump"), "\(input.name): \(r.stderr)")
            if r.status == 0 {
                XCTAssertEqual(metrics(r.stdout), want, "\(input.name): \(r.stdout)")
                // Each input holds bad lines: at least one is reported (so the lines were read).
                XCTAssertTrue(r.stderr.contains("replk-cls: \(journal) line"), "\(input.name): \(r.stderr)")
                // Every image is in the journal once, whatever the input held.
                let after = try Journals.lines(journal)
                XCTAssertEqual(try after.dropFirst().map(Journals.key).sorted(), keys.sorted(), input.name)
            } else {
                XCTAssertEqual(mode & 1, 0, "\(input.name): entry lines behind the run's own settings were refused: \(r.stderr)")
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(input.name): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains(journal), "\(input.name): \(r.stderr)")
            }
            try? FileManager.default.removeItem(atPath: journal)
        }
    }
}
