import Foundation
import XCTest
import RepLKImaging
import TestSupport

/// Decoders and resamplers against Pillow / OpenCV outputs (Tests/Fixtures/imaging).
final class ImagingTests: XCTestCase {
    func u8(_ name: String) throws -> (shape: [Int], values: [UInt8]) {
        let a = try Fixtures.npy("imaging/" + name)
        return (a.shape, a.values.map { UInt8($0) })
    }

    func source() throws -> Image {
        let a = try u8("src.npy")
        return Image(width: a.shape[1], height: a.shape[0], channels: 3, pixels: a.values)
    }

    func testOpenCVBilinearResizeIsBitExact() throws {
        let src = try source()
        for (w, h) in [(59, 41), (16, 11), (37, 50), (20, 23), (74, 46), (18, 11)] {
            let want = try u8("cv2_\(w)x\(h).npy")
            XCTAssertEqual(src.resizedBilinearCV(width: w, height: h).pixels, want.values, "\(w)x\(h)")
        }
    }

    func testPillowResampleIsBitExact() throws {
        let src = try source()
        for (filter, name) in [(Image.PILFilter.bicubic, "bicubic"), (.bilinear, "bilinear")] {
            for (w, h) in [(59, 41), (16, 11), (37, 50), (29, 23)] {
                let want = try u8("pil_\(name)_\(w)x\(h).npy")
                XCTAssertEqual(src.resizedPIL(width: w, height: h, filter: filter).pixels, want.values, "\(name) \(w)x\(h)")
            }
        }
    }

    func testDecodersMatchPillowRGBConversion() throws {
        for f in ["photo.jpg", "gray.jpg", "cmyk.jpg", "rgba.png"] {
            let img = try Image(contentsOf: Fixtures.path("imaging/" + f))
            let want = try u8(f + ".npy")
            XCTAssertEqual([img.height, img.width, img.channels], want.shape, f)
            XCTAssertEqual(img.pixels, want.values, f)
        }
    }

    func testLabelMapsAreReadAsRawIndices() throws {
        let want = try u8("label.npy")
        for f in ["label_palette.png", "label_gray.png", "label_16bit.png"] {
            let m = try Image.readLabelMap(Fixtures.path("imaging/" + f))
            XCTAssertEqual(m.channels, 1, f)
            XCTAssertEqual(m.pixels, want.values, f)
        }
        XCTAssertThrowsError(try Image.readLabelMap(Fixtures.path("imaging/rgba.png"))) {
            XCTAssertTrue("\($0)".contains("single-channel"), "\($0)")
        }
    }

    func testBadFilesGiveErrorsThatNameTheFile() throws {
        let truncated = Fixtures.path("imaging/truncated.jpg")
        XCTAssertThrowsError(try Image(contentsOf: truncated)) { error in
            XCTAssertTrue("\(error)".hasPrefix(truncated + ": corrupt image"), "\(error)")
        }
        let text = Fixtures.path("imaging/make_imaging_fixtures.py")
        XCTAssertThrowsError(try Image(contentsOf: text)) { XCTAssertEqual("\($0)", "\(text): not an image (expected JPEG or PNG data)") }
        XCTAssertThrowsError(try Image(contentsOf: "/no/such.jpg")) { XCTAssertEqual("\($0)", "/no/such.jpg: cannot read: No such file or directory") }
        // Garbage after a JPEG signature.
        XCTAssertThrowsError(try Image(data: [0xFF, 0xD8, 0xFF, 0x00, 0x13, 0x37], name: "junk.jpg")) {
            XCTAssertTrue("\($0)".hasPrefix("junk.jpg: corrupt image"), "\($0)")
        }
    }

    func testEncodersRoundTrip() throws {
        let src = try source()
        let png = try src.pngData()
        XCTAssertEqual(try Image(data: png, name: "x.png"), src)
        let label = Image(width: 4, height: 2, channels: 1, pixels: [0, 1, 2, 3, 149, 150, 255, 7])
        let dir = Fixtures.temporaryDirectory()
        try label.write(to: dir + "/l.png", palette: Array(repeating: 9, count: 768))
        XCTAssertEqual(try Image.readLabelMap(dir + "/l.png"), label)
        let jpeg = try Image(data: try src.jpegData(quality: 95), name: "x.jpg")
        XCTAssertEqual(jpeg.width, src.width)
        XCTAssertLessThan(zip(jpeg.pixels, src.pixels).map { abs(Int($0) - Int($1)) }.max()!, 90)
    }
}
