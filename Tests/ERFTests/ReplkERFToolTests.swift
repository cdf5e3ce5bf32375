import Foundation
import XCTest
import TestSupport
import RepLKWeights

/// replk-erf end to end: both input routes on dev-erf-a, the comparison sheet, and bad input.
final class ReplkERFToolTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")
    let checkpoint = Fixtures.path("dev-cls-a/model.pth")

    func assertOutputsMatchOfficial(_ dir: String, images: Int, line: UInt = #line) throws {
        let got = try NPY.read(path: dir + "/erf.npy"), want = try Fixtures.npy("erf/erf_mean.npy")
        XCTAssertEqual(got.shape, [256, 256], line: line)
        let err = maxAbsDifference(got.values, want.values), top = maxAbs(want.values)
        XCTAssertLessThanOrEqual(err, 1e-3 * top, "max |diff| \(err), max \(top)", line: line)
        print("\(dir): map max |diff| / max = \(err / top)")
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/erf.json"))) as! [String: Any]
        XCTAssertEqual(obj["images"] as? Int, images, line: line)
        XCTAssertEqual(obj["input_size"] as? Int, 256, line: line)
        XCTAssertEqual(obj["checkpoint"] as? String, checkpoint, line: line)
        let rows = obj["area_ratio"] as! [[String: Any]]
        XCTAssertEqual(rows.map { $0["thresh"] as? Double }, [0.2, 0.3, 0.5, 0.99], line: line)
        XCTAssertEqual(rows.map { $0["side"] as? Int }, ERFFixtureTests.sides, line: line)
        for (r, want) in zip(rows, ERFFixtureTests.ratios) {
            XCTAssertEqual(r["area_ratio"] as? Double ?? .nan, want, accuracy: 1e-12, line: line)
        }
        let png = try Data(contentsOf: URL(fileURLWithPath: dir + "/erf.png"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47], line: line)
    }

    func testTensorRouteMatchesOfficialMapAndTable() throws {
        let out = Fixtures.temporaryDirectory() + "/erf"
        let r = try Tools.run("replk-erf", ["--checkpoint", checkpoint, "--tensor", Fixtures.path("erf/input.npy"), "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("|   0.99 |  253 |   0.976700 |"), r.stdout)
        XCTAssertTrue(r.stderr.contains("ETA"), r.stderr)
        try assertOutputsMatchOfficial(out, images: 4)
    }

    func testImageFolderRouteMatchesOfficialMapAndTable() throws {
        let out = Fixtures.temporaryDirectory() + "/erf"
        let r = try Tools.run("replk-erf", ["--checkpoint", checkpoint, "--root", demo + "/imagenet/val", "--num-images", "4",
                                            "--input-size", "256", "--out", out, "--no-reparam"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertOutputsMatchOfficial(out, images: 4)
    }

    func testCompareSheetPutsResultsSideBySide() throws {
        let dir = Fixtures.temporaryDirectory()
        XCTAssertEqual(try Tools.run("replk-erf", ["--checkpoint", checkpoint, "--tensor", Fixtures.path("erf/input.npy"),
                                                   "--num-images", "1", "--out", dir + "/a"]).status, 0)
        XCTAssertEqual(try Tools.run("replk-erf", ["--checkpoint", checkpoint, "--tensor", Fixtures.path("erf/input.npy"),
                                                   "--num-images", "2", "--out", dir + "/b"]).status, 0)
        let r = try Tools.run("replk-erf", ["compare", dir + "/a", dir + "/b", "--out", dir + "/sheet.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/sheet.png"))
        // Never over an input.
        let bad = try Tools.run("replk-erf", ["compare", dir + "/a", "--out", dir + "/a/erf.npy"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
    }

    func testImageGivingNaNIsSkippedAndReported() throws {
        let dir = Fixtures.temporaryDirectory()
        let x = try Fixtures.npy("erf/input.npy")
        var v = x.values
        v[3 * 256 * 256 + 1000] = .nan   // item 1
        try NPY.write(path: dir + "/nan.npy", shape: x.shape, values: v)
        let r = try Tools.run("replk-erf", ["--checkpoint", checkpoint, "--tensor", dir + "/nan.npy", "--out", dir + "/o"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("nan.npy[1]: got NaN, next image"), r.stderr)
        XCTAssertTrue(r.stdout.contains("3 images of 256×256, 1 skipped (NaN)"), r.stdout)
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/o/erf.json"))) as! [String: Any]
        XCTAssertEqual(obj["images"] as? Int, 3)
        XCTAssertEqual((obj["skipped_nan"] as? [String])?.count, 1)
        // Every image NaN: nothing to average, an error.
        try NPY.write(path: dir + "/allnan.npy", shape: [1, 3, 64, 64], values: [Float](repeating: .nan, count: 3 * 64 * 64))
        let all = try Tools.run("replk-erf", ["--checkpoint", checkpoint, "--tensor", dir + "/allnan.npy", "--out", dir + "/o2"])
        XCTAssertEqual(all.status, 1)
        XCTAssertTrue(all.stderr.contains("replk-erf: error: \(dir)/allnan.npy: every image gave NaN"), all.stderr)
    }

    func assertOneLineError(_ args: [String], status: Int32 = 1, _ needles: [String], line: UInt = #line) throws {
        let r = try Tools.run("replk-erf", args)
        XCTAssertEqual(r.status, status, r.stderr, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("replk-erf: error: "), r.stderr, line: line)
        for n in needles { XCTAssertTrue(r.stderr.contains(n), "\(n) not in: \(r.stderr)", line: line) }
    }

    func testBadInputIsOneLineErrorNamingTheFileAndProblem() throws {
        let dir = Fixtures.temporaryDirectory()
        let tensor = Fixtures.path("erf/input.npy")
        // Not a RepLKNet checkpoint: a state dict of other keys, and a file that is no checkpoint at all.
        let other = dir + "/other.pth"
        try FileManager.default.copyItem(atPath: Fixtures.path("checkpoint-forms/plain.pth"), toPath: other)
        try assertOneLineError(["--checkpoint", other, "--tensor", tensor, "--out", dir + "/o1"], [other, "not a RepLKNet checkpoint"])
        try assertOneLineError(["--checkpoint", tensor, "--tensor", tensor, "--out", dir + "/o2"], [tensor])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/o2"), "no output folder for a bad checkpoint")
        // An empty folder.
        let empty = dir + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try assertOneLineError(["--checkpoint", checkpoint, "--root", empty, "--out", dir + "/o3"], [empty])
        // --num-images 0 (a usage error, exit 64).
        try assertOneLineError(["--checkpoint", checkpoint, "--tensor", tensor, "--num-images", "0", "--out", dir + "/o4"], status: 64, ["--num-images"])
        // A tensor of the wrong rank.
        let rank3 = dir + "/rank3.npy"
        try NPY.write(path: rank3, shape: [3, 32, 32], values: [Float](repeating: 0, count: 3 * 32 * 32))
        try assertOneLineError(["--checkpoint", checkpoint, "--tensor", rank3, "--out", dir + "/o5"], [rank3, "rank 4", "[3, 32, 32]"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/o5"), "no output folder for a bad tensor")
        // Both or neither input.
        try assertOneLineError(["--checkpoint", checkpoint, "--out", dir + "/o6"], status: 64, ["--root", "--tensor"])
        // The output folder holding the input tensor's name: refused, the input untouched.
        let inputCopy = dir + "/in/erf.npy"
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: tensor, toPath: inputCopy)
        try assertOneLineError(["--checkpoint", checkpoint, "--tensor", inputCopy, "--out", dir + "/in"], [inputCopy])
        XCTAssertEqual(try NPY.read(path: inputCopy).shape, [4, 3, 256, 256])
    }
}

/// replk-bench erf: the same-run report of the model command (median, every run, peak memory).
final class ERFBenchTests: XCTestCase {
    func testBenchERFReportsMedianRunsAndPeakMemory() throws {
        let r = try Tools.run("replk-bench", ["erf", "replknet-31b", "--size", "64", "--repeat", "2", "--threads", "1", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual((obj["samples_ms"] as? [Double])?.count, 2)
        XCTAssertGreaterThan(obj["median_ms"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(obj["peak_rss_mb"] as? Double ?? 0, 0)
        XCTAssertEqual(obj["input"] as? [Int], [64, 64])
        let bad = try Tools.run("replk-bench", ["erf", "replknet-31b", "--size", "0"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
    }
}
