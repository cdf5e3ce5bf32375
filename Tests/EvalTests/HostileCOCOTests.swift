import Foundation
import XCTest
import RepLKEval

/// COCO evaluation on hostile input: NaN scores, shapes pycocotools cannot rasterise, and ground
/// truth whose images × categories is huge while its annotations are few.
final class HostileCOCOTests: XCTestCase {
    func box(_ id: Int, image: Int, category: Int = 1, _ b: [Double], area: Double = 100,
             segmentation: COCOSegmentation? = nil) -> COCOAnnotation {
        COCOAnnotation(id: id, imageId: image, categoryId: category, bbox: b, area: area, isCrowd: false, segmentation: segmentation)
    }

    func det(image: Int, category: Int = 1, _ b: [Double], score: Double, segmentation: COCOSegmentation? = nil) -> COCODetection {
        COCODetection(imageId: image, categoryId: category, score: score, bbox: b, segmentation: segmentation)
    }

    /// Expected numbers derived by hand from pycocotools' algorithm (coco-eval.md §4–6), not by
    /// running this code.
    ///
    /// Ground truth (category 1, area 100, so "small"): image 1 holds A = [0,0,10,10] and
    /// B = [50,50,10,10]; image 2 holds C = [0,0,10,10]. Detections in file order:
    ///   1: image 1, box A, score NaN      2: image 1, [80,80,10,10], 0.9    3: image 1, box B, 0.8
    ///   4: image 2, box C, 0.85           5: image 2, [80,80,10,10], NaN
    /// evaluateImg sorts each image's detections with np.argsort(-score, kind='mergesort'): NaN
    /// sorts last, so image 1 is [2, 3, 1] and image 2 is [4, 5]. At every threshold 2 matches
    /// nothing (FP), 3 takes B, 1 takes A (IoU 1), 4 takes C, 5 is an FP.
    /// accumulate concatenates by image ([2, 3, 1, 4, 5]) and sorts by -score again (stable, NaN
    /// last): scores 0.9, 0.85, 0.8, NaN (1), NaN (5) → FP, TP, TP, TP, FP. With npig = 3:
    /// recall 0, 1/3, 2/3, 1, 1 and precision 0/1, 1/2, 2/3, 3/4, 3/5 (the ε of tp + fp + ε
    /// vanishes for tp + fp ≥ 2). The envelope from the right makes the first four 0.75, and every
    /// recall threshold in 0…1 finds its first recall ≥ it within them: precision 0.75 at all
    /// 101 × 10 entries, so AP = AP50 = AP75 = APs = 0.75 exactly (0.75 sums exactly); APm, APl −1.
    /// AR1: each image's first detection is 2 (FP) and 4 (TP): recall 1/3 at every threshold.
    /// AR10 = AR100 = ARs = 1 (all three found); ARm, ARl −1.
    /// With `>` as the order (before), no comparison with NaN is true, so image 1 stayed [1, 2, 3]
    /// and AR1 came out 2/3, AP 0.834.
    func testNaNScoresRankLastAsNumpyArgsortDoes() throws {
        let gt = COCOGroundTruth(
            images: [COCOImage(id: 1, width: 100, height: 100), COCOImage(id: 2, width: 100, height: 100)],
            categories: [COCOCategory(id: 1, name: "thing")],
            annotations: [box(1, image: 1, [0, 0, 10, 10]), box(2, image: 1, [50, 50, 10, 10]), box(3, image: 2, [0, 0, 10, 10])])
        let ev = try COCOEvaluator(groundTruth: gt, iouType: .bbox)
        try ev.add([
            det(image: 1, [0, 0, 10, 10], score: .nan), det(image: 1, [80, 80, 10, 10], score: 0.9),
            det(image: 1, [50, 50, 10, 10], score: 0.8), det(image: 2, [0, 0, 10, 10], score: 0.85),
            det(image: 2, [80, 80, 10, 10], score: .nan),
        ])
        let s = ev.summary().stats
        XCTAssertEqual(Array(s[0..<6]), [0.75, 0.75, 0.75, 0.75, -1, -1])
        XCTAssertEqual(s[6], 1.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(Array(s[7..<12]), [1, 1, 1, -1, -1])
        XCTAssertEqual(ev.summary().summaryLines[6], " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.333")
    }

    func testSegmEvaluationRefusesWhatPycocotoolsCannotRasteriseNamingFileAndObject() throws {
        let images = [COCOImage(id: 1, width: 100, height: 100), COCOImage(id: 2, width: 10_000_000_000, height: 10_000_000_000)]
        func truth(_ ann: COCOAnnotation) -> COCOGroundTruth {
            COCOGroundTruth(images: images, categories: [COCOCategory(id: 1, name: "thing")], annotations: [ann], source: "gt.json")
        }
        let cases: [(COCOAnnotation, String)] = [
            // Int64(NaN) trapped.
            (box(7, image: 1, [0, 0, 10, 10], segmentation: .polygons([[0, 0, .nan, 0, 5, 5]])),
             "gt.json: annotation 7: polygon coordinate nan cannot be rasterised (pycocotools casts 5·x + 0.5 to a 32-bit int: x must be finite and within ±429496729)"),
            (box(8, image: 1, [0, 0, 10, 10], segmentation: .polygons([[0, 0, 1e300, 0, 5, 5]])),
             "gt.json: annotation 8: polygon coordinate 1e+300 cannot be rasterised (pycocotools casts 5·x + 0.5 to a 32-bit int: x must be finite and within ±429496729)"),
            // h·w overflowed.
            (box(9, image: 2, [0, 0, 10, 10], segmentation: .polygons([[0, 0, 10, 0, 5, 5]])),
             "gt.json: annotation 9: mask size 10000000000×10000000000 is not between 1 and 2147483647 pixels (pycocotools' 32-bit mask arithmetic)"),
            // Comparing two such masks summed runs in UInt32 and trapped.
            (box(10, image: 1, [0, 0, 10, 10], segmentation: .rle(RLE(height: 50_000, width: 50_000, counts: [0, 2_500_000_000]))),
             "gt.json: annotation 10: mask size 50000×50000 is not between 1 and 2147483647 pixels (pycocotools' 32-bit mask arithmetic)"),
        ]
        for (ann, message) in cases {
            XCTAssertThrowsError(try COCOEvaluator(groundTruth: truth(ann), iouType: .segm)) { XCTAssertEqual("\($0)", message) }
            // Box evaluation never rasterises them.
            let ev = try COCOEvaluator(groundTruth: truth(ann), iouType: .bbox)
            try ev.add([det(image: ann.imageId, [0, 0, 10, 10], score: 1)])
            // One TP: precision 1/(1 + ε) at each of the 101 recall thresholds of IoU 0.5.
            XCTAssertEqual(ev.summary().stats[1], numpyMean([Double](repeating: 1 / (1 + 2.220446049250313e-16), count: 101)))
        }
        // Box results evaluated as masks: their boxes are rasterised.
        let ev = try COCOEvaluator(groundTruth: truth(box(1, image: 1, [0, 0, 10, 10], segmentation: .polygons([[0, 0, 10, 0, 10, 10, 0, 10]]))),
                                   iouType: .segm)
        XCTAssertThrowsError(try ev.add([det(image: 1, [0, 0, 10, 10], score: 1), det(image: 1, [.infinity, 0, 10, 10], score: 1)],
                                        source: "dt.json")) {
            XCTAssertEqual("\($0)", "dt.json: detection 2 (image 1): its box [inf, 0.0, 10.0, 10.0] as a mask: polygon coordinate inf cannot be rasterised (pycocotools casts 5·x + 0.5 to a 32-bit int: x must be finite and within ±429496729)")
        }
        // Mask results: pycocotools sums their area in 32-bit unsigned ints.
        let masks = try COCOEvaluator(groundTruth: truth(box(1, image: 1, [0, 0, 10, 10])), iouType: .bbox)
        XCTAssertThrowsError(try masks.add([COCODetection(imageId: 1, categoryId: 1, score: 1, bbox: nil,
                                                           segmentation: .rle(RLE(height: 70_000, width: 70_000, counts: [0, UInt32.max, 605_032_705])))])) {
            XCTAssertEqual("\($0)", "detection 1 (image 1): mask size 70000×70000 is more than 4294967295 pixels (pycocotools' 32-bit mask area)")
        }
    }

    func testMemoryAndTimeDoNotGrowWithImagesTimesCategories() throws {
        // 20,000 images × 20,000 categories and two annotations: per-pair index arrays took 11.3 GB.
        let n = 20_000
        let gt = COCOGroundTruth(
            images: (1...n).map { COCOImage(id: $0, width: 100, height: 100) },
            categories: (1...n).map { COCOCategory(id: $0, name: "c\($0)") },
            annotations: [box(1, image: 1, category: 1, [0, 0, 10, 10]), box(2, image: n, category: n, [0, 0, 10, 10])])
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let before = usage.ru_maxrss
        let start = Date()
        let ev = try COCOEvaluator(groundTruth: gt, iouType: .bbox)
        try ev.add([det(image: 1, category: 1, [0, 0, 10, 10], score: 0.9), det(image: n, category: n, [50, 50, 10, 10], score: 0.8)])
        let summary = ev.summary()
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        // The process's peak: only a rise above what earlier tests reached shows here.
        XCTAssertLessThan(usage.ru_maxrss - before, 1 << 20, "peak RSS grew by \(usage.ru_maxrss - before) KB")
        // Category 1: one TP, precision 1/(1 + ε) at every recall threshold; category n: one FP,
        // precision 0; the other 19,998 have no ground truth (−1, left out). numpy's mean runs over
        // precision[t, r, k] in row-major order: the two categories alternate.
        let tp = 1 / (1 + 2.220446049250313e-16)
        let alternating = (0..<1010).flatMap { _ in [tp, 0.0] }
        XCTAssertEqual(summary.stats[0].bitPattern, numpyMean(alternating).bitPattern)
        XCTAssertEqual(summary.stats[1].bitPattern, numpyMean(Array(alternating.prefix(202))).bitPattern)
        XCTAssertEqual(Array(summary.stats[4...5]), [-1, -1])
        XCTAssertEqual(summary.stats[8], 0.5)
        XCTAssertEqual(summary.perCategory.count, n)
        XCTAssertEqual(summary.perCategory[0].ap.bitPattern, numpyMean([Double](repeating: tp, count: 1010)).bitPattern)
        XCTAssertEqual(summary.perCategory[n - 1].ap, 0)
        XCTAssertTrue(summary.perCategory[1].ap.isNaN)
    }

    func testStreamingPairwiseSumEqualsTheArrayOne() {
        var g = LCG(seed: 7)
        for n in Array(0...300) + [1000, 1010, 2020, 4096, 10_001, 80_800] {
            let a = (0..<n).map { _ in Double(g.next() % 1_000_003) / 997 * (g.next() % 2 == 0 ? 1 : 1e-9) }
            var i = 0
            let streamed = pairwiseSum(count: n) { defer { i += 1 }; return a[i] }
            XCTAssertEqual(streamed.bitPattern, pairwiseSum(a[...]).bitPattern, "n = \(n)")
            XCTAssertEqual(i, n)
        }
    }
}
