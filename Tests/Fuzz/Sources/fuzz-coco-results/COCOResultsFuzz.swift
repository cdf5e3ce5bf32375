// libFuzzer target: COCO results files (detections JSON: boxes, scores, polygon and RLE masks)
// through COCOFile.results(data:name:), then evaluated, bbox and segm, against a fixed ground truth
// (GroundTruth.swift). Image ids that the ground truth lacks are mapped onto its images (the
// evaluator would stop at the first one), so that mutated files still reach the evaluation.
import RepLKDatasets
import RepLKEval

let groundTruthBytes = Array(groundTruthJSON.utf8)
let imageIds = [1, 2, 3, 4, 5]

/// The ground truth is read again at every run: kept in a global, its RLE masks (arrays inside an
/// enum's payload, whose spare bits hold the case) are invisible to LeakSanitizer's pointer scan,
/// which then reports them as leaked at exit.
func readGroundTruth() -> COCOGroundTruth {
    do { return try COCOFile.groundTruth(data: groundTruthBytes, name: "ground-truth.json") }
    catch { fatalError("the fuzz target's own ground truth does not read: \(error)") }
}

/// Runs once before fuzzing: globals are built here, outside the runs LeakSanitizer checks (a
/// lazy global first built inside a run would be reported as that run's leak).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    precondition(readGroundTruth().images.map(\.id).sorted() == imageIds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard var detections = try? COCOFile.results(data: bytes, name: "fuzz-results.json") else { return 0 }
    for i in detections.indices where !imageIds.contains(detections[i].imageId) {
        detections[i].imageId = imageIds[Int(detections[i].imageId.magnitude % UInt(imageIds.count))]
    }
    let groundTruth = readGroundTruth()
    for iouType in [COCOIoUType.bbox, .segm] {
        guard let evaluator = try? COCOEvaluator(groundTruth: groundTruth, iouType: iouType) else { continue }
        if (try? evaluator.add(detections, source: "fuzz-results.json")) != nil {
            _ = evaluator.summary()
        }
    }
    return 0
}
