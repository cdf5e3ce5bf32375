#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Image {
    /// `cv2.resize(..., INTER_LINEAR)` on 8-bit data, bit-exact: half-pixel centres, 11-bit fixed
    /// point weights, no antialiasing (upernet.md §9). mmseg/mmdet resize with this.
    public func resizedBilinearCV(width outW: Int, height outH: Int) -> Image {
        precondition(outW > 0 && outH > 0, "resize to an empty image")
        if outW == width && outH == height { return self }
        struct Tap { var s0: Int; var s1: Int; var w0: Int32; var w1: Int32 }
        func taps(_ n: Int, _ m: Int, resetAtBorders: Bool) -> [Tap] {
            let scale = Double(n) / Double(m)
            return (0..<m).map { d in
                var f = Float((Double(d) + 0.5) * scale - 0.5)
                var s = Int(floorf(f))
                f -= Float(s)
                if resetAtBorders {
                    if s < 0 { s = 0; f = 0 }
                    if s >= n - 1 { s = n - 1; f = 0 }
                }
                let w1 = Int32((f * 2048).rounded(.toNearestOrEven))
                let w0 = Int32(((1 - f) * 2048).rounded(.toNearestOrEven))
                return Tap(s0: min(max(s, 0), n - 1), s1: min(max(s + 1, 0), n - 1), w0: w0, w1: w1)
            }
        }
        let xt = taps(width, outW, resetAtBorders: true)
        let yt = taps(height, outH, resetAtBorders: false)
        let c = channels
        // Horizontal pass for every source row that some output row reads.
        var rows = [Int32](repeating: 0, count: height * outW * c)
        var needed = [Bool](repeating: false, count: height)
        for t in yt { needed[t.s0] = true; needed[t.s1] = true }
        pixels.withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height where needed[y] {
                    let srow = y * width * c, drow = y * outW * c
                    for (d, t) in xt.enumerated() {
                        for ch in 0..<c {
                            dst[drow + d * c + ch] = Int32(src[srow + t.s0 * c + ch]) * t.w0 + Int32(src[srow + t.s1 * c + ch]) * t.w1
                        }
                    }
                }
            }
        }
        var out = [UInt8](repeating: 0, count: outW * outH * c)
        rows.withUnsafeBufferPointer { rowsBuf in
            out.withUnsafeMutableBufferPointer { dst in
                for (dy, t) in yt.enumerated() {
                    let r0 = t.s0 * outW * c, r1 = t.s1 * outW * c
                    let b0 = Int64(t.w0), b1 = Int64(t.w1)
                    for i in 0..<(outW * c) {
                        let v0 = (b0 * Int64(rowsBuf[r0 + i] >> 4)) >> 16
                        let v1 = (b1 * Int64(rowsBuf[r1 + i] >> 4)) >> 16
                        let v = (v0 + v1 + 2) >> 2
                        dst[dy * outW * c + i] = UInt8(clamping: v)
                    }
                }
            }
        }
        return Image(width: outW, height: outH, channels: c, pixels: out)
    }

    /// Pillow's resampling filters.
    public enum PILFilter: Sendable {
        case bilinear, bicubic

        var support: Double { self == .bilinear ? 1 : 2 }

        func weight(_ xIn: Double) -> Double {
            let x = abs(xIn)
            switch self {
            case .bilinear:
                return x < 1 ? 1 - x : 0
            case .bicubic:
                let a = -0.5
                if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
                return 0
            }
        }
    }

    /// `PIL.Image.resize((w, h), filter)` on 8-bit RGB/L, bit-exact with Pillow's fixed-point
    /// two-pass resampler (antialiased when shrinking: the filter widens with the scale).
    public func resizedPIL(width outW: Int, height outH: Int, filter: PILFilter) -> Image {
        precondition(outW > 0 && outH > 0, "resize to an empty image")
        if outW == width && outH == height { return self }
        let precision = 22
        struct Coeffs { var bounds: [(Int, Int)]; var k: [Int32]; var size: Int }
        func coeffs(_ inSize: Int, _ outSize: Int) -> Coeffs {
            let scale = Double(inSize) / Double(outSize)
            let filterScale = max(scale, 1)
            let support = filter.support * filterScale
            let ksize = Int(ceil(support)) * 2 + 1
            var bounds = [(Int, Int)]()
            var kk = [Int32](repeating: 0, count: outSize * ksize)
            for xx in 0..<outSize {
                let center = (Double(xx) + 0.5) * scale
                let ss = 1 / filterScale
                var xmin = Int(center - support + 0.5)
                if xmin < 0 { xmin = 0 }
                var xmax = Int(center + support + 0.5)
                if xmax > inSize { xmax = inSize }
                xmax -= xmin
                var w = [Double](repeating: 0, count: xmax)
                var ww = 0.0
                for x in 0..<xmax {
                    w[x] = filter.weight((Double(x + xmin) - center + 0.5) * ss)
                    ww += w[x]
                }
                for x in 0..<xmax {
                    let v = ww != 0 ? w[x] / ww : w[x]
                    kk[xx * ksize + x] = v < 0 ? Int32(-0.5 + v * Double(1 << precision)) : Int32(0.5 + v * Double(1 << precision))
                }
                bounds.append((xmin, xmax))
            }
            return Coeffs(bounds: bounds, k: kk, size: ksize)
        }
        @inline(__always) func clip8(_ v: Int64) -> UInt8 {
            let s = v >> Int64(precision)
            return s < 0 ? 0 : (s > 255 ? 255 : UInt8(s))
        }
        let c = channels
        let half = Int64(1) << Int64(precision - 1)
        let cy = coeffs(height, outH)
        let cx = coeffs(width, outW)
        // Horizontal pass over the rows the vertical pass will read.
        let yFirst = cy.bounds[0].0
        let yLast = cy.bounds[outH - 1].0 + cy.bounds[outH - 1].1
        var tmp: Image
        if outW != width {
            let rows = yLast - yFirst
            var t = [UInt8](repeating: 0, count: rows * outW * c)
            for y in 0..<rows {
                let srow = (y + yFirst) * width * c
                for xx in 0..<outW {
                    let (xmin, xmax) = cx.bounds[xx]
                    for ch in 0..<c {
                        var ss = half
                        for x in 0..<xmax { ss += Int64(pixels[srow + (x + xmin) * c + ch]) * Int64(cx.k[xx * cx.size + x]) }
                        t[(y * outW + xx) * c + ch] = clip8(ss)
                    }
                }
            }
            tmp = Image(width: outW, height: rows, channels: c, pixels: t)
        } else {
            tmp = self
        }
        if outH == height && outW != width { return tmp }
        let shift = outW != width ? yFirst : 0
        var out = [UInt8](repeating: 0, count: outW * outH * c)
        for yy in 0..<outH {
            let (ymin, ymax) = cy.bounds[yy]
            for xx in 0..<outW {
                for ch in 0..<c {
                    var ss = half
                    for y in 0..<ymax { ss += Int64(tmp.pixels[((y + ymin - shift) * outW + xx) * c + ch]) * Int64(cy.k[yy * cy.size + y]) }
                    out[(yy * outW + xx) * c + ch] = clip8(ss)
                }
            }
        }
        return Image(width: outW, height: outH, channels: c, pixels: out)
    }

    /// A `w × h` window starting at (x, y); must lie inside the image.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> Image {
        precondition(x >= 0 && y >= 0 && x + w <= width && y + h <= height, "crop outside the image")
        var out = [UInt8](repeating: 0, count: w * h * channels)
        for r in 0..<h {
            let s = ((y + r) * width + x) * channels
            out.replaceSubrange((r * w * channels)..<((r + 1) * w * channels), with: pixels[s..<(s + w * channels)])
        }
        return Image(width: w, height: h, channels: channels, pixels: out)
    }

    /// Mirror left-right.
    public func flippedHorizontally() -> Image {
        var out = pixels
        for y in 0..<height {
            for x in 0..<width {
                for ch in 0..<channels { out[(y * width + x) * channels + ch] = pixels[(y * width + width - 1 - x) * channels + ch] }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: out)
    }

    /// Float32 HWC values (v − mean[c]) / std[c] on the 0–255 scale, with a float32 division as
    /// mmseg 1.x / mmdet 3.x data preprocessors compute it.
    public func normalized(mean: [Float], std: [Float]) -> [Float] {
        precondition(mean.count == channels && std.count == channels, "mean/std need \(channels) values")
        var out = [Float](repeating: 0, count: pixels.count)
        for i in 0..<pixels.count {
            let ch = i % channels
            out[i] = (Float(pixels[i]) - mean[ch]) / std[ch]
        }
        return out
    }

    /// Float32 HWC values as torchvision's ToTensor + Normalize: (v/255 − mean[c]) / std[c].
    public func normalizedTorchvision(mean: [Float], std: [Float]) -> [Float] {
        precondition(mean.count == channels && std.count == channels, "mean/std need \(channels) values")
        var out = [Float](repeating: 0, count: pixels.count)
        for i in 0..<pixels.count {
            let ch = i % channels
            out[i] = (Float(pixels[i]) / 255 - mean[ch]) / std[ch]
        }
        return out
    }
}
