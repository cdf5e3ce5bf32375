import RepLKKernelCore

/// RoIAlign (torchvision / mmcv `roi_align`, aligned, average, adaptive sampling grid) over one NHWC
/// feature map (batch 1), writing `[out, out, C]` per RoI. Arithmetic in float32 in the order of
/// torchvision's CPU kernel, so sampled values match to the last bit where the inputs do.
package func roiAlignNHWC(_ x: UnsafePointer<Float>, height: Int, width: Int, channels C: Int,
                         box: (Float, Float, Float, Float), spatialScale: Float, outputSize P: Int, aligned: Bool,
                         samplingRatio: Int, into out: UnsafeMutablePointer<Float>) {
    let offset: Float = aligned ? 0.5 : 0
    let startW = box.0 * spatialScale - offset
    let startH = box.1 * spatialScale - offset
    let endW = box.2 * spatialScale - offset
    let endH = box.3 * spatialScale - offset
    var roiW = endW - startW, roiH = endH - startH
    if !aligned { roiW = max(roiW, 1); roiH = max(roiH, 1) }
    let binH = roiH / Float(P), binW = roiW / Float(P)
    let gridH = samplingRatio > 0 ? samplingRatio : Int((roiH / Float(P)).rounded(.up))
    let gridW = samplingRatio > 0 ? samplingRatio : Int((roiW / Float(P)).rounded(.up))
    let count = Float(max(gridH * gridW, 1))
    let H = Float(height), W = Float(width)
    for ph in 0..<P {
        for pw in 0..<P {
            let o = out + (ph * P + pw) * C
            for c in 0..<C { o[c] = 0 }
            for iy in 0..<gridH {
                let yy = startH + Float(ph) * binH + (Float(iy) + 0.5) * binH / Float(gridH)
                for ix in 0..<gridW {
                    let xx = startW + Float(pw) * binW + (Float(ix) + 0.5) * binW / Float(gridW)
                    var y = yy, xv = xx
                    if y < -1 || y > H || xv < -1 || xv > W { continue }
                    if y <= 0 { y = 0 }
                    if xv <= 0 { xv = 0 }
                    var yLow = Int(y), xLow = Int(xv)
                    var yHigh: Int, xHigh: Int
                    if yLow >= height - 1 { yLow = height - 1; yHigh = yLow; y = Float(yLow) } else { yHigh = yLow + 1 }
                    if xLow >= width - 1 { xLow = width - 1; xHigh = xLow; xv = Float(xLow) } else { xHigh = xLow + 1 }
                    let ly = y - Float(yLow), lx = xv - Float(xLow)
                    let hy = 1 - ly, hx = 1 - lx
                    let w1 = hy * hx, w2 = hy * lx, w3 = ly * hx, w4 = ly * lx
                    let p1 = x + (yLow * width + xLow) * C, p2 = x + (yLow * width + xHigh) * C
                    let p3 = x + (yHigh * width + xLow) * C, p4 = x + (yHigh * width + xHigh) * C
                    var c = 0
                    let v1 = V16(repeating: w1), v2 = V16(repeating: w2), v3 = V16(repeating: w3), v4 = V16(repeating: w4)
                    while c + 16 <= C {
                        var s = v1 * load16(p1 + c)
                        s += v2 * load16(p2 + c)
                        s += v3 * load16(p3 + c)
                        s += v4 * load16(p4 + c)
                        store16(load16(o + c) + s, o + c)
                        c += 16
                    }
                    while c < C {
                        o[c] += w1 * p1[c] + w2 * p2[c] + w3 * p3[c] + w4 * p4[c]
                        c += 1
                    }
                }
            }
            for c in 0..<C { o[c] /= count }
        }
    }
}
