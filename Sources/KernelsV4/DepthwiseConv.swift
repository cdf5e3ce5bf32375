import KernelCore

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
                // Written out per accumulator: a nested store helper was compiled as a call per output.
                switch activation {
                case .none: break
                case .relu:
                    a0 = a0.replacing(with: 0, where: a0 .< 0); a1 = a1.replacing(with: 0, where: a1 .< 0)
                    a2 = a2.replacing(with: 0, where: a2 .< 0); a3 = a3.replacing(with: 0, where: a3 .< 0)
                    a4 = a4.replacing(with: 0, where: a4 .< 0); a5 = a5.replacing(with: 0, where: a5 .< 0)
                    a6 = a6.replacing(with: 0, where: a6 .< 0); a7 = a7.replacing(with: 0, where: a7 .< 0)
                case .gelu:
                    a0 = gelu16(a0); a1 = gelu16(a1); a2 = gelu16(a2); a3 = gelu16(a3)
                    a4 = gelu16(a4); a5 = gelu16(a5); a6 = gelu16(a6); a7 = gelu16(a7)
                }
                let o = out + ox0 * C + c0
                store16(a0, o)
                if tileW > 1 { store16(a1, o + C) }
                if tileW > 2 { store16(a2, o + 2 * C) }
                if tileW > 3 { store16(a3, o + 3 * C) }
                if tileW > 4 { store16(a4, o + 4 * C) }
                if tileW > 5 { store16(a5, o + 5 * C) }
                if tileW > 6 { store16(a6, o + 6 * C) }
                if tileW > 7 { store16(a7, o + 7 * C) }
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

/// Copies rows `r0..<r1` (row = (n·blocks + cb)·H + y) of an NHWC input into the blocked, padded layout.
public func blockDepthwiseInput(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, _ layout: BlockedDepthwiseInput,
                                into p: UnsafeMutablePointer<Float>, rows r0: Int, _ r1: Int) {
    let C = g.channels
    for r in r0..<r1 {
        let y = r % layout.height
        let nb = r / layout.height
        let cb = nb % layout.blocks, n = nb / layout.blocks
        let dst = p + r * layout.rowLength * 16
        let lanes = min(16, C - cb * 16)
        dst.update(repeating: 0, count: g.padLeft * 16)
        let tail = layout.rowLength - g.padLeft - g.width
        (dst + (g.padLeft + g.width) * 16).update(repeating: 0, count: tail * 16)
        let src = x + ((n * g.height + y) * g.width) * C + cb * 16
        if lanes == 16 {
            for ix in 0..<g.width { store16(load16(src + ix * C), dst + (g.padLeft + ix) * 16) }
        } else {
            for ix in 0..<g.width {
                let d = dst + (g.padLeft + ix) * 16
                for l in 0..<16 { d[l] = l < lanes ? src[ix * C + l] : 0 }
            }
        }
    }
}

/// Stride-1 depth-wise conv over the blocked input for output rows `row0..<row1`, row =
/// (n·blocks + cb)·outH + oy. Only taps that reach the map for some output of a tile are run.
public func depthwiseConvBlockedRows(_ p: UnsafePointer<Float>, _ g: DepthwiseGeometry, _ layout: BlockedDepthwiseInput,
                                     blockedWeights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: Activation,
                                     _ y: UnsafeMutablePointer<Float>, row0: Int, row1: Int) {
    let C = g.channels
    #if REPLK_V3
    let T = 8
    #else
    let T = depthwiseTileWidth(g.outWidth)
    #endif
    let K = g.kernelW
    for row in row0..<row1 {
        let oy = row % g.outHeight
        let nb = row / g.outHeight
        let cb = nb % layout.blocks, n = nb / layout.blocks
        let lanes = min(16, C - cb * 16)
        let kyLo = max(0, g.padTop - oy), kyHi = min(g.kernelH, g.height + g.padTop - oy)
        guard kyHi > kyLo else { continue }
        var b = V16()
        if let bias { for l in 0..<lanes { b[l] = bias[cb * 16 + l] } }
        let plane = p + (n * layout.blocks + cb) * layout.height * layout.rowLength * 16
        let rows = plane + (oy - g.padTop + kyLo) * layout.rowLength * 16
        let wts = blockedWeights + (cb * g.kernelH + kyLo) * K * 16
        let out = y + ((n * g.outHeight + oy) * g.outWidth) * C + cb * 16
        var ox0 = 0
        while ox0 < g.outWidth {
            let valid = min(T, g.outWidth - ox0)
            // Taps that land inside the map for at least one output of the tile.
            let kxLo = max(0, g.padLeft - (ox0 + valid - 1)), kxHi = min(K, g.width + g.padLeft - ox0)
            let tile = rows + ox0 * 16
            let o = out + ox0 * C
            #if REPLK_V3
            // Two halves of 8 lanes (the second only if the block has more than 8 channels).
            for half in 0..<(lanes > 8 ? 2 : 1) {
                depthwiseHalfTile8(rows: tile + half * 8, rowStride: layout.rowLength * 16, rowCount: kyHi - kyLo,
                                   weights: wts + half * 8, kernelW: K, kxRange: kxLo..<max(kxLo, kxHi),
                                   bias: half == 0 ? b.lowHalf : b.highHalf, activation: activation, output: o + half * 8,
                                   outputStride: C, valid: valid, lanes: min(8, lanes - half * 8))
            }
            #else
            switch T {
            case 16:
                depthwiseTile16(rows: tile, rowStride: layout.rowLength * 16, rowCount: kyHi - kyLo, weights: wts, kernelW: K,
                                kxRange: kxLo..<max(kxLo, kxHi), bias: b, activation: activation, output: o, outputStride: C,
                                valid: valid, lanes: lanes)
            case 14:
                depthwiseTile14(rows: tile, rowStride: layout.rowLength * 16, rowCount: kyHi - kyLo, weights: wts, kernelW: K,
                                kxRange: kxLo..<max(kxLo, kxHi), bias: b, activation: activation, output: o, outputStride: C,
                                valid: valid, lanes: lanes)
            default:
                depthwiseTile8(rows: tile, rowStride: layout.rowLength * 16, rowCount: kyHi - kyLo, weights: wts, kernelW: K,
                               kxRange: kxLo..<max(kxLo, kxHi), bias: b, activation: activation, output: o, outputStride: C,
                               valid: valid, lanes: lanes)
            }
            #endif
            ox0 += T
        }
    }
}
