import Foundation
import XCTest
import TestSupport
import RepLKWeights

/// Replays Tests/Fixtures/fuzz-regressions/fuzz-{pth,legacy-pth,safetensors,npy} through the entry
/// points of the fuzz targets (Tests/Fuzz/Sources/...): a crash here is a crash the fuzzers found;
/// refused-* inputs must be refused in one line naming the file, never read.
final class FuzzRegressionTests: XCTestCase {
    /// What fuzz-pth and fuzz-legacy-pth do: parse, take both state dicts, read every tensor.
    func readCheckpoint(_ input: FuzzRegressions.Input) throws {
        let checkpoint = try Checkpoint(bytes: input.bytes, name: input.path)
        for variant in [StateDictVariant.model, .ema] {
            let sd = try checkpoint.stateDict(variant)
            for key in sd.keys { _ = try sd[key]!.floats(file: input.path, key: key) }
        }
    }

    func testPthRegressionInputsAreRefusedInOneLineNamingTheFile() throws {
        try FuzzRegressions.replay("fuzz-pth") { input in
            if input.bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
                try readCheckpoint(input)
            } else {
                _ = try Pickle.load(input.bytes, file: input.path)
            }
        }
    }

    func testLegacyPthRegressionInputsAreRefusedInOneLineNamingTheFile() throws {
        try FuzzRegressions.replay("fuzz-legacy-pth", readCheckpoint)
    }

    func testSafetensorsRegressionInputsAreRefusedInOneLineNamingTheFile() throws {
        try FuzzRegressions.replay("fuzz-safetensors") { input in
            let sd = try SafeTensors.read(bytes: input.bytes, name: input.path)
            for key in sd.keys { _ = try sd[key]!.floats(file: input.path, key: key) }
            try readCheckpoint(input)
        }
    }

    func testNPYRegressionInputsAreRefusedInOneLineNamingTheFile() throws {
        try FuzzRegressions.replay("fuzz-npy") { input in
            let (shape, values) = try NPY.read(bytes: input.bytes, name: input.path)
            XCTAssertEqual(shape.reduce(1, *), values.count, input.name)
        }
    }
}
