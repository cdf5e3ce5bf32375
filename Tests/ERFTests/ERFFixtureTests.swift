import Foundation
import XCTest
import RepLKBackbone
import RepLKEngine
import RepLKERF
import RepLKImaging
import TestSupport
import RepLKWeights

/// dev-erf-a (Tests/Fixtures/erf/manifest.json): the official erf/visualize_erf.py and
/// erf/analyze_erf.py on the dev-cls-a model, four 256² images.
final class ERFFixtureTests: XCTestCase {
    static let unmerged = Fixtures.path("dev-cls-a/model.pth")
    static let merged = Fixtures.path("dev-cls-a/model_reparam.pth")
    /// The manifest's table.
    static let sides = [75, 99, 145, 253]
    static let ratios = [0.0858306884765625, 0.1495513916015625, 0.3208160400390625, 0.9766998291015625]

    func model(_ path: String, reparameterize: Bool) throws -> ERFModel {
        try ERFModel(stateDict: try Checkpoint(path: path).stateDict(), file: path,
                     options: ERFModelOptions(reparameterize: reparameterize))
    }

    func inputs() throws -> [Tensor] {
        let x = try Fixtures.npy("erf/input.npy")
        XCTAssertEqual(x.shape, [4, 3, 256, 256])
        let per = 3 * 256 * 256
        return (0..<4).map { i in
            x.values.withUnsafeBufferPointer {
                Tensor.fromNCHW(UnsafeBufferPointer(rebasing: $0[(i * per)..<((i + 1) * per)]), n: 1, c: 3, h: 256, w: 256)
            }
        }
    }

    /// The map within 1e-3 × max of erf_mean.npy, the sides equal and the ratios equal to 1e-12.
    func assertMatchesOfficial(_ mean: [Float], _ label: String, line: UInt = #line) throws {
        let want = try Fixtures.npy("erf/erf_mean.npy")
        let err = maxAbsDifference(mean, want.values), top = maxAbs(want.values)
        XCTAssertLessThanOrEqual(err, 1e-3 * top, "\(label): max |diff| \(err), max \(top)", line: line)
        print("\(label): map max |diff| / max = \(err / top)")
        let table = ERFAnalysis.areaRatios(normalised: ERFAnalysis.normalised(mean), height: 256, width: 256)
        XCTAssertEqual(table.map(\.side), Self.sides, label, line: line)
        for (r, want) in zip(table, Self.ratios) { XCTAssertEqual(r.areaRatio ?? .nan, want, accuracy: 1e-12, label, line: line) }
        XCTAssertEqual(table.map(\.thresh), [0.2, 0.3, 0.5, 0.99], line: line)
    }

    func testTensorRouteMatchesOfficialMapMergedUnmergedAndMergedCheckpoint() throws {
        let xs = try inputs()
        for (path, reparam, label) in [(Self.unmerged, true, "model.pth re-parameterised"), (Self.unmerged, false, "model.pth un-merged"),
                                       (Self.merged, true, "model_reparam.pth")] {
            let m = try model(path, reparameterize: reparam)
            var acc = ERFAccumulator(height: 256, width: 256)
            for x in xs { XCTAssertTrue(acc.add(m.contributionMap(x))) }
            XCTAssertEqual(acc.count, 4)
            try assertMatchesOfficial(acc.mean, label)
        }
    }

    func testMergedAndUnmergedNetworksHaveTheSameInputGradient() throws {
        let x = try inputs()[1]
        let a = try model(Self.unmerged, reparameterize: true).inputGradient(x).scalars
        let b = try model(Self.unmerged, reparameterize: false).inputGradient(x).scalars
        let err = maxAbsDifference(a, b), top = maxAbs(b)
        print("merged vs un-merged input gradient: max |diff| / max = \(err / top)")
        XCTAssertLessThanOrEqual(err, 1e-4 * top)
    }

    func testForwardFeaturesEqualTheInferenceBackbone() throws {
        let x = try inputs()[0]
        let sd = try Checkpoint(path: Self.unmerged).stateDict()
        let net = try RepLKNet(stateDict: sd, file: Self.unmerged)
        let want = net.forwardFeatures(x).last.scalars
        let got = try model(Self.unmerged, reparameterize: false).forwardFeatures(x).scalars
        XCTAssertLessThanOrEqual(maxAbsDifference(got, want), 1e-4 * maxAbs(want))
    }

    func testImageRouteDecodesAndResizesAsTorchvision() throws {
        // The four images of the fixture, decoded and resized as visualize_erf.py does, equal input.npy.
        let xs = try inputs()
        let pre = ERFPreprocess(inputSize: 256)
        for (i, x) in xs.enumerated() {
            let path = Fixtures.path("../../Datasets/Demo/imagenet/val/circle/circle_000\(i + 1).jpg")
            let got = pre(try Image(contentsOf: path)).scalars
            XCTAssertLessThanOrEqual(maxAbsDifference(got, x.scalars), 1e-6, path)
        }
    }

    func testAnalysisOfOfficialMapEqualsOfficialTable() throws {
        let mean = try Fixtures.npy("erf/erf_mean.npy")
        let norm = ERFAnalysis.normalised(mean.values)
        let want = try Fixtures.npy("erf/erf_normalised.npy")
        XCTAssertLessThanOrEqual(maxAbsDifference(norm, want.values), 1e-6)
        let table = ERFAnalysis.areaRatios(normalised: norm, height: 256, width: 256)
        XCTAssertEqual(table.map(\.side), Self.sides)
        XCTAssertEqual(table.map { $0.areaRatio! }, Self.ratios)
    }

    func testAreaRatioIsNoneWhenNoSquareSmallerThanTheMapHoldsTheShare() {
        // All mass in a corner: no centred square below the full map holds 99 %.
        var map = [Float](repeating: 0, count: 15 * 15)
        map[0] = 1
        map[7 * 15 + 7] = 1
        let t = ERFAnalysis.areaRatios(normalised: map, height: 15, width: 15, thresholds: [0.4, 0.99])
        XCTAssertEqual(t[0].side, 3)
        XCTAssertEqual(t[0].areaRatio, 3.0 / 15 * 3 / 15)   // Python's (side / h) * side / w, not 9/225
        XCTAssertNil(t[1].side)
    }

    func testAccumulatorSkipsNaNMapsAndAveragesInFloat32() {
        var acc = ERFAccumulator(height: 1, width: 2)
        XCTAssertTrue(acc.add([1, 2]))
        XCTAssertFalse(acc.add([.nan, 1]))
        XCTAssertTrue(acc.add([2, 2]))
        XCTAssertEqual(acc.count, 2)
        XCTAssertEqual(acc.mean, [1.5, 2])
    }

    func testStageNormOfAnMMSegBackboneScalesTheGradient() throws {
        // dev-cls-a's backbone under `backbone.` with norm_intermediate_features' stage norms: BN with
        // weight 2, bias 0, mean 0 and var 1 − eps doubles the output, the same channels stay
        // positive at the centre, so --stage-norm doubles the input gradient.
        let sd = try Checkpoint(path: Self.unmerged).stateDict()
        var mm = StateDict()
        for k in sd.keys where !k.hasPrefix("head.") && !k.hasPrefix("norm.") { mm.insert("backbone." + k, sd[k]!) }
        for (i, c) in [32, 64, 128, 256].enumerated() {
            let p = "backbone.stages.\(i).norm."
            mm.insert(p + "weight", WeightTensor(shape: [c], values: [Float](repeating: 2, count: c)))
            mm.insert(p + "bias", WeightTensor(shape: [c], values: [Float](repeating: 0, count: c)))
            mm.insert(p + "running_mean", WeightTensor(shape: [c], values: [Float](repeating: 0, count: c)))
            mm.insert(p + "running_var", WeightTensor(shape: [c], values: [Float](repeating: 1 - 1e-5, count: c)))
        }
        let x = try inputs()[2]
        let plain = try ERFModel(stateDict: mm, file: "mmseg").inputGradient(x).scalars
        let normed = try ERFModel(stateDict: mm, file: "mmseg", options: ERFModelOptions(stageNorm: true)).inputGradient(x).scalars
        XCTAssertLessThanOrEqual(maxAbsDifference(normed, plain.map { 2 * $0 }), 1e-5 * maxAbs(normed))
        XCTAssertGreaterThan(maxAbs(plain), 0)
        // Without stage norms in the checkpoint, --stage-norm is an error naming the key.
        XCTAssertThrowsError(try ERFModel(stateDict: sd, file: "cls", options: ERFModelOptions(stageNorm: true))) {
            XCTAssertTrue("\($0)".contains("stages.3.norm"), "\($0)")
        }
    }

    func testDownstreamCheckpointsUseTheirBackbone() throws {
        let demo = Fixtures.path("../../Datasets/Demo")
        let x = Tensor(shape: [1, 64, 64, 3], repeating: 0.1)
        for path in [demo + "/seg/upernet_replknet_shapes_ade.pth", demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth"] {
            let m = try ERFModel(stateDict: try Checkpoint(path: path).stateDict(), file: path)
            let g = m.inputGradient(x)
            XCTAssertEqual(g.shape, [1, 64, 64, 3], path)
            XCTAssertFalse(g.scalars.contains { $0.isNaN }, path)
        }
    }
}
