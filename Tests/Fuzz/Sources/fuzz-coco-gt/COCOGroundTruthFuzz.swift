// libFuzzer target: COCO annotation files (JSON reader, then the COCO reader) through
// COCOFile.groundTruth(data:name:); a file that reads is then evaluated, bbox and segm, against
// detections made from its own annotations, so that its images, boxes, polygons and RLE masks go
// through the evaluator (mask rasterisation, IoU, accumulate, summary) too.
import RepLKDatasets
import RepLKEval

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let gt = try? COCOFile.groundTruth(data: bytes, name: "fuzz-instances.json") else { return 0 }
    // Detections: each annotation once, with a score that varies (and repeats) with its position.
    let detections = gt.annotations.prefix(2000).enumerated().map { n, a in
        COCODetection(imageId: a.imageId, categoryId: a.categoryId, score: Double((n * 37) % 11) / 10,
                      bbox: a.bbox, segmentation: a.segmentation)
    }
    for iouType in [COCOIoUType.bbox, .segm] {
        guard let evaluator = try? COCOEvaluator(groundTruth: gt, iouType: iouType) else { continue }
        if (try? evaluator.add(detections, source: "fuzz-results.json")) != nil {
            _ = evaluator.summary()
        }
    }
    return 0
}
