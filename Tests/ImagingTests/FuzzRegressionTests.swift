import Foundation
import XCTest
import RepLKImaging
import TestSupport

/// Replays Tests/Fixtures/fuzz-regressions/fuzz-{png,jpeg} through the decoders the fuzz targets
/// call, at the tools' default pixel limit (Pillow's): refused-* inputs must be refused in one line
/// naming the file by every entry point that reads them.
final class FuzzRegressionTests: XCTestCase {
    let limits = ImageLimits()

    func testPNGRegressionInputsAreRefusedInOneLineNamingTheFile() throws {
        try FuzzRegressions.replay("fuzz-png") { input in
            let img = try Image(data: input.bytes, name: input.path, limits: limits)
            XCTAssertEqual(img.pixels.count, img.width * img.height * 3, input.name)
        }
        try FuzzRegressions.replay("fuzz-png") { input in
            let map = try Image.readLabelMap(input.path, limits: limits)
            XCTAssertEqual(map.pixels.count, map.width * map.height * map.channels, input.name)
        }
        try FuzzRegressions.replay("fuzz-png") { input in
            let map = try Map16(contentsOf: input.path, limits: limits)
            XCTAssertEqual(map.values.count, map.width * map.height, input.name)
        }
    }

    func testJPEGRegressionInputsAreRefusedInOneLineNamingTheFile() throws {
        try FuzzRegressions.replay("fuzz-jpeg") { input in
            let img = try Image(data: input.bytes, name: input.path, limits: limits)
            XCTAssertEqual(img.pixels.count, img.width * img.height * 3, input.name)
        }
    }
}
