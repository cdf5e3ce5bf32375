import Foundation
import XCTest
import TestSupport
import RepLKWeights

final class CheckpointFormatTests: XCTestCase {
    let dir = "checkpoint-forms/"

    func expected() throws -> [String: (shape: [Int], values: [Float])] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(dir + "expected.json")))
        let obj = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        return obj.mapValues { ($0["shape"] as! [Int], ($0["values"] as! [Double]).map(Float.init)) }
    }

    func assertHoldsTinyStateDict(_ sd: StateDict, file: String, scale: Float = 1, line: UInt = #line) throws {
        let want = try expected()
        XCTAssertEqual(Set(sd.keys), Set(want.keys), "keys of \(file)", line: line)
        for (k, e) in want {
            guard let t = sd[k] else { continue }
            XCTAssertEqual(t.shape, e.shape, k, line: line)
            let v = try t.floats(file: file, key: k)
            XCTAssertEqual(v, e.values.map { $0 * scale }, "\(k) of \(file)", line: line)
        }
    }

    func testZipStateDictWithViewsAndMixedDTypes() throws {
        let ck = try Checkpoint(path: Fixtures.path(dir + "plain.pth"))
        XCTAssertEqual(ck.format, .torchZip)
        try assertHoldsTinyStateDict(try ck.stateDict(), file: "plain.pth")
    }

    func testModelWrapperWithArgparseNamespaceAndArchiveFolder() throws {
        let ck = try Checkpoint(path: Fixtures.path(dir + "wrapped_model.pth"))
        try assertHoldsTinyStateDict(try ck.stateDict(), file: "wrapped_model.pth")
        guard case let .object(args)? = ck.root?.dict?["args"] else { return XCTFail("args should be an inert object") }
        XCTAssertEqual(args.className, "argparse.Namespace")
    }

    func testStateDictWrapperWithMetaAndDDPPrefix() throws {
        let ck = try Checkpoint(path: Fixtures.path(dir + "wrapped_state_dict_ddp.pth"))
        try assertHoldsTinyStateDict(try ck.stateDict(), file: "wrapped_state_dict_ddp.pth")
        XCTAssertEqual(ck.meta?["config"]?.string, "model = dict()")
    }

    func testEMAWeightsAreChosenOnRequest() throws {
        let ck = try Checkpoint(path: Fixtures.path(dir + "with_ema.pth"))
        try assertHoldsTinyStateDict(try ck.stateDict(.model), file: "with_ema.pth")
        try assertHoldsTinyStateDict(try ck.stateDict(.ema), file: "with_ema.pth", scale: 2)
        let plain = try Checkpoint(path: Fixtures.path(dir + "plain.pth"))
        XCTAssertThrowsError(try plain.stateDict(.ema))
    }

    func testLegacyStreamFormat() throws {
        let ck = try Checkpoint(path: Fixtures.path(dir + "legacy.pth"))
        XCTAssertEqual(ck.format, .torchLegacy)
        try assertHoldsTinyStateDict(try ck.stateDict(), file: "legacy.pth")
    }

    func testSafetensorsReadAndWriteRoundTrip() throws {
        let ck = try Checkpoint(path: Fixtures.path(dir + "tiny.safetensors"))
        XCTAssertEqual(ck.format, .safetensors)
        let sd = try ck.stateDict()
        try assertHoldsTinyStateDict(sd, file: "tiny.safetensors")
        let out = Fixtures.temporaryDirectory() + "/copy.safetensors"
        try SafeTensors.write(sd.keys.map { ($0, sd[$0]!.shape, try! sd[$0]!.floats(file: "", key: $0)) },
                              metadata: ["format": "pt"], to: out)
        try assertHoldsTinyStateDict(try Checkpoint(path: out).stateDict(), file: out)
    }

    func testNPYReadAndWrite() throws {
        XCTAssertEqual(try Fixtures.npy(dir + "f4.npy").values, [0, 1, 2, 3, 4, 5])
        let f8 = try Fixtures.npy(dir + "f8_fortran.npy")
        XCTAssertEqual(f8.shape, [2, 3])
        XCTAssertEqual(f8.values, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try Fixtures.npy(dir + "i8.npy").values, [-1, 2, 3, 4])
        let out = Fixtures.temporaryDirectory() + "/a.npy"
        try NPY.write(path: out, shape: [3, 1], values: [1.5, -2, 7])
        let back = try NPY.read(path: out)
        XCTAssertEqual(back.shape, [3, 1])
        XCTAssertEqual(back.values, [1.5, -2, 7])
    }

    func testPickleNamingOSSystemIsRefusedWithoutRunningIt() {
        unlink("/tmp/replk-pwned")
        XCTAssertThrowsError(try Checkpoint(path: Fixtures.path(dir + "hostile_os_system.pth"))) { error in
            XCTAssertEqual(error as? WeightsError, .forbiddenGlobal(file: Fixtures.path(dir + "hostile_os_system.pth"), global: "os.system"))
            XCTAssertTrue("\(error)".contains("os.system"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/replk-pwned"))
    }

    func testTruncatedCheckpointIsAnErrorNotACrash() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("dev-cls-a/model.pth")))
        let tmp = Fixtures.temporaryDirectory()
        for cut in [bytes.count / 2, bytes.count - 10, 100, 3] {
            let path = tmp + "/cut\(cut).pth"
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try Checkpoint(path: path).stateDict(), "cut at \(cut)") { error in
                XCTAssertTrue("\(error)".hasPrefix(path + ":"), "\(error)")
            }
        }
    }

    func testUnreadableAndForeignFilesAreReported() throws {
        XCTAssertThrowsError(try Checkpoint(path: "/nonexistent/model.pth")) { error in
            XCTAssertEqual("\(error)", "/nonexistent/model.pth: cannot read: No such file or directory")
        }
        let tmp = Fixtures.temporaryDirectory()
        let text = tmp + "/notes.pth"
        try "hello".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Checkpoint(path: text)) { XCTAssertTrue("\($0)".contains("not a PyTorch checkpoint")) }
        XCTAssertThrowsError(try Checkpoint(path: tmp)) { XCTAssertTrue("\($0)".contains("is a directory")) }
    }

    func testPickleMachineRejectsExtensionOpcodesAndBoundsTheStack() throws {
        XCTAssertThrowsError(try Pickle.load([0x80, 0x02, 0x82, 0x01, 0x2E], file: "x")) {
            XCTAssertTrue("\($0)".contains("EXT"))
        }
        XCTAssertThrowsError(try Pickle.load([0x80, 0x02, 0x68, 0x05, 0x2E], file: "x")) {
            XCTAssertTrue("\($0)".contains("memo"))
        }
        XCTAssertThrowsError(try Pickle.load([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F], file: "x")) {
            XCTAssertTrue("\($0)".contains("truncated"))
        }
        // INST names a class by text; a dangerous one is refused like GLOBAL.
        XCTAssertThrowsError(try Pickle.load(Array("(ibuiltins\neval\n.".utf8), file: "x")) {
            XCTAssertTrue("\($0)".contains("builtins.eval"))
        }
        guard case let .dict(d) = try Pickle.load([0x80, 0x02, 0x7D, 0x58, 1, 0, 0, 0, 0x61, 0x4B, 7, 0x73, 0x2E], file: "x") else {
            return XCTFail("expected a dict")
        }
        XCTAssertEqual(d["a"]?.int, 7)
    }
}
