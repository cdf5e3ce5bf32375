import XCTest
import RepLKBackbone
import RepLKEngine
import TestSupport
import RepLKWeights

/// dev-cls-a / dev-cls-b: outputs of the official replknet.py (see Tests/Fixtures/dev-cls-*/manifest.json).
final class ClassificationFixtureTests: XCTestCase {
    static let unmerged = Fixtures.path("dev-cls-a/model.pth")
    static let merged = Fixtures.path("dev-cls-a/model_reparam.pth")

    func load(_ path: String, reparameterize: Bool) throws -> RepLKNet {
        let sd = try Checkpoint(path: path).stateDict()
        return try RepLKNet(stateDict: sd, file: path, options: RepLKNetOptions(reparameterize: reparameterize))
    }

    func input(_ dir: String) throws -> Tensor {
        let x = try Fixtures.npy(dir + "/input.npy")
        return x.values.withUnsafeBufferPointer {
            Tensor.fromNCHW($0, n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3])
        }
    }

    /// Logits within 5e-5 absolute and stage features within 2e-5·max|expected| (the fixture README's bounds).
    func assertMatches(_ model: RepLKNet, case dir: String, suffix: String, line: UInt = #line) throws {
        let x = try input(dir)
        let out = model.forwardFeatures(x)
        for (i, f) in out.stages.enumerated() {
            let want = try Fixtures.npy("\(dir)/feat\(i)\(suffix).npy")
            XCTAssertEqual([f.batch, f.channels, f.height, f.width], want.shape, "feat\(i)", line: line)
            let err = maxAbsDifference(f.toNCHW(), want.values)
            XCTAssertLessThanOrEqual(err, 2e-5 * maxAbs(want.values), "\(dir) feat\(i)\(suffix)", line: line)
        }
        let logits = model.logits(x)
        let want = try Fixtures.npy("\(dir)/logits\(suffix).npy")
        XCTAssertEqual(logits.shape, want.shape, line: line)
        XCTAssertLessThanOrEqual(maxAbsDifference(logits.scalars, want.values), 5e-5, "\(dir) logits\(suffix)", line: line)
    }

    func testConfigurationIsInferredFromShapes() throws {
        let sd = try Checkpoint(path: Self.unmerged).stateDict()
        let c = try RepLKNetConfig.infer(from: sd, file: Self.unmerged)
        XCTAssertEqual(c.channels, [32, 64, 128, 256])
        XCTAssertEqual(c.layers, [2, 2, 2, 2])
        XCTAssertEqual(c.largeKernels, [31, 29, 27, 13])
        XCTAssertEqual(c.smallKernel, 5)
        XCTAssertEqual(c.dwRatio, 1)
        XCTAssertEqual(c.ffnRatio, 4)
        XCTAssertEqual(c.numClasses, 10)
        XCTAssertFalse(c.checkpointMerged)
        XCTAssertFalse(c.normIntermediateFeatures)
        XCTAssertEqual(c.parameterCount(merged: false), 2_282_858)   // manifest num_params
        let m = try RepLKNetConfig.infer(from: try Checkpoint(path: Self.merged).stateDict(), file: Self.merged)
        XCTAssertTrue(m.checkpointMerged)
        XCTAssertEqual(m.parameterCount(merged: true), c.parameterCount(merged: true))
    }

    func testUnmergedCheckpointReparameterizedMatchesOfficialOutputs() throws {
        try assertMatches(try load(Self.unmerged, reparameterize: true), case: "dev-cls-a", suffix: "")
    }

    func testUnmergedCheckpointRunAsTrainedMatchesOfficialOutputs() throws {
        try assertMatches(try load(Self.unmerged, reparameterize: false), case: "dev-cls-a", suffix: "")
    }

    func testMergedCheckpointMatchesOfficialReparamOutputs() throws {
        try assertMatches(try load(Self.merged, reparameterize: true), case: "dev-cls-a", suffix: "_reparam")
        try assertMatches(try load(Self.merged, reparameterize: false), case: "dev-cls-a", suffix: "_reparam")
    }

    /// A model built for one thread keeps that configuration's pool (convs and the ops between
    /// them) and still gives the official outputs, merged and run as trained (separate BNs).
    func testModelBuiltForOneThreadRunsOnItsOwnPoolAndMatchesOfficialOutputs() throws {
        let sd = try Checkpoint(path: Self.unmerged).stateDict()
        for reparameterize in [true, false] {
            let options = RepLKNetOptions(reparameterize: reparameterize, engine: EngineConfiguration(threads: 1))
            let model = try RepLKNet(stateDict: sd, file: Self.unmerged, options: options)
            XCTAssertEqual(model.options.engine.threads, 1)
            XCTAssertEqual(model.pool.threadCount, 1)
            try assertMatches(model, case: "dev-cls-a", suffix: "")
        }
    }

    func testBatchOfTwoNonSquareImages() throws {
        // dev-cls-b uses the same weights (manifest: identical_to ../dev-cls-a/model.pth).
        try assertMatches(try load(Self.unmerged, reparameterize: true), case: "dev-cls-b", suffix: "")
        try assertMatches(try load(Self.unmerged, reparameterize: false), case: "dev-cls-b", suffix: "")
        let logits = try load(Self.unmerged, reparameterize: true).logits(try input("dev-cls-b"))
        let want = try Fixtures.npy("dev-cls-b/logits_reparam.npy")
        XCTAssertLessThanOrEqual(maxAbsDifference(logits.scalars, want.values), 5e-5)
    }

    func testExportedMergedWeightsUseOfficialKeysAndReproduceReparamOutputs() throws {
        let sd = try Checkpoint(path: Self.unmerged).stateDict()
        let merged = try StructuralReparam.merge(sd, file: Self.unmerged)
        let official = try Checkpoint(path: Self.merged).stateDict()
        XCTAssertEqual(merged.map(\.name), official.keys)
        for t in merged { XCTAssertEqual(t.shape, official[t.name]!.shape, t.name) }
        let out = Fixtures.temporaryDirectory() + "/deploy.safetensors"
        try SafeTensors.write(merged, to: out)
        try assertMatches(try load(out, reparameterize: true), case: "dev-cls-a", suffix: "_reparam")
    }
}
