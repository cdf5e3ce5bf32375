import RepLKImaging

/// The paper's ERF heatmaps: seaborn `heatmap(data, cmap='RdYlGn', center=0)` on the normalised
/// map. With data in [0, 1] and the centre at 0, seaborn maps [0, 1] to the upper half of
/// RdYlGn (yellow at 0, dark green at 1).
public enum ERFHeatmap {
    /// matplotlib's RdYlGn anchors (ColorBrewer, 11 classes), evenly spaced over [0, 1].
    static let rdYlGn: [(Float, Float, Float)] = [
        (165, 0, 38), (215, 48, 39), (244, 109, 67), (253, 174, 97), (254, 224, 139), (255, 255, 191),
        (217, 239, 139), (166, 217, 106), (102, 189, 99), (26, 152, 80), (0, 104, 55),
    ]

    /// The colour of a normalised value v ∈ [0, 1] (clamped; NaN shows as white).
    public static func color(_ v: Float) -> Image.RGB {
        guard v.isFinite else { return (255, 255, 255) }
        let x = 0.5 + 0.5 * min(max(v, 0), 1)            // seaborn center=0: [0, 1] → [0.5, 1]
        let t = x * Float(rdYlGn.count - 1)
        let i = min(Int(t), rdYlGn.count - 2)
        let f = t - Float(i)
        let a = rdYlGn[i], b = rdYlGn[i + 1]
        func mix(_ p: Float, _ q: Float) -> UInt8 { UInt8(min(max((p + (q - p) * f).rounded(), 0), 255)) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// Box-averages an H×W map to `side` × `side` (nearest rows/columns when enlarging).
    static func resampled(_ map: [Float], height h: Int, width w: Int, side: Int) -> [Float] {
        var out = [Float](repeating: 0, count: side * side)
        for y in 0..<side {
            let y0 = y * h / side, y1 = max(y0 + 1, (y + 1) * h / side)
            for x in 0..<side {
                let x0 = x * w / side, x1 = max(x0 + 1, (x + 1) * w / side)
                var s: Float = 0
                for yy in y0..<y1 { for xx in x0..<x1 { s += map[yy * w + xx] } }
                out[y * side + x] = s / Float((y1 - y0) * (x1 - x0))
            }
        }
        return out
    }

    /// Draws a normalised map as a `side` × `side` heatmap with its top-left corner at (x, y).
    static func draw(_ map: [Float], height h: Int, width w: Int, side: Int, into img: inout Image, x: Int, y: Int) {
        let shown = resampled(map, height: h, width: w, side: side)
        for yy in 0..<side {
            for xx in 0..<side { img.blendPixel(x + xx, y + yy, color(shown[yy * side + xx]), 1) }
        }
    }

    /// A vertical colour bar for [0, 1] (1 at the top) with tick labels every 0.2.
    static func drawColorBar(into img: inout Image, x: Int, y: Int, height: Int, width: Int = 18) {
        for yy in 0..<height {
            let v = 1 - Float(yy) / Float(max(1, height - 1))
            img.fillRect(x: x, y: y + yy, width: width, height: 1, color: color(v))
        }
        img.strokeRect(x: x, y: y, width: width, height: height, color: (0, 0, 0), thickness: 1)
        for k in 0...5 {
            let v = Float(k) / 5
            let ty = y + Int((1 - v) * Float(height - 1))
            img.fillRect(x: x + width, y: ty, width: 4, height: 1, color: (0, 0, 0))
            img.drawText(String(format1(v)), x: x + width + 6, y: min(max(y, ty - 6), y + height - 12), color: (0, 0, 0))
        }
    }

    static func format1(_ v: Float) -> String {
        let tenths = Int((v * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// Width of the colour bar with its labels.
    static let colorBarWidth = 18 + 6 + Image.textWidth("0.0") + 4

    /// The heatmap of one normalised map with a colour bar (and an optional title), as the paper draws it.
    public static func render(normalised map: [Float], height h: Int, width w: Int, side: Int = 512, title: String? = nil) -> Image {
        let margin = 12
        let titleHeight = title == nil ? 0 : Image.textHeight() + 8
        // Wide enough for the title (the bitmap text is not clipped).
        let width = max(margin + side + 14 + colorBarWidth + margin, margin + Image.textWidth(title ?? "") + margin)
        let height = margin + titleHeight + side + margin
        var img = Image(width: width, height: height, channels: 3, fill: 255)
        if let title { img.drawText(title, x: margin, y: margin, color: (0, 0, 0)) }
        draw(map, height: h, width: w, side: side, into: &img, x: margin, y: margin + titleHeight)
        drawColorBar(into: &img, x: margin + side + 14, y: margin + titleHeight, height: side)
        return img
    }

    /// One panel of a comparison sheet.
    public struct Panel {
        /// Shown above the heatmap.
        public var title: String
        /// The map after `ERFAnalysis.normalised` (values in [0, 1]).
        public var normalised: [Float]
        /// The map's size.
        public var height: Int, width: Int
        /// Text lines below the heatmap (the area ratio table).
        public var lines: [String]
        /// A panel of a normalised H × W map.
        public init(title: String, normalised: [Float], height: Int, width: Int, lines: [String]) {
            self.title = title; self.normalised = normalised; self.height = height; self.width = width; self.lines = lines
        }
    }

    /// Several models' heatmaps side by side, each with its title above and its table below, and
    /// one colour bar at the right (the paper's ERF figure).
    public static func sheet(_ panels: [Panel], side: Int = 256) -> Image {
        let margin = 12, gap = 16
        let line = Image.textHeight() + 2
        let maxTitle = panels.map { Image.textWidth($0.title) }.max() ?? 0
        let maxLine = panels.flatMap { $0.lines }.map { Image.textWidth($0) }.max() ?? 0
        let column = max(side, maxTitle, maxLine)
        let maxLines = panels.map { $0.lines.count }.max() ?? 0
        let width = margin + panels.count * column + max(0, panels.count - 1) * gap + 14 + colorBarWidth + margin
        let top = margin + line + 6
        let height = top + side + 8 + maxLines * line + margin
        var img = Image(width: width, height: height, channels: 3, fill: 255)
        for (i, p) in panels.enumerated() {
            let x = margin + i * (column + gap)
            img.drawText(p.title, x: x, y: margin, color: (0, 0, 0))
            draw(p.normalised, height: p.height, width: p.width, side: side, into: &img, x: x, y: top)
            for (j, l) in p.lines.enumerated() { img.drawText(l, x: x, y: top + side + 8 + j * line, color: (0, 0, 0)) }
        }
        drawColorBar(into: &img, x: margin + panels.count * column + max(0, panels.count - 1) * gap + 14, y: top, height: side)
        return img
    }
}
