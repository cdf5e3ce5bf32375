import Foundation
import XCTest
import RepLKDatasets
import RepLKEval
import RepLKImaging
import TestSupport

/// mmsegmentation 1.2.2 IoUMetric and cityscapesScripts on generated label maps
/// (Tests/Fixtures/seg-metrics/make_seg_cases.py).
final class SegmentationMetricTests: XCTestCase {
    let dir = Fixtures.path("seg-metrics")

    func expected() throws -> [String: [String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
    }

    /// "np.float32(77.91)" → 77.91 as Float.
    func f32(_ s: Any?) -> Float {
        let t = (s as! String).replacingOccurrences(of: "np.float32(", with: "").replacingOccurrences(of: ")", with: "")
        return Float(t)!
    }

    func assertMatchesMMSeg(_ m: SegmentationMetric, _ want: [String: Any], line: UInt = #line) {
        let s = m.summary()
        XCTAssertEqual(s.aAcc, f32(want["aAcc"]), "aAcc", line: line)
        XCTAssertEqual(s.mIoU, f32(want["mIoU"]), "mIoU", line: line)
        XCTAssertEqual(s.mAcc, f32(want["mAcc"]), "mAcc", line: line)
        XCTAssertEqual(s.classTable, want["class_table"] as? String, line: line)
    }

    func evaluate(_ ds: SegmentationDataset, predictions: String) throws -> SegmentationMetric {
        var m = SegmentationMetric(classNames: ds.classNames)
        for s in ds.samples {
            let gt = try ds.label(s)
            let pred = try Image.readLabelMap(ds.predictionPath(s, in: predictions))
            try m.add(prediction: pred.pixels, label: gt.values)
        }
        return m
    }

    func testADE20KLayoutWithReduceZeroLabel() throws {
        let ds = try ADE20KDataset(root: dir + "/ade/ADEChallengeData2016")
        XCTAssertEqual(ds.samples.count, 6)
        assertMatchesMMSeg(try evaluate(ds, predictions: dir + "/ade_pred"), try expected()["ade"]!)
    }

    func testCityscapesLayoutTrainIds() throws {
        let ds = try CityscapesDataset(root: dir + "/cityscapes")
        XCTAssertEqual(ds.samples.map(\.relativePath).first, "frankfurt/frankfurt_000000_000019_leftImg8bit.png")
        assertMatchesMMSeg(try evaluate(ds, predictions: dir + "/cs_pred"), try expected()["cityscapes"]!)
    }

    func testCityscapesOfficialScoresEqualCityscapesScripts() throws {
        let ds = try CityscapesDataset(root: dir + "/cityscapes")
        var m = CityscapesMetric()
        for s in ds.samples {
            let train = try Image.readLabelMap(ds.predictionPath(s, in: dir + "/cs_pred")).pixels
            let pred = train.map { CityscapesDataset.labelIds[Int($0)] }
            let ids = try Image.readLabelMap(ds.labelIdsPath(s)).pixels
            let inst = try Map16(contentsOf: ds.instanceIdsPath(s)).values
            try m.add(prediction: pred, labelIds: ids, instanceIds: inst)
        }
        let s = m.summary()
        let want = try expected()["cityscapes_official"]!
        func hex(_ k: String) -> Double { Double(hexString: want[k] as! String) }
        XCTAssertEqual(s.averageScoreClasses, hex("averageScoreClasses"))
        XCTAssertEqual(s.averageScoreInstClasses, hex("averageScoreInstClasses"))
        XCTAssertEqual(s.averageScoreCategories, hex("averageScoreCategories"))
        XCTAssertEqual(s.averageScoreInstCategories, hex("averageScoreInstCategories"))
        let classScores = want["classScores"] as! [String: String]
        let names = ["unlabeled", "ego vehicle", "rectification border", "out of roi", "static", "dynamic", "ground", "road",
                     "sidewalk", "parking", "rail track", "building", "wall", "fence", "guard rail", "bridge", "tunnel", "pole",
                     "polegroup", "traffic light", "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car",
                     "truck", "bus", "caravan", "trailer", "train", "motorcycle", "bicycle"]
        for (i, n) in names.enumerated() {
            let w = Double(hexString: classScores[n]!)
            XCTAssertTrue(s.classIoU[i] == w || (s.classIoU[i].isNaN && w.isNaN), n)
        }
    }

    func testFloat32TotalsRoundLikeMMSeg() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/counts.json"))
        let counts = try JSONSerialization.jsonObject(with: data) as! [[String: [Int]]]
        var m = SegmentationMetric(classNames: cityscapesClasses.map(\.name))
        for c in counts { m.add(intersect: c["intersect"]!, pred: c["pred"]!, label: c["label"]!) }
        XCTAssertGreaterThan(m.totalLabel.max()!, Float(1 << 24))
        assertMatchesMMSeg(m, try expected()["large"]!)
    }

    func testRealADE20KImagesAgainstTheirOwnAnnotationsScore100() throws {
        let ds = try ADE20KDataset(root: Fixtures.path("../../Datasets/Demo/ade20k-sample/ADEChallengeData2016"))
        var m = SegmentationMetric(classNames: ds.classNames)
        for s in ds.samples {
            let gt = try ds.label(s)
            try m.add(prediction: gt.values.map { $0 == 255 ? 0 : $0 }, label: gt.values)
        }
        let r = m.summary()
        XCTAssertEqual(r.aAcc, 100)
        XCTAssertEqual(r.mIoU, 100)
        XCTAssertEqual(r.mAcc, 100)
    }

    func testOutOfRangeValuesAreErrors() {
        var m = SegmentationMetric(classNames: ["a", "b"])
        XCTAssertThrowsError(try m.add(prediction: [0, 1], label: [0, 7])) { XCTAssertTrue("\($0)".contains("out of range")) }
        XCTAssertThrowsError(try m.add(prediction: [0, 9], label: [0, 1])) { XCTAssertTrue("\($0)".contains("out of range")) }
        XCTAssertThrowsError(try m.add(prediction: [0], label: [0, 1])) { XCTAssertTrue("\($0)".contains("pixels")) }
        XCTAssertNoThrow(try m.add(prediction: [0, 9], label: [0, 255]))   // ignored pixels are not checked
    }
}
