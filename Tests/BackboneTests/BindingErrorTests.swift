import XCTest
import RepLKBackbone
import TestSupport
import RepLKWeights
import RepLKEngine

final class BindingErrorTests: XCTestCase {
    let path = Fixtures.path("dev-cls-a/model.pth")

    func stateDict() throws -> StateDict { try Checkpoint(path: path).stateDict() }

    func testMissingKeyNamesTheKey() throws {
        var sd = try stateDict()
        sd.remove("stages.1.blocks.2.pw2.bn.running_var")
        XCTAssertThrowsError(try RepLKNet(stateDict: sd, file: path)) { error in
            XCTAssertEqual(error as? WeightsError, .missingKey(file: path, key: "stages.1.blocks.2.pw2.bn.running_var", expectedShape: [64]))
        }
    }

    func testMisShapedKeyNamesBothShapes() throws {
        var sd = try stateDict()
        sd.insert("stages.0.blocks.0.pw1.conv.weight", WeightTensor(shape: [32, 16, 1, 1], values: .init(repeating: 0, count: 512)))
        XCTAssertThrowsError(try RepLKNet(stateDict: sd, file: path)) { error in
            XCTAssertEqual("\(error)", "\(path): key 'stages.0.blocks.0.pw1.conv.weight' has shape [32, 16, 1, 1], expected [32, 32, 1, 1]")
        }
    }

    func testUnusedKeyIsAnError() throws {
        var sd = try stateDict()
        sd.insert("stages.0.blocks.0.extra.weight", WeightTensor(shape: [3], values: [1, 2, 3]))
        XCTAssertThrowsError(try RepLKNet(stateDict: sd, file: path)) { error in
            XCTAssertEqual(error as? WeightsError, .unusedKeys(file: path, keys: ["stages.0.blocks.0.extra.weight"]))
        }
    }

    /// Configuration inference indexed shape[0] and force-unwrapped shape.last of whatever tensor
    /// it found, and divided by channel counts read off shapes.
    func testRankZeroOrEmptyTensorsInConfigKeysAreNamedInTheError() throws {
        let cases: [(key: String, shape: [Int], problem: String)] = [
            ("stem.0.conv.weight", [], "expected rank 4"),
            ("stages.0.blocks.0.prelkb_bn.weight", [], "expected rank 1"),
            ("stages.0.blocks.0.large_kernel.lkb_origin.conv.weight", [], "expected rank 4"),
            ("stages.1.blocks.0.large_kernel.small_conv.conv.weight", [], "expected rank 4"),
            ("stages.2.blocks.0.pw1.conv.weight", [], "expected rank 4"),
            ("stages.3.blocks.1.pw1.conv.weight", [1024], "expected rank 4"),
            ("head.weight", [], "expected rank 2"),
            ("stages.0.blocks.0.prelkb_bn.weight", [0], "with a zero size"),
            ("stages.1.blocks.0.pw1.conv.weight", [0, 64, 1, 1], "with a zero size"),
        ]
        for c in cases {
            var sd = try stateDict()
            sd.insert(c.key, WeightTensor(shape: c.shape, values: .init(repeating: 0, count: c.shape.reduce(1, *))))
            XCTAssertThrowsError(try RepLKNet(stateDict: sd, file: path), c.key) { error in
                XCTAssertEqual("\(error)", "\(path): key '\(c.key)' has shape \(c.shape), \(c.problem)")
            }
        }
    }

    /// Re-parameterisation centres the small kernel in the large one; one that cannot be centred
    /// stopped the process in padKernel.
    func testSmallKernelThatCannotBeCentredIsAnError() throws {
        var sd = try stateDict()
        for (stage, d) in [32, 64, 128, 256].enumerated() {
            sd.insert("stages.\(stage).blocks.0.large_kernel.small_conv.conv.weight",
                      WeightTensor(shape: [d, 1, 6, 6], values: .init(repeating: 0, count: d * 36)))
        }
        XCTAssertThrowsError(try RepLKNet(stateDict: sd, file: path)) { error in
            XCTAssertEqual("\(error)", "\(path): a 6×6 small kernel cannot be centred in a 31×31 large kernel")
        }
    }

    func testCheckpointOfAnotherModelIsRejected() throws {
        let other = Fixtures.path("checkpoint-forms/plain.pth")
        XCTAssertThrowsError(try RepLKNet(stateDict: try Checkpoint(path: other).stateDict(), file: other)) { error in
            XCTAssertTrue("\(error)".contains("not a RepLKNet checkpoint"), "\(error)")
        }
    }
}

final class DownstreamBackboneTests: XCTestCase {
    /// `stages.i.norm` (XL downstream) normalises the features handed to the heads, not the tensor
    /// that continues to the next stage.
    func testNormIntermediateFeaturesAppliesStageNormsToOutputsOnly() throws {
        let path = Fixtures.path("dev-cls-a/model.pth")
        var sd = try Checkpoint(path: path).stateDict()
        for k in sd.keys where k.hasPrefix("norm.") || k.hasPrefix("head.") { sd.remove(k) }
        let plain = try RepLKNet(stateDict: sd, file: path)
        XCTAssertFalse(plain.hasHead)
        let widths = [32, 64, 128, 256]
        for (i, c) in widths.enumerated() {
            sd.insert("stages.\(i).norm.weight", WeightTensor(shape: [c], values: (0..<c).map { 1 + Float($0) / 100 }))
            sd.insert("stages.\(i).norm.bias", WeightTensor(shape: [c], values: (0..<c).map { Float($0) / 50 - 0.3 }))
            sd.insert("stages.\(i).norm.running_mean", WeightTensor(shape: [c], values: .init(repeating: 0.25, count: c)))
            sd.insert("stages.\(i).norm.running_var", WeightTensor(shape: [c], values: .init(repeating: 4, count: c)))
        }
        let normed = try RepLKNet(stateDict: sd, file: path)
        XCTAssertTrue(normed.config.normIntermediateFeatures)
        let x = try Fixtures.npy("dev-cls-a/input.npy")
        let input = x.values.withUnsafeBufferPointer { Tensor.fromNCHW($0, n: 1, c: 3, h: 224, w: 224) }
        let a = plain.features(input), b = normed.features(input)
        for (i, c) in widths.enumerated() {
            let raw = a[i].scalars, got = b[i].scalars
            var err: Float = 0
            for j in 0..<raw.count {
                let ch = j % c
                let want = (raw[j] - 0.25) / Float(4 + 1e-5).squareRoot() * (1 + Float(ch) / 100) + (Float(ch) / 50 - 0.3)
                err = max(err, abs(got[j] - want))
            }
            XCTAssertLessThan(err, 1e-4, "stage \(i)")
        }
    }
}
