import RepLKCHints
import RepLKKernelCore

/// Depth-wise convolution for output rows `row0 ..< row1` (row = n·outHeight + oy).
/// `weights` are tap-major: weight of channel c at (ky, kx) is `weights[(ky·kW + kx)·C + c]`.
/// Taps that fall in the zero padding are skipped, so kernels larger than the map are fine.
package func depthwiseConvRows(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry,
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

/// Copies input row `iy` of channel block `cb` of image `n` (NHWC) into one blocked scratch row,
/// from pixel `padLeft` on: the row's 16 channels per pixel (zero past the last channel). The
/// columns either side are left as they are: the AVX-512 tiles skip every input outside the map
/// (zeroing them took a third of the copy on a 7×7 stack of 32² maps).
@inline(__always)
func blockInputRow(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, image n: Int, block cb: Int, row iy: Int,
                   into dst: UnsafeMutablePointer<Float>) {
    let C = g.channels
    let lanes = min(16, C - cb * 16)
    let src = x + ((n * g.height + iy) * g.width) * C + cb * 16
    let d = dst + g.padLeft * 16
    if lanes == 16 {
        for ix in 0..<g.width { store16(load16(src + ix * C), d + ix * 16) }
    } else {
        for ix in 0..<g.width {
            for l in 0..<16 { d[ix * 16 + l] = l < lanes ? src[ix * C + l] : 0 }
        }
    }
}

#if REPLK_V3
/// The AVX2 build's form of `blockInputRow`: the row's channels 0–7 of the block go to `low` and
/// 8–15 to `high` (written only when the block has more than 8 channels), 8 floats per pixel, with
/// the same zero columns. A tile then uses each 64-byte line it pulls into L1 whole, where the
/// 16-lane pixels gave it half a line per load.
@inline(__always)
func blockInputRowHalves(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, image n: Int, block cb: Int, row iy: Int,
                         rowLength: Int, low: UnsafeMutablePointer<Float>, high: UnsafeMutablePointer<Float>) {
    let C = g.channels
    let lanes = min(16, C - cb * 16)
    let tail = (rowLength - g.padLeft - g.width) * 8
    low.update(repeating: 0, count: g.padLeft * 8)
    (low + (g.padLeft + g.width) * 8).update(repeating: 0, count: tail)
    if lanes > 8 {
        high.update(repeating: 0, count: g.padLeft * 8)
        (high + (g.padLeft + g.width) * 8).update(repeating: 0, count: tail)
    }
    let src = x + ((n * g.height + iy) * g.width) * C + cb * 16
    let lo = low + g.padLeft * 8, hi = high + g.padLeft * 8
    if lanes == 16 {
        for ix in 0..<g.width {
            store8(load8(src + ix * C), lo + ix * 8)
            store8(load8(src + ix * C + 8), hi + ix * 8)
        }
    } else {
        for ix in 0..<g.width {
            for l in 0..<8 { lo[ix * 8 + l] = l < lanes ? src[ix * C + l] : 0 }
            if lanes > 8 { for l in 0..<8 { hi[ix * 8 + l] = l + 8 < lanes ? src[ix * C + 8 + l] : 0 } }
        }
    }
}

/// Splits one channel block's blocked weights (`taps` × 16 lanes) into two planes of `taps` × 8 lanes.
@inline(__always)
func splitBlockWeights(_ w: UnsafePointer<Float>, taps: Int, into d: UnsafeMutablePointer<Float>) {
    for t in 0..<taps {
        store8(load8(w + t * 16), d + t * 8)
        store8(load8(w + t * 16 + 8), d + (taps + t) * 8)
    }
}
#endif

#if !REPLK_V3
/// The generated tile of width `T` (16, 14 or 8; see `depthwiseTileWidth`).
@inline(__always)
func depthwiseTile(_ T: Int, rows: UnsafePointer<Float>, rowStride: Int, rowCount: Int, weights: UnsafePointer<Float>,
                   kernelW: Int, kxRange: Range<Int>, bias: V16, activation: Activation,
                   output: UnsafeMutablePointer<Float>, outputStride: Int, valid: Int, lanes: Int,
                   wrapRow: Int = Int.max, wrapBack: Int = 0, inputs: Range<Int> = (Int.min / 2)..<(Int.max / 2)) {
    let inputLo = inputs.lowerBound, inputHi = inputs.upperBound
    switch T {
    case 16:
        depthwiseTile16(rows: rows, rowStride: rowStride, rowCount: rowCount, weights: weights, kernelW: kernelW,
                        kxRange: kxRange, bias: bias, activation: activation, output: output, outputStride: outputStride,
                        valid: valid, lanes: lanes, wrapRow: wrapRow, wrapBack: wrapBack,
                        inputLo: inputLo, inputHi: inputHi)
    case 14:
        depthwiseTile14(rows: rows, rowStride: rowStride, rowCount: rowCount, weights: weights, kernelW: kernelW,
                        kxRange: kxRange, bias: bias, activation: activation, output: output, outputStride: outputStride,
                        valid: valid, lanes: lanes, wrapRow: wrapRow, wrapBack: wrapBack,
                        inputLo: inputLo, inputHi: inputHi)
    default:
        depthwiseTile8(rows: rows, rowStride: rowStride, rowCount: rowCount, weights: weights, kernelW: kernelW,
                       kxRange: kxRange, bias: bias, activation: activation, output: output, outputStride: outputStride,
                       valid: valid, lanes: lanes, wrapRow: wrapRow, wrapBack: wrapBack,
                       inputLo: inputLo, inputHi: inputHi)
    }
}
#endif

/// What one task of `DepthwiseBands` covers (image, channel block, output rows, channels in its
/// block and their bias), and the copying of the input rows it reads into its scratch.
struct DepthwiseBandTask {
    let n: Int, cb: Int, oy0: Int, oy1: Int, lanes: Int
    var bias = V16()
    /// Scratch row r holds input row `iyFirst + r`.
    let iyFirst: Int
    /// Floats between scratch rows (16 lanes per pixel; the AVX2 build: 8, in two half-planes).
    let rowStride: Int

    @inline(__always)
    init(_ task: Int, _ g: DepthwiseGeometry, _ bands: DepthwiseBands, bias: UnsafePointer<Float>?) {
        let band = task % bands.bandsPerPlane
        let nb = task / bands.bandsPerPlane
        cb = nb % bands.blocks
        n = nb / bands.blocks
        oy0 = band * bands.bandRows
        oy1 = min(g.outHeight, oy0 + bands.bandRows)
        lanes = min(16, g.channels - cb * 16)
        if let bias { for l in 0..<lanes { self.bias[l] = bias[cb * 16 + l] } }
        iyFirst = max(0, oy0 - g.padTop)
        #if REPLK_V3
        rowStride = bands.rowLength * 8
        #else
        rowStride = bands.rowLength * 16
        #endif
    }

    /// Copies input rows `copied ..< end` into the scratch and advances `copied`: rows are copied
    /// just before the first output row that needs them.
    @inline(__always)
    func copyRows(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, _ bands: DepthwiseBands, upTo end: Int,
                  copied: inout Int, scratch: UnsafeMutablePointer<Float>) {
        while copied < end {
            let r = scratch + (copied - iyFirst) * rowStride
            #if REPLK_V3
            blockInputRowHalves(x, g, image: n, block: cb, row: copied, rowLength: bands.rowLength,
                                low: r, high: r + bands.inputScratchCount / 2)
            #else
            blockInputRow(x, g, image: n, block: cb, row: copied, into: r)
            #endif
            copied += 1
        }
        // The next row to copy, towards L2 while this output row is computed: its pixels are
        // lines `C` floats apart in NHWC, a stride the hardware prefetchers do not follow.
        if copied < g.height && bands.prefetchesRows {
            let src = UnsafeRawPointer(x + ((n * g.height + copied) * g.width) * g.channels + cb * 16)
            let stride = g.channels * 4
            for ix in 0..<g.width { replk_prefetch_l2(src + ix * stride) }
        }
    }

    /// Asks for the lines of output row `oy` of this block for writing, ahead of the tiles' stores.
    @inline(__always)
    func prefetchOutputRow(_ y: UnsafeMutablePointer<Float>, _ g: DepthwiseGeometry, _ bands: DepthwiseBands, row oy: Int) {
        if oy >= oy1 || !bands.prefetchesRows { return }
        let out = UnsafeRawPointer(y + ((n * g.outHeight + oy) * g.outWidth) * g.channels + cb * 16)
        let stride = g.channels * 4
        for ox in 0..<g.outWidth { replk_prefetch_write(out + ox * stride) }
    }
}

/// The band of `depthwiseConvBand` when `g.windowCoversRow`. Output `ox` of a row is
/// Σ_ix in[ix] · w[ix − ox + padLeft] over the whole input row; numbered from the right,
/// u = outWidth − 1 − ox, that is Σ_ix w[u + ix + s] · in[ix] with s = padLeft − outWidth + 1 ≥ 0:
/// the tiles' correlation with the kernel row as their "input" and the input row as their "taps",
/// every pair of which lands in the map, stored right to left.
func depthwiseConvBandMirrored(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, _ bands: DepthwiseBands, task: Int,
                               scratch: UnsafeMutablePointer<Float>, blockedWeights: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, activation: Activation, _ y: UnsafeMutablePointer<Float>) {
    let C = g.channels, K = g.kernelW, W = g.width
    #if REPLK_V3
    let T = 8
    #else
    let T = depthwiseTileWidth(g.outWidth)
    #endif
    let t = DepthwiseBandTask(task, g, bands, bias: bias)
    let cb = t.cb, lanes = t.lanes, b = t.bias, rowStride = t.rowStride, iyFirst = t.iyFirst
    let shift = g.padLeft - g.outWidth + 1
    let taps = bands.kernelTaps
    // This block's kernel, copied next to the rows (the AVX2 build: split into two planes of 8
    // lanes), then zeros that tiles read past the last kernel row for outputs they do not store.
    // Read in place, its rows (each used in part, as the "input" of the tiles) came from L3 and
    // the band ran 1.5× slower.
    let localWeights = scratch + bands.inputScratchCount
    #if REPLK_V3
    splitBlockWeights(blockedWeights + cb * taps * 16, taps: taps, into: localWeights)
    let halfPlane = bands.inputScratchCount / 2
    #else
    localWeights.update(from: blockedWeights + cb * taps * 16, count: taps * 16)
    #endif
    (localWeights + taps * 16).update(repeating: 0, count: 16 * 16)
    var copied = iyFirst
    for oy in t.oy0..<t.oy1 {
        let ky = g.kernelRows(outputRow: oy), kyLo = ky.lowerBound, kyHi = ky.upperBound
        t.copyRows(x, g, bands, upTo: oy - g.padTop + kyHi, copied: &copied, scratch: scratch)
        let tapRange = 0..<W
        let out = y + ((t.n * g.outHeight + oy) * g.outWidth) * C + cb * 16
        #if REPLK_V3
        // The tiles' taps: the input rows from their first pixel (past the zero columns).
        let inputs = scratch + max(0, oy - g.padTop + kyLo - iyFirst) * rowStride + g.padLeft * 8
        let kernelRows = localWeights + (kyLo * K + shift) * 8
        #else
        let inputs = scratch + max(0, oy - g.padTop + kyLo - iyFirst) * rowStride + g.padLeft * 16
        let kernelRows = localWeights + (kyLo * K + shift) * 16
        #endif
        var u0 = 0
        while u0 < g.outWidth {
            let valid = min(T, g.outWidth - u0)
            let o = out + (g.outWidth - 1 - u0) * C
            #if REPLK_V3
            for half in 0..<(lanes > 8 ? 2 : 1) {
                depthwiseHalfTile8(rows: kernelRows + half * taps * 8 + u0 * 8, rowStride: K * 8, rowCount: kyHi - kyLo,
                                   weights: inputs + half * halfPlane, kernelW: bands.rowLength, kxRange: tapRange,
                                   bias: half == 0 ? b.lowHalf : b.highHalf, activation: activation, output: o + half * 8,
                                   outputStride: -C, valid: valid, lanes: min(8, lanes - half * 8))
            }
            #else
            depthwiseTile(T, rows: kernelRows + u0 * 16, rowStride: K * 16, rowCount: kyHi - kyLo, weights: inputs,
                          kernelW: bands.rowLength, kxRange: tapRange, bias: b, activation: activation, output: o,
                          outputStride: -C, valid: valid, lanes: lanes)
            #endif
            u0 += T
        }
    }
}

/// Stride-1 depth-wise conv of task `task` of `bands` (one band of output rows of one channel block
/// of one image), reading the NHWC input `x` through `scratch` (`bands.scratchCount` floats, this
/// thread's own). Only taps that reach the map for some output of a tile are run.
package func depthwiseConvBand(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, _ bands: DepthwiseBands, task: Int,
                              scratch: UnsafeMutablePointer<Float>, blockedWeights: UnsafePointer<Float>,
                              bias: UnsafePointer<Float>?, activation: Activation, _ y: UnsafeMutablePointer<Float>) {
    if g.windowCoversRow {
        depthwiseConvBandMirrored(x, g, bands, task: task, scratch: scratch, blockedWeights: blockedWeights,
                                  bias: bias, activation: activation, y)
        return
    }
    let C = g.channels
    #if REPLK_V3
    let T = 8
    #else
    let T = depthwiseTileWidth(g.outWidth)
    #endif
    let K = g.kernelW
    let t = DepthwiseBandTask(task, g, bands, bias: bias)
    let cb = t.cb, n = t.n, lanes = t.lanes, b = t.bias, rowStride = t.rowStride, iyFirst = t.iyFirst
    #if REPLK_V3
    // Two half-planes of 8 lanes (input rows, then this block's weights split the same way).
    let halfPlane = bands.inputScratchCount / 2
    let taps = g.kernelH * K
    let halfWeights = scratch + bands.inputScratchCount
    splitBlockWeights(blockedWeights + cb * taps * 16, taps: taps, into: halfWeights)
    #endif
    var copied = iyFirst
    for oy in t.oy0..<t.oy1 {
        let ky = g.kernelRows(outputRow: oy), kyLo = ky.lowerBound, kyHi = ky.upperBound
        t.copyRows(x, g, bands, upTo: oy - g.padTop + kyHi, copied: &copied, scratch: scratch)
        t.prefetchOutputRow(y, g, bands, row: oy + 1)
        // With no kernel row inside the map (padding taller than the kernel) the tiles store the bias.
        let rows = scratch + max(0, oy - g.padTop + kyLo - iyFirst) * rowStride
        #if REPLK_V3
        let wts = halfWeights + kyLo * K * 8
        #else
        let wts = blockedWeights + (cb * g.kernelH + kyLo) * K * 16
        #endif
        let out = y + ((n * g.outHeight + oy) * g.outWidth) * C + cb * 16
        var ox0 = 0
        while ox0 < g.outWidth {
            let valid = min(T, g.outWidth - ox0)
            // Taps that land inside the map for at least one output of the tile.
            let tileTaps = g.tileTaps(from: ox0, valid: valid)
            let o = out + ox0 * C
            #if REPLK_V3
            // Two halves of 8 lanes (the second only if the block has more than 8 channels).
            for half in 0..<(lanes > 8 ? 2 : 1) {
                depthwiseHalfTile8(rows: rows + half * halfPlane + ox0 * 8, rowStride: rowStride, rowCount: kyHi - kyLo,
                                   weights: wts + half * taps * 8, kernelW: K, kxRange: tileTaps,
                                   bias: half == 0 ? b.lowHalf : b.highHalf, activation: activation, output: o + half * 8,
                                   outputStride: C, valid: valid, lanes: min(8, lanes - half * 8))
            }
            #else
            depthwiseTile(T, rows: rows + ox0 * 16, rowStride: rowStride, rowCount: kyHi - kyLo, weights: wts, kernelW: K,
                          kxRange: tileTaps, bias: b, activation: activation, output: o, outputStride: C,
                          valid: valid, lanes: lanes, inputs: g.tileInputs(from: ox0))
            #endif
            ox0 += T
        }
    }
}

#if !REPLK_V3
/// Stride-1 depth-wise conv of task `task` of `strips` (one band of output rows of one group of
/// channel blocks of one image; see `DepthwiseStrips`), reading the NHWC input `x` through
/// `scratch` (`strips.scratchCount` floats, this thread's own). Only taps that reach the map for
/// some output of a tile are run.
package func depthwiseConvStrip(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, _ s: DepthwiseStrips, task: Int,
                               scratch: UnsafeMutablePointer<Float>, blockedWeights: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, activation: Activation, _ y: UnsafeMutablePointer<Float>) {
    let C = g.channels, K = g.kernelW, T = s.tileWidth, R = s.ringRows
    let group = task % s.groups
    let nb = task / s.groups
    let band = nb % s.bandsPerPlane, n = nb / s.bandsPerPlane
    let cb0 = group * s.groupBlocks
    let nBlocks = min(s.groupBlocks, s.blocks - cb0)
    let c0 = cb0 * 16
    let cCount = min(C, (cb0 + nBlocks) * 16) - c0
    let oy0 = band * s.bandRows, oy1 = min(g.outHeight, oy0 + s.bandRows)
    let rowStride = s.rowLength * 16, blockStride = R * rowStride
    let biases = scratch + s.ringCount
    for l in 0..<(nBlocks * 16) { biases[l] = l < cCount ? bias?[c0 + l] ?? 0 : 0 }
    // Copies write only the map's columns of each slot: the tiles skip inputs outside the map.
    var copied = max(0, oy0 - g.padTop)
    for oy in oy0..<oy1 {
        let ky = g.kernelRows(outputRow: oy), kyLo = ky.lowerBound, kyHi = ky.upperBound
        let first = oy - g.padTop + kyLo
        // Each input row once, every block of the group from one read of each pixel's channels.
        while copied < oy - g.padTop + kyHi {
            let src = x + ((n * g.height + copied) * g.width) * C + c0
            let dst = scratch + (copied % R) * rowStride + g.padLeft * 16
            if cCount == nBlocks * 16 {
                for ix in 0..<g.width {
                    let p = src + ix * C, d = dst + ix * 16
                    for b in 0..<nBlocks { store16(load16(p + b * 16), d + b * blockStride) }
                }
            } else {
                for ix in 0..<g.width {
                    for l in 0..<(nBlocks * 16) {
                        dst[(l / 16) * blockStride + ix * 16 + l % 16] = l < cCount ? src[ix * C + l] : 0
                    }
                }
            }
            copied += 1
        }
        let rowCount = kyHi - kyLo
        let slot0 = rowCount > 0 ? first % R : 0
        let out = y + ((n * g.outHeight + oy) * g.outWidth) * C + c0
        // The next input row to copy and the next output row, towards L2 a few pixels after each
        // tile, so that their lines arrive while the tiles compute instead of all at once when the
        // next row starts (the hardware prefetchers run only a few lines ahead of a burst).
        let nextIn = copied < g.height ? UnsafeRawPointer(x + ((n * g.height + copied) * g.width) * C + c0) : nil
        let nextOut = oy + 1 < oy1 ? UnsafeRawPointer(out + g.outWidth * C) : nil
        let calls = (g.outWidth + T - 1) / T * nBlocks
        var call = 0, pIn = 0, pOut = 0
        // The group's lines of pixels `p ..< end` of the row at `row`.
        @inline(__always) func hint(_ row: UnsafeRawPointer, pixels p: inout Int, upTo end: Int) {
            while p < end {
                for l in 0..<nBlocks { replk_prefetch_l2(row + (p * C + l * 16) * 4) }
                p += 1
            }
        }
        var ox0 = 0
        while ox0 < g.outWidth {
            let valid = min(T, g.outWidth - ox0)
            let tileTaps = g.tileTaps(from: ox0, valid: valid)
            for b in 0..<nBlocks {
                depthwiseTile(T, rows: scratch + b * blockStride + slot0 * rowStride + ox0 * 16, rowStride: rowStride,
                              rowCount: rowCount, weights: blockedWeights + ((cb0 + b) * g.kernelH + kyLo) * K * 16,
                              kernelW: K, kxRange: tileTaps, bias: load16(biases + b * 16),
                              activation: activation, output: out + ox0 * C + b * 16, outputStride: C, valid: valid,
                              lanes: min(16, cCount - b * 16), wrapRow: R - slot0, wrapBack: blockStride,
                              inputs: g.tileInputs(from: ox0))
                call += 1
                if let nextIn { hint(nextIn, pixels: &pIn, upTo: call * g.width / calls) }
                if let nextOut { hint(nextOut, pixels: &pOut, upTo: call * g.outWidth / calls) }
            }
            ox0 += T
        }
    }
}
#endif
