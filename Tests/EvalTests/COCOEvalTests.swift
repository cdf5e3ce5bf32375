import Foundation
import XCTest
import RepLKDatasets
import RepLKEval
import TestSupport

/// pycocotools 2.0.11 on randomised cases (Tests/Fixtures/coco/make_coco_cases.py).
final class COCOEvalTests: XCTestCase {
    func expected() throws -> [String: [String: [String: Any]]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("coco/expected.json")))
        return try JSONSerialization.jsonObject(with: data) as! [String: [String: [String: Any]]]
    }

    func hex(_ s: String) -> Double { s == "nan" ? .nan : Double(hexString: s) }

    func run(seed: String, type: COCOIoUType, maxDets: [Int]) throws -> COCOSummary {
        let s = seed.split(separator: "-")[0]
        let gt = try COCOFile.groundTruth(path: Fixtures.path("coco/gt_\(s).json"))
        let ev = try COCOEvaluator(groundTruth: gt, iouType: type, maxDets: maxDets)
        try ev.add(try COCOFile.results(path: Fixtures.path("coco/dt_\(s).json")))
        return ev.summary()
    }

    func testStatsEqualPycocotoolsBitForBit() throws {
        let exp = try expected()
        for (seed, byType) in exp {
            for type in [COCOIoUType.bbox, .segm] {
                let want = byType[type.rawValue]!
                let summary = try run(seed: seed, type: type, maxDets: seed.hasSuffix("mmdet") ? [100, 300, 1000] : [1, 10, 100])
                let stats = (want["stats"] as! [String]).map(hex)
                for i in 0..<12 {
                    XCTAssertEqual(summary.stats[i].bitPattern, stats[i].bitPattern,
                                   "seed \(seed) \(type) stat \(i): \(summary.stats[i]) vs \(stats[i])")
                }
                XCTAssertEqual(summary.summaryLines, want["lines"] as! [String], "seed \(seed) \(type)")
                let perCat = (want["per_category"] as! [String]).map(hex)
                for (got, w) in zip(summary.perCategory.map(\.ap), perCat) {
                    XCTAssertTrue(got.bitPattern == w.bitPattern || (got.isNaN && w.isNaN), "seed \(seed) \(type) per-category")
                }
            }
        }
    }

    func testThresholdsAreNumpysExactValues() {
        XCTAssertEqual(COCOEvaluator.iouThresholds[8], 0.8999999999999999)
        XCTAssertEqual(COCOEvaluator.recallThresholds[35], 0.35000000000000003)
        XCTAssertEqual(COCOEvaluator.recallThresholds[100], 1.0)
    }

    func testResultForUnknownImageIsAnError() throws {
        let gt = try COCOFile.groundTruth(path: Fixtures.path("coco/gt_1.json"))
        let ev = try COCOEvaluator(groundTruth: gt, iouType: .bbox)
        XCTAssertThrowsError(try ev.add([COCODetection(imageId: 424242, categoryId: 1, score: 1, bbox: [0, 0, 1, 1])])) {
            XCTAssertEqual("\($0)", "result for image id 424242, which is not in the ground truth")
        }
    }
}

final class MaskAPITests: XCTestCase {
    func testCodecPolygonsBoxesMergeAndIoUMatchPycocotools() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("coco/masks.json")))
        let cases = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        for (n, c) in cases.enumerated() {
            let h = c["h"] as! Int, w = c["w"] as! Int
            let mask = (c["mask"] as! [Int]).map(UInt8.init)
            let r = RLE(mask: mask, height: h, width: w)
            XCTAssertEqual(r.compressedString, c["counts"] as! String, "case \(n) encode")
            let back = RLE(compressed: c["counts"] as! String, height: h, width: w)
            XCTAssertEqual(back, r, "case \(n) decode")
            XCTAssertEqual(back?.decode(), mask, "case \(n) pixels")
            XCTAssertEqual(r.area, c["area"] as! Int, "case \(n) area")
            XCTAssertEqual(r.boundingBox, c["bbox"] as! [Double], "case \(n) bbox")
            let poly = RLE(polygon: c["polygon"] as! [Double], height: h, width: w)
            XCTAssertEqual(poly.compressedString, c["polygon_counts"] as! String, "case \(n) polygon")
            XCTAssertEqual(poly.boundingBox, c["polygon_bbox"] as! [Double], "case \(n) polygon bbox")
            XCTAssertEqual(RLE(box: c["box"] as! [Double], height: h, width: w).compressedString, c["box_counts"] as! String, "case \(n) box")
            let other = RLE(compressed: c["other_counts"] as! String, height: h, width: w)!
            XCTAssertEqual(RLE.merge([r, other]).compressedString, c["union_counts"] as! String, "case \(n) union")
            XCTAssertEqual(RLE.merge([r, other], intersect: true).compressedString, c["intersection_counts"] as! String, "case \(n) intersection")
            XCTAssertEqual(maskIoU(r, dBox: r.boundingBox, other, gBox: other.boundingBox, crowd: false),
                           Double(hexString: c["iou"] as! String), "case \(n) iou")
            XCTAssertEqual(maskIoU(r, dBox: r.boundingBox, other, gBox: other.boundingBox, crowd: true),
                           Double(hexString: c["iou_crowd"] as! String), "case \(n) crowd iou")
        }
    }

    func testCompressedStringExampleFromTheSpec() {
        let r = RLE(height: 70019, width: 1, counts: [3, 70000, 2, 1, 0, 1, 12])
        XCTAssertEqual(r.compressedString, "3`[T22adkMN0<")
        XCTAssertEqual(RLE(compressed: "3`[T22adkMN0<", height: 70019, width: 1), r)
        XCTAssertNil(RLE(compressed: "3`[T22adkMN0<", height: 10, width: 1))   // runs do not cover the mask
    }
}

extension Double {
    /// Parses Python's `float.hex()` output.
    init(hexString s: String) {
        if s == "nan" { self = .nan; return }
        if s == "-0x0.0p+0" { self = -0.0; return }
        if s == "0x0.0p+0" { self = 0; return }
        self = Double(s)!
    }
}
