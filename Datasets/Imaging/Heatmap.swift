/// A matrix drawn as a heatmap with row and column labels, as mmsegmentation's
/// `confusion_matrix.py` plots one: matplotlib's `winter` colour map over 0…100 (per cent of each
/// row), the value in each cell when the cells are large enough to hold it, ground truth down the
/// side and predictions along the top.
public func percentHeatmap(_ values: [Float], rows: Int, columns: Int, rowLabels: [String], columnLabels: [String],
                           title: String, text: TextRenderer = .shared) -> Image {
    precondition(values.count == rows * columns && rowLabels.count == rows && columnLabels.count == columns)
    // Cells of 6…48 px, the whole plot at most about 1600 px wide.
    let cell = max(6, min(48, 1600 / max(rows, columns)))
    let showLabels = cell >= 10, showValues = cell >= 28
    let fontSize = max(8, min(14, cell / 2))
    let labelWidth = showLabels ? (rowLabels + columnLabels).map { text.measure($0, size: fontSize).width }.max()! + 8 : 0
    let titleHeight = text.measure(title, size: 16).height + 16
    let left = labelWidth + 24, top = titleHeight + labelWidth + 24
    let width = left + columns * cell + 16, height = top + rows * cell + 16
    var img = Image(width: width, height: height, channels: 3, pixels: [UInt8](repeating: 255, count: width * height * 3))
    text.draw(title, into: &img, x: 8, y: 8, size: 16, color: (0, 0, 0))
    text.draw("ground truth ↓  predicted →", into: &img, x: 8, y: titleHeight, size: 12, color: (60, 60, 60))
    func winter(_ v: Float) -> Image.RGB {
        let t = v.isNaN ? 0 : max(0, min(1, v / 100))
        return (0, UInt8((t * 255).rounded()), UInt8(((1 - 0.5 * t) * 255).rounded()))
    }
    for r in 0..<rows {
        for c in 0..<columns {
            let v = values[r * columns + c]
            img.fillRect(x: left + c * cell, y: top + r * cell, width: cell, height: cell, color: v.isNaN ? (220, 220, 220) : winter(v))
            if showValues, !v.isNaN, v >= 0.5 {
                let s = String(Int(v.rounded()))
                let e = text.measure(s, size: fontSize)
                text.draw(s, into: &img, x: left + c * cell + (cell - e.width) / 2, y: top + r * cell + (cell - e.height) / 2,
                          size: fontSize, color: (255, 255, 255))
            }
        }
    }
    if showLabels {
        for (r, name) in rowLabels.enumerated() {
            let e = text.measure(name, size: fontSize)
            text.draw(name, into: &img, x: left - 6 - e.width, y: top + r * cell + (cell - e.height) / 2, size: fontSize, color: (0, 0, 0))
        }
        // Column labels, one per column, written downwards in a rotated strip above the grid.
        for (c, name) in columnLabels.enumerated() {
            let e = text.measure(name, size: fontSize)
            var strip = Image(width: e.width + 2, height: e.height, channels: 3, pixels: [UInt8](repeating: 255, count: (e.width + 2) * e.height * 3))
            text.draw(name, into: &strip, x: 1, y: 0, size: fontSize, color: (0, 0, 0))
            // Rotate 90° counter-clockwise: strip pixel (x, y) → image (x0 + y, y0 + width − 1 − x).
            let x0 = left + c * cell + (cell - e.height) / 2, y0 = top - 6 - strip.width
            for y in 0..<strip.height {
                for x in 0..<strip.width {
                    let i = (y * strip.width + x) * 3
                    let (tx, ty) = (x0 + y, y0 + strip.width - 1 - x)
                    guard tx >= 0, ty >= 0, tx < width, ty < height else { continue }
                    let j = (ty * width + tx) * 3
                    img.pixels[j] = strip.pixels[i]; img.pixels[j + 1] = strip.pixels[i + 1]; img.pixels[j + 2] = strip.pixels[i + 2]
                }
            }
        }
    }
    return img
}
