import Foundation
import XCTest
import TestSupport

/// The decoders' pixel limit (Pillow's 2 × 89,478,485 unless `REPLK_MAX_IMAGE_PIXELS` says
/// otherwise) as the tools apply it.
final class ImageLimitTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")

    func testMalformedPixelLimitIsRefusedOnceWithExitTwo() throws {
        for tool in ["replk-cls", "replk-seg", "replk-det", "replk-eval"] {
            let r = try Tools.run(tool, ["--help"], environment: ["REPLK_MAX_IMAGE_PIXELS": "12x"])
            XCTAssertEqual(r.status, 2, "\(tool): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("\(tool): error: REPLK_MAX_IMAGE_PIXELS=12x"), r.stderr)
        }
    }

    func testImageAboveALoweredLimitIsAOneLineErrorNamingTheFile() throws {
        let folder = demo + "/imagenet/val"
        let cls = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()[0]
        let image = folder + "/" + cls + "/" + (try FileManager.default.contentsOfDirectory(atPath: folder + "/" + cls).sorted()[0])
        let r = try Tools.run("replk-cls", ["infer", "--checkpoint", demo + "/cls/replknet_shapes_cls.pth", image],
                              environment: ["REPLK_MAX_IMAGE_PIXELS": "100"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(image) && r.stderr.contains("100"), r.stderr)
        // Raised (or left at the default), the same image decodes.
        let ok = try Tools.run("replk-cls", ["infer", "--checkpoint", demo + "/cls/replknet_shapes_cls.pth", image],
                               environment: ["REPLK_MAX_IMAGE_PIXELS": "1000000000"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }
}
