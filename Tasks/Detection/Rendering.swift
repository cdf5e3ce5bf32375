import Foundation
import Imaging

/// Draws detections: translucent masks, box outlines, and "name score" labels.
public func drawDetections(_ image: Image, _ detections: [Detection], classNames: [String],
                           palette: [(UInt8, UInt8, UInt8)]) -> Image {
    var out = image
    for d in detections.reversed() {
        let color = palette[d.label % palette.count]
        if let m = d.mask {
            for y in 0..<m.height {
                for x in 0..<m.width where m.bits[y * m.width + x] != 0 { out.blendPixel(m.x0 + x, m.y0 + y, color, 0.45) }
            }
        }
    }
    let thickness = max(1, min(image.width, image.height) / 300)
    for d in detections.reversed() {
        let color = palette[d.label % palette.count]
        let x = Int(d.box.x1.rounded()), y = Int(d.box.y1.rounded())
        let w = max(1, Int(d.box.x2.rounded()) - x), h = max(1, Int(d.box.y2.rounded()) - y)
        out.strokeRect(x: x, y: y, width: w, height: h, color: color, thickness: thickness)
        let name = d.label < classNames.count ? classNames[d.label] : "class \(d.label)"
        let text = "\(name) \(String(format: "%.2f", d.score))"
        let ty = max(0, y - Image.textHeight() - 2)
        out.fillRect(x: x, y: ty, width: Image.textWidth(text) + 4, height: Image.textHeight() + 2, color: color, alpha: 0.85)
        let luminance = 0.299 * Float(color.0) + 0.587 * Float(color.1) + 0.114 * Float(color.2)
        out.drawText(text, x: x + 2, y: ty + 1, color: luminance > 140 ? (0, 0, 0) : (255, 255, 255))
    }
    return out
}

/// Distinct, stable colours for class indices.
public func detectionPalette(_ n: Int) -> [(UInt8, UInt8, UInt8)] {
    let base: [(UInt8, UInt8, UInt8)] = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
                                         (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
                                         (170, 110, 40), (255, 250, 200), (128, 0, 0), (170, 255, 195), (128, 128, 0), (255, 215, 180),
                                         (0, 0, 128), (128, 128, 128)]
    return (0..<max(n, 1)).map { base[$0 % base.count] }
}
