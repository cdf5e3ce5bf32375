import Foundation
import XCTest
import RepLKImaging

/// Text in drawings through FreeType (issue 28): DejaVu Sans where installed, sizes in
/// proportion, UTF-8 glyphs, and the bitmap font with a reason when no font is found.
final class TextRendererTests: XCTestCase {
    func testDejaVuSansIsFoundAndTextGrowsWithTheSize() {
        let t = TextRenderer.shared
        guard case let .trueType(path) = t.source else {
            return XCTFail("no TrueType font: \(t.fallbackReason ?? "") (CI installs fonts-dejavu-core)")
        }
        XCTAssertTrue(path.hasSuffix("DejaVuSans.ttf"), path)
        let small = t.measure("circle 0.82", size: 11), large = t.measure("circle 0.82", size: 22)
        XCTAssertGreaterThan(small.height, 10)
        XCTAssertEqual(Double(large.height) / Double(small.height), 2, accuracy: 0.25)
        XCTAssertEqual(Double(large.width) / Double(small.width), 2, accuracy: 0.25)
    }

    func testUTF8NamesAreDrawnWithTheirOwnGlyphs() {
        let t = TextRenderer.shared
        guard case .trueType = t.source else { return XCTFail("no TrueType font") }
        func render(_ s: String) -> Image {
            var img = Image(width: 200, height: 40, channels: 3, fill: 255)
            t.draw(s, into: &img, x: 2, y: 2, size: 20, color: (0, 0, 0))
            return img
        }
        let accented = render("café"), plain = render("cafe"), unknown = render("caf?")
        XCTAssertNotEqual(accented.pixels, plain.pixels)
        XCTAssertNotEqual(accented.pixels, unknown.pixels)
        XCTAssertGreaterThan(t.measure("é", size: 20).width, 0)
    }

    func testNoFontFallsBackToTheScaledBitmapFontWithAReason() {
        let t = TextRenderer(environment: [TextRenderer.environmentVariable: "/nonexistent/font.ttf"])
        XCTAssertEqual(t.source, .bitmap)
        XCTAssertTrue(t.fallbackReason?.contains("/nonexistent/font.ttf") == true, t.fallbackReason ?? "")
        XCTAssertEqual(t.measure("ab", size: 10).height, 12)
        XCTAssertEqual(t.measure("ab", size: 20).height, 24)
        var img = Image(width: 40, height: 30, channels: 3, fill: 255)
        t.draw("ab", into: &img, x: 0, y: 0, size: 20, color: (0, 0, 0))
        XCTAssertTrue(img.pixels.contains(0))
    }
}
