#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RepLKKernelCore

/// Bilinear resize of NHWC rows `row0 ..< row1` (row = n·outH + oy).
package func resizeBilinearRows(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels C: Int,
                               _ y: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int,
                               yTaps: [LinearTap], xTaps: [LinearTap], row0: Int, row1: Int) {
    for row in row0..<row1 {
        let n = row / outHeight
        let oy = row - n * outHeight
        let ty = yTaps[oy]
        let r0 = x + (n * height + ty.i0) * width * C
        let r1 = x + (n * height + ty.i1) * width * C
        let wy0 = V16(repeating: ty.w0), wy1 = V16(repeating: ty.w1)
        for ox in 0..<outWidth {
            let tx = xTaps[ox]
            let wx0 = V16(repeating: tx.w0), wx1 = V16(repeating: tx.w1)
            let o = y + (row * outWidth + ox) * C
            let p00 = r0 + tx.i0 * C, p01 = r0 + tx.i1 * C, p10 = r1 + tx.i0 * C, p11 = r1 + tx.i1 * C
            var c = 0
            while c + 16 <= C {
                let top = wx0 * load16(p00 + c) + wx1 * load16(p01 + c)
                let bot = wx0 * load16(p10 + c) + wx1 * load16(p11 + c)
                store16(wy0 * top + wy1 * bot, o + c)
                c += 16
            }
            if c < C && C >= 16 {
                // The last channels as one vector ending at C, overlapping the previous one: the same
                // operations per channel, so the overlap is written twice with the same values
                // (150 ADE20K logits: 9 vectors and 6 scalar channels per pixel before).
                let e = C - 16
                let top = wx0 * load16(p00 + e) + wx1 * load16(p01 + e)
                let bot = wx0 * load16(p10 + e) + wx1 * load16(p11 + e)
                store16(wy0 * top + wy1 * bot, o + e)
                c = C
            }
            while c < C {
                let top = tx.w0 * p00[c] + tx.w1 * p01[c]
                let bot = tx.w0 * p10[c] + tx.w1 * p11[c]
                o[c] = ty.w0 * top + ty.w1 * bot
                c += 1
            }
        }
    }
}

/// Nearest-neighbour resize (PyTorch `mode='nearest'`: source = floor(dst · in / out)).
package func resizeNearestRows(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels C: Int,
                              _ y: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int, row0: Int, row1: Int) {
    let sh = Float(height) / Float(outHeight), sw = Float(width) / Float(outWidth)
    for row in row0..<row1 {
        let n = row / outHeight
        let oy = row - n * outHeight
        let iy = min(Int(floorf(Float(oy) * sh)), height - 1)
        for ox in 0..<outWidth {
            let ix = min(Int(floorf(Float(ox) * sw)), width - 1)
            (y + (row * outWidth + ox) * C).update(from: x + ((n * height + iy) * width + ix) * C, count: C)
        }
    }
}

/// Adaptive average pooling to `outH × outW` bins (bin k covers [floor(k·H/out), ceil((k+1)·H/out))).
package func adaptiveAvgPool(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels C: Int,
                            _ y: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
    for n in 0..<batch {
        for oy in 0..<outHeight {
            let y0 = (oy * height) / outHeight
            let y1 = ((oy + 1) * height + outHeight - 1) / outHeight
            for ox in 0..<outWidth {
                let x0 = (ox * width) / outWidth
                let x1 = ((ox + 1) * width + outWidth - 1) / outWidth
                let o = y + ((n * outHeight + oy) * outWidth + ox) * C
                for c in 0..<C { o[c] = 0 }
                for iy in y0..<y1 {
                    for ix in x0..<x1 {
                        let p = x + ((n * height + iy) * width + ix) * C
                        for c in 0..<C { o[c] += p[c] }
                    }
                }
                let count = Float((y1 - y0) * (x1 - x0))
                for c in 0..<C { o[c] /= count }
            }
        }
    }
}

/// Max pooling with padding (padded positions never win), NHWC.
package func maxPool(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels C: Int,
                    kernel: Int, stride: Int, padding: Int,
                    _ y: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
    for n in 0..<batch {
        for oy in 0..<outHeight {
            for ox in 0..<outWidth {
                let o = y + ((n * outHeight + oy) * outWidth + ox) * C
                for c in 0..<C { o[c] = -Float.infinity }
                for ky in 0..<kernel {
                    let iy = oy * stride - padding + ky
                    if iy < 0 || iy >= height { continue }
                    for kx in 0..<kernel {
                        let ix = ox * stride - padding + kx
                        if ix < 0 || ix >= width { continue }
                        let p = x + ((n * height + iy) * width + ix) * C
                        for c in 0..<C where p[c] > o[c] || p[c].isNaN { o[c] = p[c] }
                    }
                }
            }
        }
    }
}
