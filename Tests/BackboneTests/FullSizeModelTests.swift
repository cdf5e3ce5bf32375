import Foundation
import XCTest
import RepLKBackbone
import RepLKEngine
import TestSupport
import RepLKWeights

/// RepLKNet-31B at full size with random weights: the key set and shapes of the official model
/// (Tests/Fixtures/keys-31B.txt), its parameter counts, and one 224×224 forward pass.
final class FullSizeModelTests: XCTestCase {
    func testRepLKNet31BBuildsRunsAndCountsParameters() throws {
        let text = try String(contentsOfFile: Fixtures.path("keys-31B.txt"), encoding: .utf8)
        var sd = StateDict()
        var rng: UInt64 = 42
        func next() -> Float {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: rng >> 11) % 2001 - 1000) / 1000
        }
        var tensorParams = 0
        // The un-merged listing ends where the "after structural_reparam()" section begins.
        let unmerged = text.components(separatedBy: "# ---- after structural_reparam()")[0]
        for line in unmerged.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: "\t")
            guard f.count == 3, f[2] == "float32" else { continue }
            let shape = f[1].dropFirst().dropLast().split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! }
            let n = shape.reduce(1, *)
            let key = String(f[0])
            var values = [Float](repeating: 0, count: n)
            if key.hasSuffix("running_var") {
                for i in 0..<n { values[i] = 1 + 0.5 * abs(next()) }
            } else {
                // Small weights keep 36 residual blocks finite.
                let scale: Float = key.hasSuffix(".weight") && shape.count == 4 ? 1 / Float(shape[1] * shape[2] * shape[3]) : 0.1
                for i in 0..<n { values[i] = next() * scale }
            }
            if !key.hasSuffix("running_mean") && !key.hasSuffix("running_var") { tensorParams += n }
            sd.insert(key, WeightTensor(shape: shape, values: values))
        }
        XCTAssertEqual(tensorParams, 79_864_168)
        let config = try RepLKNetConfig.infer(from: sd, file: "random-31B")
        XCTAssertEqual(config.name, "RepLKNet-31B")
        XCTAssertEqual(config.parameterCount(merged: false), 79_864_168)
        XCTAssertEqual(config.parameterCount(merged: true), 79_527_272)

        let model = try RepLKNet(stateDict: sd, file: "random-31B")
        var x = Tensor(zeros: [1, 224, 224, 3])
        x.withUnsafeMutableBufferPointer { for i in 0..<$0.count { $0[i] = next() } }
        let out = model.forwardFeatures(x)
        XCTAssertEqual(out.stages.map(\.shape), [[1, 56, 56, 128], [1, 28, 28, 256], [1, 14, 14, 512], [1, 7, 7, 1024]])
        let logits = model.logits(x)
        XCTAssertEqual(logits.shape, [1, 1000])
        XCTAssertTrue(logits.scalars.allSatisfy { $0.isFinite })
    }
}
