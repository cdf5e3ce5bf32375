import XCTest
import Backbone
import TestSupport
import Weights

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

    func testCheckpointOfAnotherModelIsRejected() throws {
        let other = Fixtures.path("checkpoint-forms/plain.pth")
        XCTAssertThrowsError(try RepLKNet(stateDict: try Checkpoint(path: other).stateDict(), file: other)) { error in
            XCTAssertTrue("\(error)".contains("not a RepLKNet checkpoint"), "\(error)")
        }
    }
}
