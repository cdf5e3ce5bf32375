import Foundation
import XCTest
import TestSupport

final class ReplkBenchTests: XCTestCase {
    /// FLOPs (multiply-accumulates) and parameters of full-size models, counted by the engine, against
    /// the RepLKNet README: 15.3G / 79M (31B, 224²), 1170G / 112M (UperNet, 2048×512),
    /// 965G / 137M (Cascade Mask R-CNN, 1280×800).
    func testCostsMatchTheREADMEWithinOnePercent() throws {
        let r = try Tools.run("replk-bench", ["cost", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual(rows.count, 3)
        for row in rows {
            let gmacs = row["gmacs"] as! Double, want = row["readme_gflops"] as! Double
            let params = Double(row["params"] as! Int), wantParams = row["readme_params"] as! Double
            XCTAssertLessThan(abs(gmacs - want) / want, 0.01, "\(row["model"]!) FLOPs \(gmacs)G vs \(want)G")
            XCTAssertLessThan(abs(params - wantParams) / wantParams, 0.01, "\(row["model"]!) params \(params) vs \(wantParams)")
        }
    }

    func testBenchJSONHasMedian() throws {
        let r = try Tools.run("replk-bench", ["dwconv", "--channels", "32", "--size", "16", "--kernel", "7", "--depth", "2",
                                              "--threads", "1", "--repeat", "2", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertNotNil(obj["median_ms"] as? Double)
    }

    /// `samples_ms` holds every timed run (the halves before and after the peers together), and
    /// `median_ms` is their median; `steal_percent`, where present, is a share.
    func testBenchJSONListsEveryRunWithTheMedianOfThem() throws {
        let r = try Tools.run("replk-bench", ["dwconv", "--channels", "32", "--size", "16", "--kernel", "5", "--depth", "2",
                                              "--threads", "1", "--repeat", "5", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let samples = try XCTUnwrap(obj["samples_ms"] as? [Double])
        XCTAssertEqual(samples.count, 5)
        XCTAssertTrue(samples.allSatisfy { $0 > 0 })
        XCTAssertEqual(try XCTUnwrap(obj["median_ms"] as? Double), samples.sorted()[2], accuracy: 1e-9)
        if let steal = obj["steal_percent"] as? Double { XCTAssertTrue((0...100).contains(steal), "\(steal)") }
    }
}
