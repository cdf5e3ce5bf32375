import Foundation
import RepLKImaging

/// One row of a segmentation legend: the class, its share of the pixels, the colour its pixels
/// have on average in the overlay (palette blended over the photo, as it appears) and the raw
/// palette colour.
public struct LegendEntry: Equatable, Sendable {
    /// The class's index in the label map.
    public var classIndex: Int
    /// Its name, as given.
    public var name: String
    /// Its share of the image's pixels, in percent.
    public var percent: Double
    /// The mean colour of its pixels in the overlay (palette blended over the photo).
    public var overlayColor: Image.RGB
    /// Its palette colour.
    public var paletteColor: Image.RGB

    /// Equal fields (colours compared channel by channel).
    public static func == (a: LegendEntry, b: LegendEntry) -> Bool {
        a.classIndex == b.classIndex && a.name == b.name && a.percent == b.percent
            && a.overlayColor == b.overlayColor && a.paletteColor == b.paletteColor
    }
}

/// A segmentation overlay with its legend panel, and what the legend lists.
public struct SegmentationDrawing {
    /// The overlay with the legend panel on its right.
    public var image: Image
    /// The classes listed in the legend, largest share first.
    public var legend: [LegendEntry]
    /// Classes present but not listed, for want of room.
    public var notShown: Int
    /// Font size of the legend, pixels per em.
    public var textSize: Int
}

/// A colour overlay of a label map on its image (palette colours blended with `opacity`), with a
/// legend beside it: the classes present, largest first, each with two swatches — its colour as
/// it appears in the overlay (the mean over its pixels) and the raw palette colour — its name
/// (any UTF-8, through `TextRenderer`) and its share of the pixels. Text and swatches scale with
/// the image (`DrawingScale`); the rows the image's height holds are listed (at least 20), then
/// "+N more".
public func segmentationDrawing(image: Image, labels: [Int32], classNames: [String], palette: [(UInt8, UInt8, UInt8)],
                                opacity: Float = 0.5, text: TextRenderer = .shared) -> SegmentationDrawing {
    precondition(labels.count == image.width * image.height, "label map does not match the image")
    let alpha = max(0, min(1, opacity))
    var counts = [Int](repeating: 0, count: classNames.count)
    var sums = [(Int, Int, Int)](repeating: (0, 0, 0), count: classNames.count)
    var out = image
    for (i, l) in labels.enumerated() {
        let c = Int(l)
        guard c >= 0 && c < classNames.count else { continue }
        counts[c] += 1
        let x = i % image.width, y = i / image.width
        out.blendPixel(x, y, palette[c % palette.count], alpha)
        if out.channels == 3 {
            let j = i * 3
            sums[c].0 += Int(out.pixels[j]); sums[c].1 += Int(out.pixels[j + 1]); sums[c].2 += Int(out.pixels[j + 2])
        }
    }
    let scale = DrawingScale(width: image.width, height: image.height)
    let size = scale.textSize
    let line = text.measure("Ag", size: size).height
    let rowHeight = line + max(4, size / 2)
    let swatch = (width: max(14, Int(Double(size) * 1.6)), height: line)
    let pad = max(8, size / 2)
    let present = counts.indices.filter { counts[$0] > 0 }.sorted { counts[$0] > counts[$1] || (counts[$0] == counts[$1] && $0 < $1) }
    let header = "overlay · palette · class"
    // As many rows as the image's height holds, and at least 20 (the panel then grows below the image).
    let available = max(20, (image.height - 2 * pad - rowHeight) / rowHeight)
    var shownCount = min(present.count, available)
    if shownCount < present.count { shownCount = max(1, available - 1) }   // a row for "+N more"
    let shown = Array(present.prefix(shownCount))
    let notShown = present.count - shown.count
    let legend = shown.map { c -> LegendEntry in
        let n = max(1, counts[c])
        let mean: Image.RGB = (UInt8(sums[c].0 / n), UInt8(sums[c].1 / n), UInt8(sums[c].2 / n))
        return LegendEntry(classIndex: c, name: classNames[c], percent: 100 * Double(counts[c]) / Double(max(1, labels.count)),
                           overlayColor: mean, paletteColor: palette[c % palette.count])
    }
    let rows = legend.map { "\($0.name) \(String(format: "%.1f", $0.percent))%" }
    let more = notShown > 0 ? "+\(notShown) more" : nil
    let textLeft = pad + 2 * swatch.width + pad / 2 + pad
    let widest = (rows + [header] + (more.map { [$0] } ?? [])).map { text.measure($0, size: size).width }.max() ?? 0
    let legendWidth = textLeft + widest + pad
    let rowCount = legend.count + 1 + (more == nil ? 0 : 1)
    var canvas = Image(width: image.width + legendWidth, height: max(image.height, 2 * pad + rowHeight * rowCount), channels: 3, fill: 255)
    for y in 0..<image.height {
        for x in 0..<image.width {
            for ch in 0..<3 { canvas[x, y, ch] = out[x, y, out.channels == 3 ? ch : 0] }
        }
    }
    let left = image.width + pad
    text.draw(header, into: &canvas, x: left, y: pad, size: size, color: (90, 90, 90))
    for (row, e) in legend.enumerated() {
        let y = pad + rowHeight * (row + 1)
        for (k, col) in [e.overlayColor, e.paletteColor].enumerated() {
            let x = left + k * (swatch.width + pad / 2)
            canvas.fillRect(x: x, y: y, width: swatch.width, height: swatch.height, color: col)
            canvas.strokeRect(x: x, y: y, width: swatch.width, height: swatch.height, color: (0, 0, 0), thickness: 1)
        }
        text.draw(rows[row], into: &canvas, x: image.width + textLeft, y: y, size: size, color: (0, 0, 0))
    }
    if let more {
        text.draw(more, into: &canvas, x: image.width + textLeft, y: pad + rowHeight * (legend.count + 1), size: size, color: (90, 90, 90))
    }
    return SegmentationDrawing(image: canvas, legend: legend, notShown: notShown, textSize: size)
}

/// A colour overlay of a label map on its image, with a legend of the classes present (see
/// `segmentationDrawing`).
public func segmentationOverlay(image: Image, labels: [Int32], classNames: [String],
                                palette: [(UInt8, UInt8, UInt8)], alpha: Float = 0.5) -> Image {
    segmentationDrawing(image: image, labels: labels, classNames: classNames, palette: palette, opacity: alpha).image
}
