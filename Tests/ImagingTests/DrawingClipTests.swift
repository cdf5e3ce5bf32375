import XCTest
import RepLKImaging

/// Rectangles are clipped to the image: one partly or wholly outside it (text past the right
/// edge, a box left of the image) draws what lies inside and never traps.
final class DrawingClipTests: XCTestCase {
    func testRectanglesOutsideTheImageAreClippedNotTrapped() {
        var img = Image(width: 8, height: 6, channels: 3, pixels: [UInt8](repeating: 0, count: 8 * 6 * 3))
        let white: Image.RGB = (255, 255, 255)
        img.fillRect(x: 20, y: 2, width: 5, height: 2, color: white)     // wholly right of the image (trapped before)
        img.fillRect(x: -10, y: -10, width: 3, height: 3, color: white)  // wholly above-left (trapped before)
        img.fillRect(x: 2, y: 1, width: -4, height: 3, color: white)     // negative width
        img.strokeRect(x: 30, y: 30, width: 4, height: 4, color: white)
        XCTAssertEqual(img.pixels.reduce(0) { $0 + Int($1) }, 0)
        img.fillRect(x: 6, y: 4, width: 10, height: 10, color: white)    // the corner 2×2 inside
        XCTAssertEqual(img.pixels.filter { $0 == 255 }.count, 2 * 2 * 3)
    }
}
