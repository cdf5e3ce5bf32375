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

    /// The JSON says which algorithm the depth-wise convs ran: `--depthwise`, else
    /// `REPLK_DEPTHWISE`, else `auto`; a variable that names no algorithm is refused.
    func testBenchJSONSaysWhichDepthwiseAlgorithmRan() throws {
        let args = ["dwconv", "--channels", "32", "--size", "32", "--kernel", "31", "--depth", "2", "--threads", "1",
                    "--repeat", "2", "--json"]
        let inherited = ProcessInfo.processInfo.environment["REPLK_DEPTHWISE"] ?? "auto"
        for (env, flag, want) in [([String: String](), [String](), inherited), (["REPLK_DEPTHWISE": "fft"], [], "fft"),
                                  (["REPLK_DEPTHWISE": "fft"], ["--depthwise", "bands"], "bands"),
                                  ([:], ["--depthwise", "fft-all"], "fft-all")] {
            let r = try Tools.run("replk-bench", args + flag, environment: env)
            XCTAssertEqual(r.status, 0, r.stderr)
            let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            XCTAssertEqual(obj["depthwise"] as? String, want, "\(env) \(flag)")
        }
        let bad = try Tools.run("replk-bench", args, environment: ["REPLK_DEPTHWISE": "fast"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("REPLK_DEPTHWISE=fast is not a depth-wise algorithm"), bad.stderr)
        let badFlag = try Tools.run("replk-bench", args + ["--depthwise", "fast"])
        XCTAssertNotEqual(badFlag.status, 0)
        XCTAssertTrue(badFlag.stderr.contains("fft-all"), badFlag.stderr)
    }

    /// `samples_ms` holds every timed run (all rounds together when there are peers), and
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

    /// A stand-in for the peers' Python: it ignores the harness script it is given and speaks the
    /// harness's protocol (a line that is not JSON first, then the setup line, then one line of
    /// timings per request), so the alternating rounds are checked without torch.
    private func fakePeers(_ body: String) throws -> String {
        let path = Fixtures.temporaryDirectory() + "/fake-python"
        try ("#!/bin/sh\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    func testPeersAlternateInRoundsAndReportEveryRun() throws {
        let fake = try fakePeers("""
        echo 'a library talking on stdout'
        echo '{"ready": {"torch": {"version": "fake"}}, "openvino": {"error": "not installed"}}'
        while read cmd name count; do
          [ "$cmd" = quit ] && exit 0
          echo "$cmd $name $count" >> "$0.log"
          printf '{"samples_ms": ['; i=0
          while [ $i -lt $count ]; do [ $i -gt 0 ] && printf ','; printf '2.5'; i=$((i+1)); done
          echo ']}'
        done
        """)
        let r = try Tools.run("replk-bench", ["dwconv", "--channels", "32", "--size", "16", "--kernel", "5", "--depth", "2",
                                              "--threads", "1", "--repeat", "5", "--rounds", "2", "--peers", fake, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual((obj["samples_ms"] as? [Double])?.count, 5)
        let peers = try XCTUnwrap(obj["peers"] as? [String: Any])
        let torch = try XCTUnwrap(peers["torch"] as? [String: Any])
        XCTAssertEqual(torch["median_ms"] as? Double, 2.5)
        XCTAssertEqual((torch["samples_ms"] as? [Double])?.count, 5)
        XCTAssertEqual(torch["version"] as? String, "fake")
        XCTAssertEqual((peers["openvino"] as? [String: Any])?["error"] as? String, "not installed")
        // Two rounds of 2 and 3 runs, asked for one at a time.
        let log = try String(contentsOfFile: fake + ".log", encoding: .utf8)
        XCTAssertEqual(log, "run torch 2\nrun torch 3\n")
    }

    func testPeersThatDieSayWhatTheyPrinted() throws {
        let fake = try fakePeers("echo 'ModuleNotFoundError: torch'\nexit 1\n")
        let r = try Tools.run("replk-bench", ["dwconv", "--channels", "32", "--size", "16", "--kernel", "5", "--depth", "2",
                                              "--threads", "1", "--repeat", "2", "--peers", fake])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("ended early") && r.stderr.contains("ModuleNotFoundError"), r.stderr)
    }

    func testPeersThatDieMidRunGiveAnErrorNotACrash() throws {
        let fake = try fakePeers("""
        echo '{"ready": {"torch": {"version": "fake"}}}'
        read line
        echo 'RuntimeError: out of memory'
        exit 1
        """)
        let r = try Tools.run("replk-bench", ["dwconv", "--channels", "32", "--size", "16", "--kernel", "5", "--depth", "2",
                                              "--threads", "1", "--repeat", "4", "--rounds", "2", "--peers", fake])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("ended early") && r.stderr.contains("out of memory"), r.stderr)
    }
}
