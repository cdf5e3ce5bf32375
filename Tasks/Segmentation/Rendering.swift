import Foundation
import Imaging

/// A colour overlay of a label map on its image, with a legend of the classes present.
public func segmentationOverlay(image: Image, labels: [Int32], classNames: [String],
                                palette: [(UInt8, UInt8, UInt8)], alpha: Float = 0.5) -> Image {
    precondition(labels.count == image.width * image.height, "label map does not match the image")
    var counts = [Int](repeating: 0, count: classNames.count)
    var out = image
    for (i, l) in labels.enumerated() {
        let c = Int(l)
        guard c >= 0 && c < classNames.count else { continue }
        counts[c] += 1
        out.blendPixel(i % image.width, i / image.width, palette[c % palette.count], alpha)
    }
    // Legend: classes by area, largest first, beside the image.
    let present = counts.indices.filter { counts[$0] > 0 }.sorted { counts[$0] > counts[$1] }
    let shown = Array(present.prefix(max(1, (image.height - 8) / 16)))
    let scale = 1
    let entries = shown.map { c in "\(classNames[c]) \(String(format: "%.1f", 100 * Double(counts[c]) / Double(labels.count)))%" }
    let legendWidth = 8 + 14 + 4 + (entries.map { Image.textWidth($0, scale: scale) }.max() ?? 0) + 8
    var canvas = Image(width: image.width + legendWidth, height: max(image.height, 8 + 16 * shown.count), channels: 3, fill: 255)
    for y in 0..<image.height {
        for x in 0..<image.width {
            for ch in 0..<3 { canvas[x, y, ch] = out[x, y, ch] }
        }
    }
    for (row, c) in shown.enumerated() {
        let y = 8 + row * 16
        let col = palette[c % palette.count]
        canvas.fillRect(x: image.width + 8, y: y, width: 14, height: 12, color: col)
        canvas.strokeRect(x: image.width + 8, y: y, width: 14, height: 12, color: (0, 0, 0), thickness: 1)
        canvas.drawText(entries[row], x: image.width + 26, y: y, color: (0, 0, 0), scale: scale)
    }
    return canvas
}
