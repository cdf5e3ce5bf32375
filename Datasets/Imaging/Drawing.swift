/// Sizes of text and lines in drawings, in proportion to the image: labels readable on a
/// 1333×800 photo as on a 256×256 thumbnail (about 1/50 of the image's geometric-mean side per em,
/// 11 to 96 pixels; lines 1/400 of it, at least 1 pixel).
public struct DrawingScale: Equatable, Sendable {
    /// Font size, pixels per em.
    public var textSize: Int
    /// Width of box outlines, pixels.
    public var lineWidth: Int

    /// The scale for a `width` × `height` image.
    public init(width: Int, height: Int) {
        let side = (Double(max(1, width)) * Double(max(1, height))).squareRoot()
        textSize = min(96, max(11, Int((side / 50).rounded())))
        lineWidth = max(1, Int((side / 400).rounded()))
    }
}

/// A rectangle in pixels: `x`, `y` top-left, `width` × `height`.
public struct PixelRect: Equatable, Sendable, CustomStringConvertible {
    /// Column and row of the top-left pixel (0-based), then the size, all in pixels.
    public var x: Int, y: Int, width: Int, height: Int
    /// The rectangle whose top-left pixel is (x, y).
    public init(x: Int, y: Int, width: Int, height: Int) { self.x = x; self.y = y; self.width = width; self.height = height }
    /// Whether the two rectangles share a pixel.
    public func intersects(_ o: PixelRect) -> Bool {
        x < o.x + o.width && o.x < x + width && y < o.y + o.height && o.y < y + height
    }
    /// "(x, y, w×h)".
    public var description: String { "(\(x), \(y), \(width)×\(height))" }
}

/// Simple raster drawing on RGB images: filled and outlined rectangles, bitmap text, mask blending.
extension Image {
    /// A colour as (red, green, blue), 0–255 each.
    public typealias RGB = (UInt8, UInt8, UInt8)

    /// Blends `c` into pixel (x, y): each sample becomes `old · (1 − alpha) + c · alpha`, rounded;
    /// `alpha` ≥ 1 replaces the pixel. Does nothing outside the image or unless it has 3 channels.
    @inline(__always) public mutating func blendPixel(_ x: Int, _ y: Int, _ c: RGB, _ alpha: Float) {
        guard x >= 0 && y >= 0 && x < width && y < height && channels == 3 else { return }
        let i = (y * width + x) * 3
        if alpha >= 1 {
            pixels[i] = c.0; pixels[i + 1] = c.1; pixels[i + 2] = c.2
            return
        }
        pixels[i] = UInt8((Float(pixels[i]) * (1 - alpha) + Float(c.0) * alpha).rounded())
        pixels[i + 1] = UInt8((Float(pixels[i + 1]) * (1 - alpha) + Float(c.1) * alpha).rounded())
        pixels[i + 2] = UInt8((Float(pixels[i + 2]) * (1 - alpha) + Float(c.2) * alpha).rounded())
    }

    /// Fills a rectangle (clipped to the image), blended with `alpha`.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, color: RGB, alpha: Float = 1) {
        // Clipped to the image; a rectangle wholly outside it (or of negative size) draws nothing.
        let x0 = max(0, x), x1 = min(width, x + w), y0 = max(0, y), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            for xx in x0..<x1 { blendPixel(xx, yy, color, alpha) }
        }
    }

    /// Outlines a rectangle with lines `thickness` pixels wide (inside the box).
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, color: RGB, thickness: Int = 2) {
        fillRect(x: x, y: y, width: w, height: thickness, color: color)
        fillRect(x: x, y: y + h - thickness, width: w, height: thickness, color: color)
        fillRect(x: x, y: y, width: thickness, height: h, color: color)
        fillRect(x: x + w - thickness, y: y, width: thickness, height: h, color: color)
    }

    /// Width in pixels of `text` at `scale` (6 px per character).
    public static func textWidth(_ text: String, scale: Int = 1) -> Int { 6 * scale * text.unicodeScalars.count }
    /// Line height at `scale`.
    public static func textHeight(scale: Int = 1) -> Int { 12 * scale }

    /// Draws ASCII text with its top-left corner at (x, y); other characters show as '?'.
    public mutating func drawText(_ text: String, x: Int, y: Int, color: RGB, scale: Int = 1) {
        var cx = x
        for u in text.unicodeScalars {
            let code = Int(u.value)
            let g = glyphs[(code >= 32 && code < 127) ? code - 32 : Int(("?" as Unicode.Scalar).value) - 32]
            for (row, bits) in g.enumerated() where bits != 0 {
                for col in 0..<8 where bits & (1 << col) != 0 {
                    fillRect(x: cx + col * scale, y: y + row * scale, width: scale, height: scale, color: color)
                }
            }
            cx += 6 * scale
        }
    }

    /// Blends `color` into every pixel where `mask` (row-major, this image's size) is non-zero.
    public mutating func blend(mask: [UInt8], color: RGB, alpha: Float) {
        precondition(mask.count == width * height, "mask size mismatch")
        for i in 0..<mask.count where mask[i] != 0 { blendPixel(i % width, i / width, color, alpha) }
    }
}
