import Foundation
import XCTest
import RepLKDetection
import RepLKImaging
import TestSupport

/// Drawings that hold up on real photos (issue 28): the demo model's detections drawn on the demo
/// image at its own 256×256 and upscaled to 1333×800, checked as a screenshot would be — every
/// label inside the image, no label over another's text, the text there, and its size following
/// the image's. `REPLK_DRAWINGS_DIR=DIR` keeps the PNGs for a look.
final class DetectionDrawingTests: XCTestCase {
    static let demo = Fixtures.path("../../Datasets/Demo")
    static let pipeline: DetectionPipeline = {
        let model = try! CascadeMaskRCNN(checkpoint: demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth")
        var p = DetectionPipeline(model: model)
        p.scale = (256, 256)
        return p
    }()
    let names = ["circle", "square", "triangle", "star", "ring"]

    func keep(_ image: Image, _ name: String) throws {
        if let dir = ProcessInfo.processInfo.environment["REPLK_DRAWINGS_DIR"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try image.write(to: dir + "/" + name)
        }
    }

    /// Pixels of the text colour (black or white, as the label's fill asks) inside `rect`.
    func textPixels(_ image: Image, _ rect: PixelRect) -> Int {
        var n = 0
        for y in rect.y..<min(image.height, rect.y + rect.height) {
            for x in rect.x..<min(image.width, rect.x + rect.width) {
                let (r, g, b) = (Int(image[x, y, 0]), Int(image[x, y, 1]), Int(image[x, y, 2]))
                if (r < 40 && g < 40 && b < 40) || (r > 215 && g > 215 && b > 215) { n += 1 }
            }
        }
        return n
    }

    func assertReadable(_ drawing: DetectionDrawing, count: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(drawing.labels.count, count, file: file, line: line)
        let bounds = PixelRect(x: 0, y: 0, width: drawing.image.width, height: drawing.image.height)
        for (i, a) in drawing.labels.enumerated() {
            XCTAssertTrue(a.box.x >= 0 && a.box.y >= 0 && a.box.x + a.box.width <= bounds.width && a.box.y + a.box.height <= bounds.height,
                          "\(a.text) at \(a.box) leaves the image", file: file, line: line)
            for b in drawing.labels[(i + 1)...] {
                XCTAssertFalse(a.box.intersects(b.box), "\(a.text) \(a.box) overlaps \(b.text) \(b.box)", file: file, line: line)
            }
            // The text is there (drawn last, nothing over it): at least a twentieth of its box in the text colour.
            XCTAssertGreaterThan(textPixels(drawing.image, a.textBox), a.textBox.width * a.textBox.height / 20,
                                 "\(a.text): no text visible in \(a.textBox)", file: file, line: line)
        }
    }

    func testLabelsOnA1333x800PhotoScaleWithItAndNeverCoverEachOther() throws {
        let small = try Image(contentsOf: Self.demo + "/coco/val2017/000000000001.jpg")
        let large = small.resizedBilinearCV(width: 1333, height: 800)
        var sizes = [Int]()
        for (image, name) in [(small, "000000000001_256.png"), (large, "000000000001_1333x800.png")] {
            let (dets, _) = Self.pipeline(image)
            let shown = dets.filter { $0.score >= 0.3 }
            XCTAssertGreaterThanOrEqual(shown.count, 2)
            let drawing = drawDetections(image, shown, classNames: names, palette: detectionPalette(names.count), style: DetectionDrawingStyle())
            XCTAssertEqual([drawing.image.width, drawing.image.height], [image.width, image.height])
            assertReadable(drawing, count: shown.count)
            // "circle 0.82" and the square's label overlapped here with the fixed 6×12 font.
            XCTAssertTrue(drawing.labels.contains { $0.text.hasPrefix("circle") }, "\(drawing.labels.map(\.text))")
            sizes.append(drawing.labels.map(\.textBox.height).max()!)
            try keep(drawing.image, name)
        }
        // Text follows the image: at 1333×800 (4× the side) at least 20 px tall, at least 1.6× the 256² one's.
        XCTAssertGreaterThanOrEqual(sizes[1], 20, "\(sizes)")
        XCTAssertGreaterThanOrEqual(Double(sizes[1]), 1.6 * Double(sizes[0]), "\(sizes)")
        XCTAssertGreaterThanOrEqual(DrawingScale(width: 1333, height: 800).lineWidth, 2 * DrawingScale(width: 256, height: 256).lineWidth)
    }

    /// A dozen detections of one object (same box, scores apart): every label gets a place of its own.
    func testCrowdedLabelsAreMovedApart() throws {
        let image = Image(width: 1333, height: 800, channels: 3, fill: 128)
        var dets = [Detection]()
        for i in 0..<12 { dets.append(Detection(box: Box(600, 300, 800, 420), score: 0.9 - Float(i) * 0.05, label: i % 5)) }
        dets.append(Detection(box: Box(0, 0, 1333, 800), score: 0.4, label: 1))   // a box the size of the image
        dets.append(Detection(box: Box(1300, 780, 1333, 800), score: 0.35, label: 2))   // in the corner
        let drawing = drawDetections(image, dets, classNames: names, palette: detectionPalette(5), style: DetectionDrawingStyle())
        assertReadable(drawing, count: dets.count)
        try keep(drawing.image, "crowd_1333x800.png")
    }

    /// `--opacity`: 0 leaves the photo under a mask as it was, 1 paints the class colour.
    func testMaskOpacityIsTheShareOfTheClassColour() {
        let image = Image(width: 200, height: 200, channels: 3, fill: 100)
        let mask = MaskWindow(x0: 50, y0: 50, width: 100, height: 100, bits: [UInt8](repeating: 1, count: 100 * 100))
        let det = Detection(box: Box(50, 50, 150, 150), score: 0.9, label: 0, mask: mask)
        let palette = detectionPalette(1)
        for (opacity, want) in [(Float(0), (UInt8(100), UInt8(100), UInt8(100))), (1, palette[0]),
                                (0.5, (UInt8((100 + Int(palette[0].0)) / 2), UInt8((100 + Int(palette[0].1)) / 2), UInt8((100 + Int(palette[0].2)) / 2)))] {
            let d = drawDetections(image, [det], classNames: names, palette: palette, style: DetectionDrawingStyle(maskOpacity: opacity))
            let px = (d.image[100, 140, 0], d.image[100, 140, 1], d.image[100, 140, 2])
            XCTAssertTrue(abs(Int(px.0) - Int(want.0)) <= 1 && abs(Int(px.1) - Int(want.1)) <= 1 && abs(Int(px.2) - Int(want.2)) <= 1,
                          "opacity \(opacity): \(px) vs \(want)")
        }
    }
}
