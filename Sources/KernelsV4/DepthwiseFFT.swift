import RepLKKernelCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Depth-wise convolution by 2-D FFTs of 64 × 64 points (overlap-save), for large kernels on maps
// where the direct tiles compute most taps: 31×31 on 32² does 9.3 × 10⁵ MACs per channel directly
// and about a fifth of that in vector operations through the transforms.
//
// Two 16-channel blocks share one complex transform (the first as the real parts, the second as
// the imaginary parts, a channel per lane), so every butterfly is plain 16-lane arithmetic with no
// shuffles. A 64-point transform is two passes of 8-point DFTs with twiddles between (64 = 8 · 8);
// its output is in base-8 digit-reversed order (position 8·k1 + k2 holds frequency k1 + 8·k2) and
// the inverse takes that order back, so nothing is ever permuted. The inverse is the forward
// transform of the values with their real and imaginary parts swapped (swap(IDFT(v)) = DFT(swap(v))),
// so it runs the same code with the two halves of each point read the other way round.

/// 16 lanes of complex values.
struct CV16 {
    var re: V16, im: V16

    @inline(__always) static func + (a: CV16, b: CV16) -> CV16 { CV16(re: a.re + b.re, im: a.im + b.im) }
    @inline(__always) static func - (a: CV16, b: CV16) -> CV16 { CV16(re: a.re - b.re, im: a.im - b.im) }
    /// × (−i).
    @inline(__always) var timesMinusI: CV16 { CV16(re: im, im: -re) }
    /// × e^(−iπ/4).
    @inline(__always) var timesW8: CV16 {
        let s = V16(repeating: 0.70710678118654752)
        return CV16(re: (re + im) * s, im: (im - re) * s)
    }
    /// × e^(−3iπ/4).
    @inline(__always) var timesW83: CV16 {
        let s = V16(repeating: 0.70710678118654752)
        return CV16(re: (im - re) * s, im: (re + im) * -s)
    }
    /// × (c + i·s) for scalars c, s.
    @inline(__always) func times(_ c: Float, _ s: Float) -> CV16 {
        CV16(re: (re * V16(repeating: c)).addingProduct(im, V16(repeating: -s)),
             im: (re * V16(repeating: s)).addingProduct(im, V16(repeating: c)))
    }
    /// a · b.
    @inline(__always) static func * (a: CV16, b: CV16) -> CV16 {
        CV16(re: (a.re * b.re).addingProduct(-a.im, b.im), im: (a.re * b.im).addingProduct(a.im, b.re))
    }
}

/// A point of a transform buffer: `re` and `im` are the offsets of its real and imaginary lanes
/// (0 and 16, or 16 and 0 for the swapped view of the inverse).
@inline(__always) func loadPoint(_ p: UnsafePointer<Float>, _ re: Int, _ im: Int) -> CV16 {
    CV16(re: load16(p + re), im: load16(p + im))
}
@inline(__always) func storePoint(_ v: CV16, _ p: UnsafeMutablePointer<Float>, _ re: Int, _ im: Int) {
    store16(v.re, p + re); store16(v.im, p + im)
}

/// The 8-point DFT (e^(−2πi·nk/8)) of x0 … x7, in natural order.
@inline(__always)
func dft8(_ x0: CV16, _ x1: CV16, _ x2: CV16, _ x3: CV16, _ x4: CV16, _ x5: CV16, _ x6: CV16, _ x7: CV16)
    -> (CV16, CV16, CV16, CV16, CV16, CV16, CV16, CV16) {
    let t0 = x0 + x4, t1 = x0 - x4, t2 = x2 + x6, t3 = (x2 - x6).timesMinusI
    let e0 = t0 + t2, e2 = t0 - t2, e1 = t1 + t3, e3 = t1 - t3
    let u0 = x1 + x5, u1 = x1 - x5, u2 = x3 + x7, u3 = (x3 - x7).timesMinusI
    let o0 = u0 + u2, o2 = (u0 - u2).timesMinusI, o1 = (u1 + u3).timesW8, o3 = (u1 - u3).timesW83
    return (e0 + o0, e1 + o1, e2 + o2, e3 + o3, e0 - o0, e1 - o1, e2 - o2, e3 - o3)
}

/// W64^m = e^(−2πi·m/64) as (cos, sin) pairs, m = 0 ..< 64.
let fftTwiddles: [Float] = (0..<64).flatMap { m -> [Float] in
    let a = -2 * Double.pi * Double(m) / 64
    return [Float(cos(a)), Float(sin(a))]
}

/// Position of the frequency that pairs with the one at position `p` (f ↦ −f mod 64).
let fftPartners: [Int32] = (0..<64).map { p in
    let f = (p >> 3) + 8 * (p & 7)
    let g = (64 - f) & 63
    return Int32(8 * (g & 7) + (g >> 3))
}

/// Forward 64-point transform, natural order in, digit-reversed out. Point j is read from
/// `src + (j − lo)·srcStride` for j in `lo ..< hi` (zero elsewhere) and the result is written to
/// the contiguous points at `dst` (`pointFloats` apart; `dst` may be `src` when `srcStride` is
/// that and the range is whole).
@inline(__always)
func fft64Forward(src: UnsafePointer<Float>, srcStride: Int, lo: Int, hi: Int,
                  dst: UnsafeMutablePointer<Float>, tw: UnsafePointer<Float>) {
    let ps = DepthwiseFFT.pointFloats
    @inline(__always) func point(_ j: Int) -> CV16 {
        j >= lo && j < hi ? loadPoint(src + (j - lo) * srcStride, 0, 16) : CV16(re: V16(), im: V16())
    }
    // Pass 1: for each n2, the DFT over n1 of x[8·n1 + n2], times W64^(n2·k1), to position 8·k1 + n2.
    for n2 in 0..<8 {
        let y = dft8(point(n2), point(8 + n2), point(16 + n2), point(24 + n2),
                     point(32 + n2), point(40 + n2), point(48 + n2), point(56 + n2))
        @inline(__always) func put(_ v: CV16, _ k1: Int) {
            let m = n2 * k1
            storePoint(m == 0 ? v : v.times(tw[2 * m], tw[2 * m + 1]), dst + (8 * k1 + n2) * ps, 0, 16)
        }
        put(y.0, 0); put(y.1, 1); put(y.2, 2); put(y.3, 3); put(y.4, 4); put(y.5, 5); put(y.6, 6); put(y.7, 7)
    }
    // Pass 2: for each k1, the DFT over n2 of positions 8·k1 + n2, in place.
    for k1 in 0..<8 { dft8Contiguous(dst + 8 * k1 * ps, 0, 16) }
}

/// The 8-point DFT of the 8 consecutive points at `p`, in place.
@inline(__always)
func dft8Contiguous(_ p: UnsafeMutablePointer<Float>, _ re: Int, _ im: Int) {
    let ps = DepthwiseFFT.pointFloats
    let y = dft8(loadPoint(p, re, im), loadPoint(p + ps, re, im), loadPoint(p + 2 * ps, re, im),
                 loadPoint(p + 3 * ps, re, im), loadPoint(p + 4 * ps, re, im), loadPoint(p + 5 * ps, re, im),
                 loadPoint(p + 6 * ps, re, im), loadPoint(p + 7 * ps, re, im))
    storePoint(y.0, p, re, im); storePoint(y.1, p + ps, re, im); storePoint(y.2, p + 2 * ps, re, im)
    storePoint(y.3, p + 3 * ps, re, im); storePoint(y.4, p + 4 * ps, re, im); storePoint(y.5, p + 5 * ps, re, im)
    storePoint(y.6, p + 6 * ps, re, im); storePoint(y.7, p + 7 * ps, re, im)
}

/// Inverse 64-point transform (unnormalized), digit-reversed in from the contiguous points at
/// `p` (overwritten), natural order out: point j for j < `count` to `dst + j·dstStride`.
@inline(__always)
func fft64Inverse(_ p: UnsafeMutablePointer<Float>, count: Int, dst: UnsafeMutablePointer<Float>, dstStride: Int,
                  tw: UnsafePointer<Float>) {
    let ps = DepthwiseFFT.pointFloats
    // Swapped view: real parts at 16, imaginary parts at 0.
    // Pass A: for each k1, the DFT over k2 of positions 8·k1 + k2, times W64^(n2·k1), in place.
    for k1 in 1..<8 {
        let q = p + 8 * k1 * ps
        let y = dft8(loadPoint(q, 16, 0), loadPoint(q + ps, 16, 0), loadPoint(q + 2 * ps, 16, 0),
                     loadPoint(q + 3 * ps, 16, 0), loadPoint(q + 4 * ps, 16, 0), loadPoint(q + 5 * ps, 16, 0),
                     loadPoint(q + 6 * ps, 16, 0), loadPoint(q + 7 * ps, 16, 0))
        @inline(__always) func put(_ v: CV16, _ n2: Int) {
            let m = n2 * k1
            storePoint(m == 0 ? v : v.times(tw[2 * m], tw[2 * m + 1]), q + n2 * ps, 16, 0)
        }
        put(y.0, 0); put(y.1, 1); put(y.2, 2); put(y.3, 3); put(y.4, 4); put(y.5, 5); put(y.6, 6); put(y.7, 7)
    }
    dft8Contiguous(p, 16, 0)
    // Pass B: for each n2, the DFT over k1 of positions 8·k1 + n2, to output 8·n1 + n2.
    for n2 in 0..<8 {
        @inline(__always) func point(_ k1: Int) -> CV16 { loadPoint(p + (8 * k1 + n2) * ps, 16, 0) }
        let y = dft8(point(0), point(1), point(2), point(3), point(4), point(5), point(6), point(7))
        @inline(__always) func put(_ v: CV16, _ n1: Int) {
            let j = 8 * n1 + n2
            if j < count { storePoint(v, dst + j * dstStride, 16, 0) }
        }
        put(y.0, 0); put(y.1, 1); put(y.2, 2); put(y.3, 3); put(y.4, 4); put(y.5, 5); put(y.6, 6); put(y.7, 7)
    }
}

@inline(__always) func loadLanes(_ p: UnsafePointer<Float>, _ lanes: Int) -> V16 {
    if lanes == 16 { return load16(p) }
    var v = V16()
    for l in 0..<lanes { v[l] = p[l] }
    return v
}

/// One task of `DepthwiseFFT`: for each tile of its band, the row transforms of the input rows
/// in the map, then column by column (each with its partner column, whose frequencies are the
/// negatives) the column transforms of data and kernel, the product, and the inverse column
/// transform of the output rows, then the inverse row transforms, bias and activation.
/// `blockedWeights` is `[C/16][kH][kW][16]`. `scratch` holds `plan.scratchCount` floats.
package func depthwiseConvFFT(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, _ plan: DepthwiseFFT, task: Int,
                             scratch: UnsafeMutablePointer<Float>, blockedWeights: UnsafePointer<Float>,
                             bias: UnsafePointer<Float>?, activation: Activation, _ y: UnsafeMutablePointer<Float>) {
    fftTwiddles.withUnsafeBufferPointer { twb in
        fftPartners.withUnsafeBufferPointer { pb in
            depthwiseConvFFTTask(x, g, plan, task: task, scratch: scratch, blockedWeights: blockedWeights, bias: bias,
                                 activation: activation, y, tw: twb.baseAddress!, partners: pb.baseAddress!)
        }
    }
}

private func depthwiseConvFFTTask(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, _ plan: DepthwiseFFT, task: Int,
                                  scratch: UnsafeMutablePointer<Float>, blockedWeights: UnsafePointer<Float>,
                                  bias: UnsafePointer<Float>?, activation: Activation, _ y: UnsafeMutablePointer<Float>,
                                  tw: UnsafePointer<Float>, partners: UnsafePointer<Int32>) {
    let N = DepthwiseFFT.size, ps = DepthwiseFFT.pointFloats, rs = DepthwiseFFT.rowFloats
    let C = g.channels, kh = g.kernelH, kw = g.kernelW
    let band = task % plan.bandsPerPlane
    let np = task / plan.bandsPerPlane
    let pair = np % plan.pairs, n = np / plan.pairs
    let cbA = 2 * pair, cbB = 2 * pair + 1
    let lanesA = min(16, C - cbA * 16), lanesB = cbB < plan.blocks ? min(16, C - cbB * 16) : 0
    let kernelRows = scratch
    let data = scratch + kh * rs
    let z1 = data + plan.dataRows * rs, z2 = z1 + N * ps, g1 = z2 + N * ps, g2 = g1 + N * ps
    let taps = kh * kw

    // The kernel's row transforms: block A's taps as real parts, block B's as imaginary parts.
    let wA = blockedWeights + cbA * taps * 16, wB = blockedWeights + cbB * taps * 16
    for ky in 0..<kh {
        let row = kernelRows + ky * rs
        for kx in 0..<kw {
            store16(load16(wA + (ky * kw + kx) * 16), row + kx * ps)
            store16(lanesB > 0 ? load16(wB + (ky * kw + kx) * 16) : V16(), row + kx * ps + 16)
        }
        fft64Forward(src: row, srcStride: ps, lo: 0, hi: kw, dst: row, tw: tw)
    }
    var biasA = V16(), biasB = V16()
    if let bias {
        biasA = loadLanes(bias + cbA * 16, lanesA)
        if lanesB > 0 { biasB = loadLanes(bias + cbB * 16, lanesB) }
    }
    // 1/64² for the two inverse transforms and 1/4 for splitting the packed spectra.
    let scale = V16(repeating: 1.0 / 16384)

    let tileRow0 = band * plan.bandTiles, tileRow1 = min(plan.tilesDown, tileRow0 + plan.bandTiles)
    for tr in tileRow0..<tileRow1 {
        let oy0 = tr * plan.tileHeight
        let outRows = min(plan.tileHeight, g.outHeight - oy0)
        // Window row r is input row oy0 − padTop + r; rows rLo ..< rHi lie in the map.
        let iy0 = oy0 - g.padTop
        let rLo = max(0, -iy0), rHi = min(N, g.height - iy0)
        for tc in 0..<plan.tilesAcross {
            let ox0 = tc * plan.tileWidth
            let outCols = min(plan.tileWidth, g.outWidth - ox0)
            let ix0 = ox0 - g.padLeft
            let sLo = max(0, -ix0), sHi = min(N, g.width - ix0)
            // Row transforms of the input rows in the map, into data rows 0 ..< rHi − rLo.
            if rHi > rLo {
                for r in rLo..<rHi {
                    let row = data + (r - rLo) * rs
                    let src = x + ((n * g.height + iy0 + r) * g.width) * C
                    if sHi > sLo {
                        for s in sLo..<sHi {
                            let p = src + (ix0 + s) * C
                            store16(loadLanes(p + cbA * 16, lanesA), row + s * ps)
                            store16(lanesB > 0 ? loadLanes(p + cbB * 16, lanesB) : V16(), row + s * ps + 16)
                        }
                    }
                    fft64Forward(src: row + sLo * ps, srcStride: ps, lo: sLo, hi: max(sLo, sHi), dst: row, tw: tw)
                }
            }
            // Columns with their partners: transforms, products, inverse transforms of the output rows.
            for pc in 0..<N {
                let qc = Int(partners[pc])
                if qc < pc { continue }
                let single = qc == pc
                fft64Forward(src: data + pc * ps, srcStride: rs, lo: rLo, hi: max(rLo, rHi), dst: z1, tw: tw)
                fft64Forward(src: kernelRows + pc * ps, srcStride: rs, lo: 0, hi: kh, dst: g1, tw: tw)
                if !single {
                    fft64Forward(src: data + qc * ps, srcStride: rs, lo: rLo, hi: max(rLo, rHi), dst: z2, tw: tw)
                    fft64Forward(src: kernelRows + qc * ps, srcStride: rs, lo: 0, hi: kh, dst: g2, tw: tw)
                }
                let zq = single ? z1 : z2, gq = single ? g1 : g2
                for pr in 0..<N {
                    let qr = Int(partners[pr])
                    if single && qr < pr { continue }
                    // Z = X_A + i·X_B and G = H_A + i·H_B at k and −k; the outputs' spectrum is
                    // X_A·conj(H_A) + i·X_B·conj(H_B) (correlation), at k and at −k.
                    let zk = loadPoint(z1 + pr * ps, 0, 16), zm = loadPoint(zq + qr * ps, 0, 16)
                    let gk = loadPoint(g1 + pr * ps, 0, 16), gm = loadPoint(gq + qr * ps, 0, 16)
                    let sumZ = CV16(re: zk.re + zm.re, im: zk.im - zm.im)        // 2·X_A
                    let difZ = CV16(re: zk.re - zm.re, im: zk.im + zm.im)        // 2i·X_B
                    let sumG = CV16(re: (gk.re + gm.re) * scale, im: (gm.im - gk.im) * scale)   // 2·conj(H_A)
                    let difG = CV16(re: (gk.re - gm.re) * scale, im: (gm.im + gk.im) * -scale)  // −2i·conj(H_B)
                    let a = sumZ * sumG, b = difZ * difG
                    storePoint(CV16(re: a.re - b.im, im: a.im + b.re), z1 + pr * ps, 0, 16)
                    storePoint(CV16(re: a.re + b.im, im: b.re - a.im), zq + qr * ps, 0, 16)
                }
                fft64Inverse(z1, count: outRows, dst: data + pc * ps, dstStride: rs, tw: tw)
                if !single { fft64Inverse(z2, count: outRows, dst: data + qc * ps, dstStride: rs, tw: tw) }
            }
            // Inverse row transforms of the output rows, then bias, activation and the store.
            for a in 0..<outRows {
                let row = data + a * rs
                fft64Inverse(row, count: outCols, dst: row, dstStride: ps, tw: tw)
                let out = y + ((n * g.outHeight + oy0 + a) * g.outWidth + ox0) * C
                for b in 0..<outCols {
                    var va = load16(row + b * ps) + biasA, vb = load16(row + b * ps + 16) + biasB
                    switch activation {
                    case .none: break
                    case .relu:
                        va = va.replacing(with: 0, where: va .< 0); vb = vb.replacing(with: 0, where: vb .< 0)
                    case .gelu:
                        va = gelu16(va); vb = gelu16(vb)
                    }
                    let o = out + b * C
                    if lanesA == 16 { store16(va, o + cbA * 16) } else { for l in 0..<lanesA { o[cbA * 16 + l] = va[l] } }
                    if lanesB == 16 { store16(vb, o + cbB * 16) } else { for l in 0..<lanesB { o[cbB * 16 + l] = vb[l] } }
                }
            }
        }
    }
}
