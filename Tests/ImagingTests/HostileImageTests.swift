import Foundation
import XCTest
import RepLKImaging

/// Decompression bombs and files whose data ends early, crafted from small encoded images by
/// rewriting the size their headers declare.
final class HostileImageTests: XCTestCase {
    /// A 16×16 RGB gradient.
    func small() -> Image {
        var img = Image(width: 16, height: 16, channels: 3)
        for y in 0..<16 { for x in 0..<16 { img[x, y, 0] = UInt8(x * 16); img[x, y, 1] = UInt8(y * 16); img[x, y, 2] = 99 } }
        return img
    }

    /// The JPEG with its SOF0 frame header claiming `width`×`height` (the scan data stays 16×16's, then EOI).
    func jpeg(declaring width: Int, _ height: Int) throws -> [UInt8] {
        var b = try small().jpegData(quality: 90)
        var p = 2
        while p + 9 < b.count {
            XCTAssertEqual(b[p], 0xFF)
            let marker = b[p + 1], len = Int(b[p + 2]) << 8 | Int(b[p + 3])
            if marker == 0xC0 {
                b[p + 5] = UInt8(height >> 8); b[p + 6] = UInt8(height & 0xFF)
                b[p + 7] = UInt8(width >> 8); b[p + 8] = UInt8(width & 0xFF)
                return b
            }
            p += 2 + len
        }
        XCTFail("no SOF0 in the encoded JPEG")
        return b
    }

    /// The PNG of `image` with its IHDR claiming `width`×`height` (CRC recomputed, so only the size is a lie).
    func png(declaring width: UInt32, _ height: UInt32, of image: Image? = nil) throws -> [UInt8] {
        var b = try (image ?? small()).pngData()
        XCTAssertEqual(Array(b[12..<16]), Array("IHDR".utf8))
        for (i, v) in [width, height].enumerated() {
            for k in 0..<4 { b[16 + 4 * i + k] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(k))) }
        }
        let crc = crc32(b[12..<29])
        for k in 0..<4 { b[29 + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(k))) }
        return b
    }

    func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }

    func testFiveKilobyteJPEGDeclaring46000SquaredIsRefusedBeforeDecoding() throws {
        // Was decoded (62 s, 12.4 GB of grey) because 46000² is below the old 2^31 limit.
        let bomb = try jpeg(declaring: 46000, 46000)
        XCTAssertLessThan(bomb.count, 5000)
        let start = Date()
        XCTAssertThrowsError(try Image(data: bomb, name: "bomb.jpg", limits: ImageLimits())) {
            XCTAssertEqual("\($0)", "bomb.jpg: image is 46000×46000 = 2116000000 pixels, more than the limit of 178956970 "
                + "(a possible decompression bomb; set REPLK_MAX_IMAGE_PIXELS to raise the limit)")
            XCTAssertEqual($0 as? ImageError, .tooLarge(file: "bomb.jpg", width: 46000, height: 46000, limit: 178_956_970))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testPNGDeclaring20000SquaredIsRefusedBeforeDecoding() throws {
        // Was decoded into 2.4 GB (row buffer plus pixels) before any check.
        let bomb = try png(declaring: 20000, 20000)
        XCTAssertThrowsError(try Image(data: bomb, name: "bomb.png", limits: ImageLimits())) {
            XCTAssertEqual($0 as? ImageError, .tooLarge(file: "bomb.png", width: 20000, height: 20000, limit: 178_956_970))
        }
        // Label maps and 16-bit maps go through the same check.
        let dir = NSTemporaryDirectory() + "hostile-png-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let label = try png(declaring: 20000, 20000, of: Image(width: 16, height: 16, channels: 1, fill: 3))
        try Data(label).write(to: URL(fileURLWithPath: dir + "/label.png"))
        XCTAssertThrowsError(try Image.readLabelMap(dir + "/label.png", limits: ImageLimits())) {
            XCTAssertEqual($0 as? ImageError, .tooLarge(file: dir + "/label.png", width: 20000, height: 20000, limit: 178_956_970))
        }
        XCTAssertThrowsError(try Map16(contentsOf: dir + "/label.png", limits: ImageLimits())) {
            XCTAssertEqual($0 as? ImageError, .tooLarge(file: dir + "/label.png", width: 20000, height: 20000, limit: 178_956_970))
        }
    }

    func testPixelLimitIsASettingWithPillowsDefaultAndAnInclusiveBound() throws {
        XCTAssertEqual(ImageLimits().maxPixels, 2 * 89_478_485)
        let jpg = try small().jpegData(), png = try small().pngData()
        for (data, name) in [(jpg, "a.jpg"), (png, "a.png")] {
            XCTAssertEqual(try Image(data: data, name: name, limits: ImageLimits(maxPixels: 256)).width, 16)
            XCTAssertThrowsError(try Image(data: data, name: name, limits: ImageLimits(maxPixels: 255))) {
                XCTAssertEqual($0 as? ImageError, .tooLarge(file: name, width: 16, height: 16, limit: 255))
            }
        }
    }

    func testEnvironmentVariableReplacesTheDefaultLimit() throws {
        XCTAssertEqual(try ImageLimits.fromEnvironment([:]), ImageLimits())
        XCTAssertEqual(try ImageLimits.fromEnvironment(["REPLK_MAX_IMAGE_PIXELS": "2116000000"]).maxPixels, 2_116_000_000)
        for bad in ["", "-5", "0", "1e9", "lots", "99999999999999999999999"] {
            XCTAssertThrowsError(try ImageLimits.fromEnvironment(["REPLK_MAX_IMAGE_PIXELS": bad])) {
                XCTAssertEqual("\($0)", "REPLK_MAX_IMAGE_PIXELS=\(bad): the image pixel limit must be a positive whole number")
            }
        }
        // Decoding without an explicit limit reads the process environment.
        let jpg = try small().jpegData()
        setenv("REPLK_MAX_IMAGE_PIXELS", "100", 1)
        defer { unsetenv("REPLK_MAX_IMAGE_PIXELS") }
        XCTAssertThrowsError(try Image(data: jpg, name: "env.jpg")) {
            XCTAssertEqual($0 as? ImageError, .tooLarge(file: "env.jpg", width: 16, height: 16, limit: 100))
        }
        setenv("REPLK_MAX_IMAGE_PIXELS", "x", 1)
        XCTAssertThrowsError(try Image(data: jpg, name: "env.jpg")) { XCTAssertEqual($0 as? ImageError, .badLimit(setting: "REPLK_MAX_IMAGE_PIXELS", value: "x")) }
        unsetenv("REPLK_MAX_IMAGE_PIXELS")
        XCTAssertEqual(try Image(data: jpg, name: "env.jpg").height, 16)
    }

    func testJPEGWhoseScanDataEndsAtEOIBeforeTheLastRowIsCorrupt() throws {
        // 16 rows of data declared as 8000×8000 (under Pillow's limit): libjpeg warns that the data
        // segment ended and pads with grey; that was returned as a successful decode.
        for (w, h) in [(16, 64), (8000, 8000)] {
            let short = try jpeg(declaring: w, h)
            XCTAssertThrowsError(try Image(data: short, name: "short.jpg", limits: ImageLimits())) {
                XCTAssertEqual("\($0)", "short.jpg: corrupt image: image data ends before its last scan line (premature end of JPEG data segment)")
            }
        }
    }

    func testJPEGCutBeforeItsLastScanLineIsCorrupt() throws {
        let full = try small().jpegData()
        XCTAssertEqual(try Image(data: full, name: "whole.jpg", limits: ImageLimits()).height, 16)
        for n in [full.count / 2, full.count - 2] {
            XCTAssertThrowsError(try Image(data: Array(full.prefix(n)), name: "cut.jpg", limits: ImageLimits())) {
                XCTAssertEqual("\($0)", "cut.jpg: corrupt image: image file is truncated (premature end of JPEG data)")
            }
        }
    }

    func testPalettePNGWithTransparencyDecodesToItsPaletteColours() throws {
        // tRNS expands a palette to RGBA; the alpha was not stripped, so decoding failed with
        // "unexpected PNG row layout". Pillow's convert('RGB') gives the palette colours.
        let indices: [UInt8] = [0, 1, 2, 1, 0, 2]
        let palette: [UInt8] = [10, 20, 30, 200, 100, 0, 7, 8, 9]
        var b = try Image(width: 3, height: 2, channels: 1, pixels: indices).pngData(palette: palette)
        var p = 8
        while String(decoding: b[(p + 4)..<(p + 8)], as: UTF8.self) != "PLTE" {
            p += 12 + (Int(b[p]) << 24 | Int(b[p + 1]) << 16 | Int(b[p + 2]) << 8 | Int(b[p + 3]))
        }
        p += 12 + 9
        let body = Array("tRNS".utf8) + [0, 128, 255]
        let crc = crc32(body[...])
        b.insert(contentsOf: [0, 0, 0, 3] + body + (0..<4).map { UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32($0))) }, at: p)
        let img = try Image(data: b, name: "trns.png", limits: ImageLimits())
        XCTAssertEqual(img.pixels, indices.flatMap { Array(palette[(3 * Int($0))..<(3 * Int($0) + 3)]) })
    }
}
