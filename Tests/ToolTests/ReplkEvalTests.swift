import Foundation
import XCTest
import TestSupport

final class ReplkEvalTests: XCTestCase {
    func json(_ r: Tools.Result) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    }

    func testCOCOJSONStatsEqualPycocotools() throws {
        let exp = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("coco/expected.json")))) as! [String: [String: [String: Any]]]
        for type in ["bbox", "segm"] {
            let r = try Tools.run("replk-eval", ["coco", "--gt", Fixtures.path("coco/gt_2.json"), "--results",
                                                 Fixtures.path("coco/dt_2.json"), "--iou-type", type, "--json"])
            _ = try json(r)
            // Foundation's JSON parser on Linux is not correctly rounded: read the printed digits directly.
            let text = r.stdout[r.stdout.range(of: "\"stats\": [")!.upperBound...]
            let stats = text[..<text.firstIndex(of: "]")!].split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces))! }
            let want = (exp["2"]![type]!["stats"] as! [String]).map { Double($0)! }
            XCTAssertEqual(stats, want, type)
        }
    }

    func testSegJSONHasPercentagesAndNullForNaN() throws {
        let root = Fixtures.path("seg-metrics/ade/ADEChallengeData2016")
        let obj = try json(try Tools.run("replk-eval", ["seg", "--data", "ade20k", "--root", root, "--pred", Fixtures.path("seg-metrics/ade_pred"), "--json"]))
        XCTAssertEqual(obj["aAcc"] as? Double, 77.91)
        XCTAssertEqual(obj["mIoU"] as? Double, 47.02)
        XCTAssertEqual(obj["mAcc"] as? Double, 75.45)
        let iou = obj["IoU"] as! [Any]
        XCTAssertEqual(iou.count, 150)
        XCTAssertTrue(iou[1] is NSNull)            // "building": absent from ground truth and predictions
        XCTAssertEqual(iou[0] as? Double, 72.82)
    }

    func assertFails(_ args: [String], _ needles: [String], line: UInt = #line) throws {
        let r = try Tools.run("replk-eval", args)
        XCTAssertNotEqual(r.status, 0, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("error") }.count, 1, r.stderr, line: line)
        for n in needles { XCTAssertTrue(r.stderr.contains(n), "\(n) not in \(r.stderr)", line: line) }
    }

    func testBadInputsAreClearErrors() throws {
        let tmp = Fixtures.temporaryDirectory()
        // Malformed JSON: line and column.
        try "[\n {\"image_id\": 1000, \"category_id\": 1,\n  \"bbox\": [1, 2, 3 4], \"score\": 0.5}\n]".write(toFile: tmp + "/bad.json", atomically: true, encoding: .utf8)
        try assertFails(["coco", "--gt", Fixtures.path("coco/gt_1.json"), "--results", tmp + "/bad.json"], [tmp + "/bad.json:3:", "malformed JSON"])
        // A result for an image the ground truth does not have.
        try "[{\"image_id\": 5, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": 0.5}]".write(toFile: tmp + "/unknown.json", atomically: true, encoding: .utf8)
        try assertFails(["coco", "--gt", Fixtures.path("coco/gt_1.json"), "--results", tmp + "/unknown.json"], ["image id 5"])
        // The results file given as ground truth.
        try assertFails(["coco", "--gt", Fixtures.path("coco/dt_1.json"), "--results", Fixtures.path("coco/dt_1.json")], ["dt_1.json"])
        // A missing prediction, a wrong size, an out-of-range value.
        let root = Fixtures.path("seg-metrics/ade/ADEChallengeData2016")
        try assertFails(["seg", "--data", "ade20k", "--root", root, "--pred", tmp], [tmp + "/ADE_val_00000001.png", "No such file"])
        let preds = tmp + "/preds"
        try FileManager.default.copyItem(atPath: Fixtures.path("seg-metrics/ade_pred"), toPath: preds)
        try FileManager.default.removeItem(atPath: preds + "/ADE_val_00000002.png")
        try FileManager.default.copyItem(atPath: Fixtures.path("imaging/label_gray.png"), toPath: preds + "/ADE_val_00000002.png")
        try assertFails(["seg", "--data", "ade20k", "--root", root, "--pred", preds], ["ADE_val_00000002.png", "13×9"])
        let bad = tmp + "/cs"
        try FileManager.default.copyItem(atPath: Fixtures.path("seg-metrics/cs_pred"), toPath: bad)
        try assertFails(["seg", "--data", "cityscapes", "--root", Fixtures.path("seg-metrics/cityscapes"), "--pred", Fixtures.path("seg-metrics/ade_pred")],
                        ["frankfurt_000000_000019_leftImg8bit.png"])
    }
}
