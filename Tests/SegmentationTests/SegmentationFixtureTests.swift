import Foundation
import XCTest
import RepLKEngine
import RepLKImaging
import RepLKSegmentation
import TestSupport
import RepLKToolSupport
import RepLKWeights

/// dev-seg-ade-whole / dev-seg-ade-slide: mmsegmentation 1.2.2 inference on UperNet + the dev-cls-a
/// backbone (Tests/Fixtures/dev-seg-ade-*/manifest.json).
final class SegmentationFixtureTests: XCTestCase {
    /// The fixture checkpoint: backbone.* from dev-cls-a/model.pth (equal, per the manifest) plus the heads.
    static func stateDict() throws -> StateDict {
        var sd = StateDict()
        let backbone = try Checkpoint(path: Fixtures.path("dev-cls-a/model.pth")).stateDict()
        for k in backbone.keys where !k.hasPrefix("norm.") && !k.hasPrefix("head.") { sd.insert("backbone." + k, backbone[k]!) }
        let heads = try Checkpoint(path: Fixtures.path("dev-seg-ade-whole/heads.safetensors")).stateDict()
        for k in heads.keys { sd.insert(k, heads[k]!) }
        return sd
    }

    func manifestFile(_ dir: String, _ name: String) throws -> [String: Any] {
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path(dir + "/manifest.json")))) as! [String: Any]
        return (m["files"] as! [[String: Any]]).first { ($0["file"] as? String) == name }!
    }

    /// logits[:, :, 5::16, 5::16] of an NHWC tensor, as NCHW values.
    func grid(_ t: Tensor) -> [Float] {
        let (h, w, c) = (t.height, t.width, t.channels)
        let ys = Array(stride(from: 5, to: h, by: 16)), xs = Array(stride(from: 5, to: w, by: 16))
        var out = [Float]()
        let v = t.scalars
        for k in 0..<c { for y in ys { for x in xs { out.append(v[(y * w + x) * c + k]) } } }
        return out
    }

    func check(_ dir: String, mode: SegmentationTestConfig.Mode, reparameterize: Bool) throws {
        let model = try Segmenter(stateDict: try Self.stateDict(), file: "dev-seg", alignCorners: false, reparameterize: reparameterize)
        XCTAssertEqual(model.numClasses, 150)
        var config = SegmentationTestConfig.ade20k
        config.mode = mode
        let pipeline = SegmentationPipeline(model: model, config: config)
        let image = try Image(contentsOf: Fixtures.path(dir + "/input.jpg"))
        // Decode + mmcv keep-ratio resize reproduce the model input byte for byte.
        let input = pipeline.resized(image, scale: config.scale)
        var nchw = [UInt8](repeating: 0, count: input.pixels.count)
        let hw = input.width * input.height
        for i in 0..<hw { for c in 0..<3 { nchw[c * hw + i] = input.pixels[i * 3 + c] } }
        XCTAssertEqual(sha256Hex(nchw), try manifestFile(dir, "input_u8.bin")["sha256_bin"] as? String, "\(dir) input")

        let out = pipeline(image)
        for (name, t) in [("seg_logits_grid", out.modelSizeLogits!), ("seg_logits_ori_grid", out.scores)] {
            let want = try Fixtures.npy("\(dir)/\(name).npy")
            let got = grid(t)
            XCTAssertEqual(got.count, want.values.count, name)
            XCTAssertLessThanOrEqual(maxAbsDifference(got, want.values), 5e-5 * maxAbs(want.values), "\(dir) \(name) reparam=\(reparameterize)")
        }
        for (file, labels) in [("label_model_size.png", argmaxChannels(out.modelSizeLogits!)), ("label.png", out.labels)] {
            let want = try Image.readLabelMap(Fixtures.path("\(dir)/\(file)"))
            XCTAssertEqual(labels.count, want.pixels.count)
            let differing = zip(labels, want.pixels).filter { Int($0) != Int($1) }.count
            XCTAssertLessThanOrEqual(Double(differing), 1e-4 * Double(labels.count), "\(dir) \(file): \(differing) pixels differ")
        }
    }

    func testWholeInferenceMatchesMMSeg() throws {
        try check("dev-seg-ade-whole", mode: .whole, reparameterize: true)
    }

    func testWholeInferenceUnmergedMatchesMMSeg() throws {
        try check("dev-seg-ade-whole", mode: .whole, reparameterize: false)
    }

    func testSlideInferenceMatchesMMSeg() throws {
        try check("dev-seg-ade-slide", mode: .slide(crop: (512, 512), stride: (341, 341)), reparameterize: true)
    }

    func testMissingAuxiliaryHeadIsFineButForeignKeysAreNot() throws {
        var sd = try Self.stateDict()
        for k in sd.keys where k.hasPrefix("auxiliary_head.") { sd.remove(k) }
        XCTAssertNoThrow(try Segmenter(stateDict: sd, file: "x", alignCorners: false))
        sd.insert("neck.lateral_convs.0.conv.weight", WeightTensor(shape: [1], values: [0]))
        XCTAssertThrowsError(try Segmenter(stateDict: sd, file: "x", alignCorners: false)) {
            XCTAssertTrue("\($0)".contains("neck.lateral_convs.0.conv.weight"), "\($0)")
        }
    }

    func testKeepRatioRescaleFollowsMMCV() {
        XCTAssertEqual(rescaleSize(width: 341, height: 256, scale: (2048, 512)).width, 682)
        XCTAssertEqual(rescaleSize(width: 2048, height: 1024, scale: (2049, 1025)).width, 2049)
        XCTAssertEqual(rescaleSize(width: 2048, height: 1024, scale: (2049, 1025)).height, 1025)
        XCTAssertEqual(rescaleSize(width: 320, height: 240, scale: (1024, 256)).width, 341)
    }
}
