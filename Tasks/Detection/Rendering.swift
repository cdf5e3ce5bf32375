import Foundation
import RepLKImaging

/// How detections are drawn.
public struct DetectionDrawingStyle: Sendable {
    /// Opacity of the masks over the photo, 0 (invisible) to 1 (opaque).
    public var maskOpacity: Float = 0.45
    /// Text and line sizes; nil: in proportion to the image (`DrawingScale(width:height:)`).
    public var scale: DrawingScale?
    /// The text renderer (the process's shared one unless a test gives another).
    public var text: TextRenderer = .shared

    /// A style; the defaults are what `replk-det infer` draws with.
    public init(maskOpacity: Float = 0.45, scale: DrawingScale? = nil, text: TextRenderer = .shared) {
        self.maskOpacity = maskOpacity
        self.scale = scale
        self.text = text
    }
}

/// One placed label of a drawing: the detection it belongs to (index into the list drawn), its
/// text, the filled box behind the text and the text's own line box.
public struct PlacedLabel: Equatable, Sendable {
    /// Index of the detection in the list drawn.
    public var detection: Int
    /// "name score".
    public var text: String
    /// The filled box behind the text (no two labels' boxes share a pixel while the image has room).
    public var box: PixelRect
    /// The text's line box inside `box`.
    public var textBox: PixelRect
}

/// A drawing of detections and where its labels went.
public struct DetectionDrawing {
    /// The photo with masks, boxes and labels.
    public var image: Image
    /// The labels, in the order they were placed (highest score first).
    public var labels: [PlacedLabel]
}

/// The label text of a detection: "name 0.82".
public func detectionLabel(_ d: Detection, classNames: [String]) -> String {
    let name = d.label < classNames.count ? classNames[d.label] : "class \(d.label)"
    return "\(name) \(String(format: "%.2f", d.score))"
}

/// Places label boxes of `sizes` for boxes `anchors` (x1, y1, x2, y2 in pixels) inside a
/// `width` × `height` image so that no two labels overlap. Labels are placed in the order given
/// (give the most important first); each tries, in turn, above its box's top-left corner, inside
/// it at the top, below its bottom-left corner and inside it at the bottom (also right-aligned
/// where the box is wider), each kept inside the image; when all of those overlap a label already
/// placed, it slides down and up from the first position to the nearest free place. Only when the
/// image has no free place left for it (more labels than fit) may it overlap others.
public func placeLabels(anchors: [(x1: Int, y1: Int, x2: Int, y2: Int)], sizes: [(width: Int, height: Int)],
                        imageWidth: Int, imageHeight: Int) -> [PixelRect] {
    var placed = [PixelRect]()
    func clamp(_ r: PixelRect) -> PixelRect {
        var r = r
        r.x = max(0, min(r.x, imageWidth - r.width))
        r.y = max(0, min(r.y, imageHeight - r.height))
        return r
    }
    func free(_ r: PixelRect) -> Bool { !placed.contains { $0.intersects(r) } }
    for (a, s) in zip(anchors, sizes) {
        let (w, h) = s
        let right = a.x2 - w
        var candidates = [
            PixelRect(x: a.x1, y: a.y1 - h, width: w, height: h),       // above, left
            PixelRect(x: a.x1, y: a.y1, width: w, height: h),           // inside, top left
            PixelRect(x: a.x1, y: a.y2, width: w, height: h),           // below, left
            PixelRect(x: a.x1, y: a.y2 - h, width: w, height: h),       // inside, bottom left
        ]
        if right > a.x1 {
            candidates += [PixelRect(x: right, y: a.y1 - h, width: w, height: h), PixelRect(x: right, y: a.y1, width: w, height: h),
                           PixelRect(x: right, y: a.y2, width: w, height: h), PixelRect(x: right, y: a.y2 - h, width: w, height: h)]
        }
        candidates = candidates.map(clamp)
        if let c = candidates.first(where: free) { placed.append(c); continue }
        // Slide from the first position, one pixel row at a time, to the nearest free place; then
        // the same sideways.
        let start = candidates[0]
        var found: PixelRect?
        let maxShift = max(imageHeight, imageWidth)
        search: for d in 1...max(1, maxShift) {
            for r in [PixelRect(x: start.x, y: start.y + d, width: w, height: h), PixelRect(x: start.x, y: start.y - d, width: w, height: h),
                      PixelRect(x: start.x + d, y: start.y, width: w, height: h), PixelRect(x: start.x - d, y: start.y, width: w, height: h)] {
                if r.y >= 0 && r.y + h <= imageHeight && r.x >= 0 && r.x + w <= imageWidth && free(r) { found = r; break search }
            }
        }
        placed.append(found ?? start)
    }
    return placed
}

/// Draws detections: translucent masks, box outlines, and "name score" labels whose text and
/// lines scale with the image (`DrawingScale`) and whose labels never cover each other (see
/// `placeLabels`; the highest scores are placed first). Returns the drawing and where the labels went.
public func drawDetections(_ image: Image, _ detections: [Detection], classNames: [String],
                           palette: [(UInt8, UInt8, UInt8)], style: DetectionDrawingStyle) -> DetectionDrawing {
    var out = image
    let opacity = max(0, min(1, style.maskOpacity))
    for d in detections.reversed() where opacity > 0 {
        let color = palette[d.label % palette.count]
        if let m = d.mask {
            for y in 0..<m.height {
                for x in 0..<m.width where m.bits[y * m.width + x] != 0 { out.blendPixel(m.x0 + x, m.y0 + y, color, opacity) }
            }
        }
    }
    let scale = style.scale ?? DrawingScale(width: image.width, height: image.height)
    let thickness = scale.lineWidth
    var anchors = [(x1: Int, y1: Int, x2: Int, y2: Int)]()
    for d in detections {
        let x = Int(d.box.x1.rounded()), y = Int(d.box.y1.rounded())
        anchors.append((x, y, max(x + 1, Int(d.box.x2.rounded())), max(y + 1, Int(d.box.y2.rounded()))))
    }
    for (d, a) in zip(detections, anchors).reversed() {
        out.strokeRect(x: a.x1, y: a.y1, width: a.x2 - a.x1, height: a.y2 - a.y1, color: palette[d.label % palette.count], thickness: thickness)
    }
    // Labels last, so that no box line crosses a label; the best detections choose first.
    let order = detections.indices.sorted { detections[$0].score > detections[$1].score || (detections[$0].score == detections[$1].score && $0 < $1) }
    let texts = detections.map { detectionLabel($0, classNames: classNames) }
    let padX = max(2, scale.textSize / 4), padY = max(1, scale.textSize / 8)
    let extents = order.map { style.text.measure(texts[$0], size: scale.textSize) }
    let rects = placeLabels(anchors: order.map { anchors[$0] }, sizes: extents.map { ($0.width + 2 * padX, $0.height + 2 * padY) },
                            imageWidth: image.width, imageHeight: image.height)
    var labels = [PlacedLabel]()
    for (k, i) in order.enumerated() {
        let color = palette[detections[i].label % palette.count]
        let r = rects[k]
        out.fillRect(x: r.x, y: r.y, width: r.width, height: r.height, color: color, alpha: 0.85)
        let luminance = 0.299 * Float(color.0) + 0.587 * Float(color.1) + 0.114 * Float(color.2)
        style.text.draw(texts[i], into: &out, x: r.x + padX, y: r.y + padY, size: scale.textSize,
                        color: luminance > 140 ? (0, 0, 0) : (255, 255, 255))
        labels.append(PlacedLabel(detection: i, text: texts[i], box: r,
                                  textBox: PixelRect(x: r.x + padX, y: r.y + padY, width: extents[k].width, height: extents[k].height)))
    }
    return DetectionDrawing(image: out, labels: labels)
}

/// Draws detections with the default style (see `drawDetections(_:_:classNames:palette:style:)`).
public func drawDetections(_ image: Image, _ detections: [Detection], classNames: [String],
                           palette: [(UInt8, UInt8, UInt8)]) -> Image {
    drawDetections(image, detections, classNames: classNames, palette: palette, style: DetectionDrawingStyle()).image
}

/// Distinct, stable colours for class indices.
public func detectionPalette(_ n: Int) -> [(UInt8, UInt8, UInt8)] {
    let base: [(UInt8, UInt8, UInt8)] = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
                                         (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
                                         (170, 110, 40), (255, 250, 200), (128, 0, 0), (170, 255, 195), (128, 128, 0), (255, 215, 180),
                                         (0, 0, 128), (128, 128, 128)]
    return (0..<max(n, 1)).map { base[$0 % base.count] }
}
