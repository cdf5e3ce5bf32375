/// Geometry of a depth-wise convolution over NHWC tensors (one filter per channel).
public struct DepthwiseGeometry {
    public var batch, height, width, channels: Int
    public var kernelH, kernelW, strideH, strideW, padTop, padLeft, dilationH, dilationW: Int
    public var outHeight, outWidth: Int

    public init(batch: Int, height: Int, width: Int, channels: Int, kernelH: Int, kernelW: Int,
                strideH: Int, strideW: Int, padTop: Int, padLeft: Int, dilationH: Int, dilationW: Int,
                outHeight: Int, outWidth: Int) {
        self.batch = batch; self.height = height; self.width = width; self.channels = channels
        self.kernelH = kernelH; self.kernelW = kernelW; self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padLeft = padLeft; self.dilationH = dilationH; self.dilationW = dilationW
        self.outHeight = outHeight; self.outWidth = outWidth
    }
}

/// Depth-wise convolution for output rows `row0 ..< row1` (row = n·outHeight + oy).
/// `weights` are tap-major: weight of channel c at (ky, kx) is `weights[(ky·kW + kx)·C + c]`.
/// Taps that fall in the zero padding are skipped, so kernels larger than the map are fine.
public func depthwiseConvRows(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry,
                              weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              activation: Activation,
                              _ y: UnsafeMutablePointer<Float>, row0: Int, row1: Int) {
    let C = g.channels
    let T = 8
    for row in row0..<row1 {
        let n = row / g.outHeight
        let oy = row - n * g.outHeight
        let out = y + row * g.outWidth * C
        // Valid kernel rows for this output row.
        var kyLo = 0, kyHi = g.kernelH
        while kyLo < kyHi && oy * g.strideH - g.padTop + kyLo * g.dilationH < 0 { kyLo += 1 }
        while kyHi > kyLo && oy * g.strideH - g.padTop + (kyHi - 1) * g.dilationH >= g.height { kyHi -= 1 }
        let inBase = x + n * g.height * g.width * C
        var c0 = 0
        while c0 + 16 <= C {
            let b = bias.map { load16($0 + c0) } ?? V16()
            var ox0 = 0
            while ox0 < g.outWidth {
                let tileW = min(T, g.outWidth - ox0)
                var a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b
                for ky in kyLo..<kyHi {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                    let inRow = inBase + iy * g.width * C + c0
                    let wRow = weights + ky * g.kernelW * C + c0
                    for kx in 0..<g.kernelW {
                        let w = load16(wRow + kx * C)
                        let ixFirst = ox0 * g.strideW - g.padLeft + kx * g.dilationW
                        let ixLast = (ox0 + tileW - 1) * g.strideW - g.padLeft + kx * g.dilationW
                        if tileW == T && ixFirst >= 0 && ixLast < g.width {
                            let sx = g.strideW * C
                            let p = inRow + ixFirst * C
                            a0.addProduct(load16(p), w)
                            a1.addProduct(load16(p + sx), w)
                            a2.addProduct(load16(p + 2 * sx), w)
                            a3.addProduct(load16(p + 3 * sx), w)
                            a4.addProduct(load16(p + 4 * sx), w)
                            a5.addProduct(load16(p + 5 * sx), w)
                            a6.addProduct(load16(p + 6 * sx), w)
                            a7.addProduct(load16(p + 7 * sx), w)
                        } else {
                            @inline(__always) func tap(_ t: Int) -> V16 {
                                let ix = ixFirst + t * g.strideW
                                if t < tileW && ix >= 0 && ix < g.width { return load16(inRow + ix * C) * w }
                                return V16()
                            }
                            a0 += tap(0); a1 += tap(1); a2 += tap(2); a3 += tap(3)
                            a4 += tap(4); a5 += tap(5); a6 += tap(6); a7 += tap(7)
                        }
                    }
                }
                @inline(__always) func put(_ v: V16, _ t: Int) {
                    if t < tileW {
                        var r = v
                        switch activation {
                        case .none: break
                        case .relu: r = r.replacing(with: 0, where: r .< 0)
                        case .gelu: r = gelu16(r)
                        }
                        store16(r, out + (ox0 + t) * C + c0)
                    }
                }
                put(a0, 0); put(a1, 1); put(a2, 2); put(a3, 3); put(a4, 4); put(a5, 5); put(a6, 6); put(a7, 7)
                ox0 += T
            }
            c0 += 16
        }
        // Channels that do not fill a vector.
        while c0 < C {
            for ox in 0..<g.outWidth {
                var acc = bias?[c0] ?? 0
                for ky in kyLo..<kyHi {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                    for kx in 0..<g.kernelW {
                        let ix = ox * g.strideW - g.padLeft + kx * g.dilationW
                        if ix < 0 || ix >= g.width { continue }
                        acc += inBase[(iy * g.width + ix) * C + c0] * weights[(ky * g.kernelW + kx) * C + c0]
                    }
                }
                switch activation {
                case .none: break
                case .relu: acc = max(acc, 0)
                case .gelu: acc = geluScalar(acc)
                }
                out[ox * C + c0] = acc
            }
            c0 += 1
        }
    }
}
