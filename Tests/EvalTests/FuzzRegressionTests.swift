import Foundation
import XCTest
import RepLKDatasets
import RepLKEval
import TestSupport

/// Replays Tests/Fixtures/fuzz-regressions/fuzz-{coco-gt,coco-results,rle} as the fuzz targets
/// (Tests/Fuzz/Sources/...) do: read, then evaluate bbox and segm. A crash here is one the fuzzers
/// found; refused-* inputs must be refused in one line naming the file, by the reader or the evaluator.
final class FuzzRegressionTests: XCTestCase {
    struct Refused: Error, CustomStringConvertible { let description: String }
    struct Named: Error, CustomStringConvertible { let description: String }

    /// Evaluates `detections` against `gt` for both IoU types (each may refuse).
    func evaluate(_ gt: COCOGroundTruth, _ detections: [COCODetection], source: String) throws {
        for iouType in [COCOIoUType.bbox, .segm] {
            let evaluator = try COCOEvaluator(groundTruth: gt, iouType: iouType)
            try evaluator.add(detections, source: source)
            let s = evaluator.summary()
            XCTAssertEqual(s.stats.count, 12)
        }
    }

    func testCOCOGroundTruthRegressionInputsAreRefusedInOneLineNamingTheFile() throws {
        try FuzzRegressions.replay("fuzz-coco-gt") { input in
            let gt = try COCOFile.groundTruth(data: input.bytes, name: input.path)
            // The fuzz target's detections: each annotation once, scores varying with its position.
            let detections = gt.annotations.prefix(2000).enumerated().map { n, a in
                COCODetection(imageId: a.imageId, categoryId: a.categoryId, score: Double((n * 37) % 11) / 10,
                              bbox: a.bbox, segmentation: a.segmentation)
            }
            try evaluate(gt, detections, source: input.path)
        }
    }

    /// Refused in one line, but without the file's name: COCOEvaluator.add's checks of a result's kind
    /// (Eval/COCOEvaluator.swift, "mask results must carry compressed RLE segmentations" and the
    /// unknown-image, no-bbox-nor-segmentation and 4-number-bbox errors before it) do not prefix
    /// `source` as its other errors do. replk-eval names the results file around them; the API does
    /// not. Reported; drop the name from this list when they name the file.
    let namelessKnown: Set<String> = ["refused-mask-results-as-polygons.json"]

    func testCOCOResultsRegressionInputsAreRefusedInOneLineNamingTheFile() throws {
        let gtPath = Fixtures.path("fuzz-regressions/coco-results-ground-truth.json")
        let imageIds = try COCOFile.groundTruth(path: gtPath).images.map(\.id).sorted()
        XCTAssertEqual(imageIds, [1, 2, 3, 4, 5])
        try FuzzRegressions.replay("fuzz-coco-results") { input in
            var detections = try COCOFile.results(data: input.bytes, name: input.path)
            // As the fuzz target does: ids the ground truth lacks are mapped onto its images.
            for i in detections.indices where !imageIds.contains(detections[i].imageId) {
                detections[i].imageId = imageIds[Int(detections[i].imageId.magnitude % UInt(imageIds.count))]
            }
            do {
                try evaluate(try COCOFile.groundTruth(path: gtPath), detections, source: input.path)
            } catch where namelessKnown.contains(input.name) {
                throw Named(description: "\(input.path): \(error)")
            }
        }
    }


    /// Found by fuzz-rle (crash-2ea7f636…, its own check that a mask merged with itself keeps its
    /// area): pycocotools' rleMerge ends its loop when both masks are at a zero-length run at once
    /// (the counts left sum to 0), so this 85×16 mask with inner zero runs, merged with itself, keeps
    /// 853 of its 1360 pixels and 276 of its 328 set ones. RLE.merge gives pycocotools' numbers
    /// (computed with a line-by-line Python port of maskApi.c's rleMerge).
    func testMergeStopsAtAZeroRunInBothMasksAsPycocotoolsDoes() throws {
        let input = try XCTUnwrap(try FuzzRegressions.inputs("fuzz-rle").first { $0.name.hasPrefix("crash-2ea7f636") })
        let r = try XCTUnwrap(Array(input.bytes[5...]).withUnsafeBufferPointer { RLE(compressedCounts: $0, height: 85, width: 16) })
        XCTAssertEqual(r.area, 328)
        XCTAssertTrue(r.counts.dropFirst().contains(0))
        for intersect in [false, true] {
            let m = RLE.merge([r, r], intersect: intersect)
            XCTAssertEqual(m.area, 276, "intersect: \(intersect)")
            XCTAssertEqual(m.counts.reduce(0) { $0 + Int($1) }, 853, "intersect: \(intersect)")
        }
    }

    /// Found by fuzz-rle in CI (crash-aaddbd32…, its own check that a box is non-negative): a mask
    /// whose runs are all empty keeps toBbox's start values, and pycocotools ≥ 2.0.7 computes its
    /// width and height in `uint`, so they wrap: 48×0 with counts [0, 0] gives [0, 48, 1, 2³²−47],
    /// 4×3 with counts [12, 0] gives [3, 4, 2³²−2, 2³²−3].
    func testBoxOfAMaskWithOnlyEmptyRunsWrapsAsPycocotoolsDoes() throws {
        let inputs = try FuzzRegressions.inputs("fuzz-rle")
        let cases: [(String, Int, Int, [Double])] = [
            ("empty-runs-48x0-bbox", 48, 0, [0, 48, 1, 4294967249]),
            ("empty-runs-4x3-bbox", 4, 3, [3, 4, 4294967294, 4294967293]),
        ]
        for (name, h, w, box) in cases {
            let input = try XCTUnwrap(inputs.first { $0.name.hasPrefix(name) }, name)
            let r = try XCTUnwrap(Array(input.bytes[5...]).withUnsafeBufferPointer { RLE(compressedCounts: $0, height: h, width: w) }, name)
            XCTAssertEqual(r.area, 0, name)
            XCTAssertEqual(r.boundingBox, box, name)
        }
        // A mask that pycocotools' own encoder wrote (one run) has the zero box.
        XCTAssertEqual(RLE(height: 4, width: 3, counts: [12]).boundingBox, [0, 0, 0, 0])
    }

    /// fuzz-rle's input: byte 0 the mode, then height and width (little-endian UInt16, modulo 1024
    /// unless mode bit 5 is set), then counts characters (mode bit 0 clear) or polygon coordinates
    /// (raw Doubles, or Int16 / 4 with bit 1), in 1–4 rings (bits 2–3).
    func testRLERegressionInputsAreRefused() throws {
        try FuzzRegressions.replay("fuzz-rle", mustName: false) { input in
            let b = input.bytes
            guard b.count >= 5 else { throw Refused(description: "shorter than its header") }
            var h = Int(b[1]) | Int(b[2]) << 8, w = Int(b[3]) | Int(b[4]) << 8
            if b[0] & 0x20 == 0 { h %= 1024; w %= 1024 }
            let payload = Array(b[5...])
            if b[0] & 1 == 0 {
                guard let r = payload.withUnsafeBufferPointer({ RLE(compressedCounts: $0, height: h, width: w) }) else {
                    throw Refused(description: "counts refused")
                }
                XCTAssertEqual(RLE(compressed: r.compressedString, height: h, width: w), r, input.name)
                return
            }
            let xy: [Double] = b[0] & 2 == 0
                ? stride(from: 0, to: payload.count - 7, by: 8).map { i in
                    Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(payload[i + $1]) << (8 * $1) }) }
                : stride(from: 0, to: payload.count - 1, by: 2).map { i in
                    Double(Int16(bitPattern: UInt16(payload[i]) | UInt16(payload[i + 1]) << 8)) / 4 }
            let ringCount = Int(b[0] >> 2 & 3) + 1
            let per = max(1, xy.count / ringCount)
            let rings = stride(from: 0, to: xy.count, by: per).map { Array(xy[$0..<min(xy.count, $0 + per)]) }
            let polygon = Result { try RLE.polygons(rings, height: h, width: w) }
            let box = Result { try RLE.box(Array(xy.prefix(4)), height: h, width: w) }
            // Refused only when both are: each error is a MaskError, in one line.
            for case let .failure(e) in [polygon, box] { XCTAssertTrue(e is MaskError, "\(input.name): \(e)") }
            if case let .failure(e) = polygon, case .failure = box { throw e }
        }
    }
}
