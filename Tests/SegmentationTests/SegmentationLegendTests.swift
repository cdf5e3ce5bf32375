import Foundation
import XCTest
import RepLKImaging
import RepLKSegmentation
import TestSupport

/// The segmentation legend (issue 28): it scales with the image, shows each class's colour as it
/// appears in the overlay next to its palette colour (a red circle over blue sky looks purple),
/// and draws UTF-8 names. `REPLK_DRAWINGS_DIR=DIR` keeps the PNGs.
final class SegmentationLegendTests: XCTestCase {
    func scene(width: Int, height: Int) -> (Image, [Int32]) {
        var image = Image(width: width, height: height, channels: 3, fill: 0)
        var labels = [Int32](repeating: 0, count: width * height)
        let (cx, cy, r) = (width / 2, height / 2, min(width, height) / 4)
        for y in 0..<height {
            for x in 0..<width {
                image[x, y, 2] = 255   // blue sky
                if (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r { labels[y * width + x] = 1 }
            }
        }
        return (image, labels)
    }

    func testLegendScalesAndShowsTheOverlayColourBesideThePaletteColour() throws {
        let names = ["sky", "circle — café ☀"]
        let palette: [(UInt8, UInt8, UInt8)] = [(0, 0, 255), (255, 0, 0)]
        var sizes = [Int]()
        for (w, h) in [(256, 128), (2048, 1024)] {
            let (image, labels) = scene(width: w, height: h)
            let d = segmentationDrawing(image: image, labels: labels, classNames: names, palette: palette, opacity: 0.5)
            XCTAssertEqual(d.legend.map(\.name), ["sky", "circle — café ☀"])
            let circle = d.legend[1]
            XCTAssertTrue(circle.paletteColor == (255, 0, 0))
            // Red at 0.5 over blue: (128, 0, 128), as the overlay shows it.
            XCTAssertTrue(abs(Int(circle.overlayColor.0) - 128) <= 1 && circle.overlayColor.1 == 0 && abs(Int(circle.overlayColor.2) - 128) <= 1,
                          "\(circle.overlayColor)")
            // Both swatches are in the legend panel.
            var seen = (overlay: false, palette: false)
            for y in 0..<d.image.height {
                for x in w..<d.image.width {
                    let px = (d.image[x, y, 0], d.image[x, y, 1], d.image[x, y, 2])
                    if px == circle.overlayColor { seen.overlay = true }
                    if px == circle.paletteColor { seen.palette = true }
                }
            }
            XCTAssertTrue(seen.overlay && seen.palette, "\(seen)")
            sizes.append(d.textSize)
            if let dir = ProcessInfo.processInfo.environment["REPLK_DRAWINGS_DIR"] {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try d.image.write(to: "\(dir)/legend_\(w)x\(h).png")
            }
        }
        XCTAssertGreaterThanOrEqual(sizes[1], 2 * sizes[0], "\(sizes)")
    }

    func testOpacityIsTheShareOfTheClassColour() {
        let (image, labels) = scene(width: 64, height: 64)
        let palette: [(UInt8, UInt8, UInt8)] = [(0, 0, 255), (255, 0, 0)]
        for (opacity, red) in [(Float(0), 0), (0.25, 64), (1, 255)] {
            let d = segmentationDrawing(image: image, labels: labels, classNames: ["sky", "circle"], palette: palette, opacity: opacity)
            XCTAssertLessThanOrEqual(abs(Int(d.image[32, 32, 0]) - red), 1, "opacity \(opacity)")
            XCTAssertLessThanOrEqual(abs(Int(d.legend[1].overlayColor.0) - red), 1, "opacity \(opacity)")
        }
    }
}
