import XCTest
import RepLKEngine
import RepLKImaging
import RepLKSegmentation
import TestSupport

/// bf16 UperNet on the dev-seg fixtures: the label maps stay within 1 % of the float32 ones (issue
/// bound). Skipped, saying why, on CPUs without AVX512_BF16.
final class BF16SegmentationTests: XCTestCase {
    func testBF16LabelMapsDifferFromFloat32InUnderOnePercentOfPixels() throws {
        if let reason = Precision.bf16.unsupportedReason {
            print("BF16SegmentationTests: skipped on this CPU: \(reason)")
            throw XCTSkip(reason)
        }
        let sd = try SegmentationFixtureTests.stateDict()
        let fp32 = try Segmenter(stateDict: sd, file: "dev-seg", alignCorners: false)
        let bf16 = try Segmenter(stateDict: sd, file: "dev-seg", alignCorners: false, engine: EngineConfiguration(precision: .bf16))
        for (dir, mode) in [("dev-seg-ade-whole", SegmentationTestConfig.Mode.whole),
                            ("dev-seg-ade-slide", .slide(crop: (512, 512), stride: (341, 341)))] {
            var config = SegmentationTestConfig.ade20k
            config.mode = mode
            let image = try Image(contentsOf: Fixtures.path(dir + "/input.jpg"))
            let a = SegmentationPipeline(model: fp32, config: config)(image).labels
            let b = SegmentationPipeline(model: bf16, config: config)(image).labels
            XCTAssertEqual(a.count, b.count)
            let share = Double(zip(a, b).filter { $0 != $1 }.count) / Double(a.count)
            print(String(format: "BF16SegmentationTests: %@: %.3f %% of pixels differ from float32", dir, 100 * share))
            XCTAssertLessThanOrEqual(share, 0.01, dir)
        }
    }
}
