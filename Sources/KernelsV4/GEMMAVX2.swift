import RepLKCHints
import RepLKKernelCore

// The AVX2 build of the GEMM's inner loops. AVX2 has 16 ymm registers of 8 lanes, so the 12×32 tile
// of the AVX-512 build (24 zmm accumulators) would spill. The packed layouts stay the same (A in
// micro-panels of 12 rows, B in panels of 32 columns) and each tile is computed as four 6×16
// sub-tiles: 12 ymm accumulators, 2 for the B row and 1 for the broadcast A value. The loops run
// over one 16-column half of a B panel (contiguous, kc × 64 bytes) for every micro-panel of the A
// block, so that half stays in L1 while the A block streams from L2; K blocks are `avx2KC` deep
// (16 KB of B half and 12 KB of A micro-panel: both fit the 32 KB L1 of AVX2-era cores).

#if REPLK_V3
/// Depth of one K block in the AVX2 build (at most `gemmKC`, which sizes the scratch).
let avx2KC = 256

typealias V8 = SIMD8<Float>

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> V8 {
    UnsafeRawPointer(p).loadUnaligned(as: V8.self)
}
@inline(__always) func store8(_ v: V8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V8.self)
}

/// C[6×16] (+)= A[kc×6]ᵀ · B[kc×16], where A's rows are 6 consecutive rows of a 12-row micro-panel
/// (stride `gemmMR` per k) and B is one contiguous 16-column half of a packed panel.
@inline(__always)
func microKernel6x16(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ prefetch: PrefetchRun,
                     _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    var c00 = V8(), c01 = V8(), c10 = V8(), c11 = V8(), c20 = V8(), c21 = V8()
    var c30 = V8(), c31 = V8(), c40 = V8(), c41 = V8(), c50 = V8(), c51 = V8()
    var ap = a
    var bp = b
    var pf = prefetch.start
    for _ in 0..<kc {
        let b0 = load8(bp), b1 = load8(bp + 8)
        var s = V8(repeating: ap[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
        s = V8(repeating: ap[1]); c10.addProduct(s, b0); c11.addProduct(s, b1)
        s = V8(repeating: ap[2]); c20.addProduct(s, b0); c21.addProduct(s, b1)
        s = V8(repeating: ap[3]); c30.addProduct(s, b0); c31.addProduct(s, b1)
        s = V8(repeating: ap[4]); c40.addProduct(s, b0); c41.addProduct(s, b1)
        s = V8(repeating: ap[5]); c50.addProduct(s, b0); c51.addProduct(s, b1)
        replk_prefetch_l2(pf)
        pf += prefetch.step
        ap += gemmMR
        bp += 16
    }
    @inline(__always) func put(_ v0: V8, _ v1: V8, _ r: Int) {
        let p = c + r * ldc
        var x = v0, y = v1
        if accumulate {
            x += load8(p)
            y += load8(p + 8)
        }
        store8(x, p)
        store8(y, p + 8)
    }
    put(c00, c01, 0); put(c10, c11, 1); put(c20, c21, 2)
    put(c30, c31, 3); put(c40, c41, 4); put(c50, c51, 5)
}

/// Bias, activation and residual over a full 6×16 sub-tile of C at global (row0, col0); out of line
/// so that the GELU code stays out of the loops that call it.
@inline(never)
func subTileEpilogue(_ e: Epilogue, _ c: UnsafeMutablePointer<Float>, ldc: Int, row0: Int, col0: Int) {
    applyEpilogue(e, c, ldc: ldc, row0: row0, rows: 6, col0: col0, cols: 16)
}

/// Computes rows `m0 ..< m0+mc` and panels `panel0 ..< panel0+panelCount` of
/// C = epilogue(A · B) single-threaded. `packedB` comes from `packB` for a `k × n` matrix.
/// `scratch` holds at least `gemmScratchCount(mc:)` floats.
package func gemmBlock(_ input: GEMMInput, m: Int, n: Int, k: Int,
                      packedB: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
                      epilogue: Epilogue, m0: Int, mc: Int, panel0: Int, panelCount: Int,
                      scratch: UnsafeMutablePointer<Float>) {
    let mcEff = min(mc, m - m0)
    if mcEff <= 0 { return }
    let hasEpilogue = !epilogue.isIdentity
    var tile = (V16(), V16(), V16(), V16(), V16(), V16())
    withUnsafeMutableBytes(of: &tile) { tileRaw in
        let tilePtr = tileRaw.baseAddress!.assumingMemoryBound(to: Float.self)
        var k0 = 0
        while k0 < k {
            let kc = min(avx2KC, k - k0)
            let accumulate = k0 > 0
            let last = k0 + kc >= k
            let (aPanels, panelStride) = aBlock(input, m: m, k: k, m0: m0, mc: mcEff, k0: k0, kc: kc, scratch: scratch)
            let subRows = (mcEff + 5) / 6
            for p in panel0..<(panel0 + panelCount) {
                for half in 0..<2 {
                    let col0 = p * gemmNR + half * 16
                    let cols = min(16, n - col0)
                    if cols <= 0 { break }
                    let bHalf = packedB + p * k * gemmNR + half * k * 16 + k0 * 16
                    // The half the next step reads: this panel's high half, the next panel's low
                    // half, else the first panel's low half in the next K block (see `PrefetchRun`).
                    let nextHigh = half == 0 && col0 + 16 < n
                    let nextPanel = !nextHigh && p + 1 < panel0 + panelCount && (p + 1) * gemmNR < n
                    let nextK0 = nextHigh || nextPanel ? k0 : k0 + kc
                    let nextHalf = packedB + (nextHigh ? p * k * gemmNR + k * 16 : (nextPanel ? p + 1 : panel0) * k * gemmNR) + nextK0 * 16
                    let hasNext = nextK0 < k
                    let nextLines = min(avx2KC, k - nextK0)
                    for sr in 0..<subRows {
                        let pf = hasNext ? PrefetchRun(nextHalf, lines: nextLines, index: sr, shares: subRows, kc: kc) : .none(bHalf)
                        let row0 = m0 + sr * 6
                        let rows = min(6, m0 + mcEff - row0)
                        let aSub = aPanels + (sr / 2) * panelStride + (sr % 2) * 6
                        let cTile = c + row0 * ldc + col0
                        if last && sr + 1 < subRows {
                            prefetchResidual(epilogue, row0: row0 + 6, rows: min(6, m0 + mcEff - row0 - 6), col0: col0, cols: cols)
                        }
                        if rows == 6 && cols == 16 {
                            microKernel6x16(kc, aSub, bHalf, pf, cTile, ldc, accumulate)
                            // The sub-tile is still in L1: bias, activation and residual in one pass over it.
                            if last && hasEpilogue { subTileEpilogue(epilogue, c, ldc: ldc, row0: row0, col0: col0) }
                        } else {
                            // Edge sub-tile: compute all 6×16 in a scratch tile, keep the valid part.
                            if accumulate {
                                for r in 0..<rows { for j in 0..<cols { tilePtr[r * 16 + j] = cTile[r * ldc + j] } }
                            }
                            microKernel6x16(kc, aSub, bHalf, pf, tilePtr, 16, accumulate)
                            for r in 0..<rows { for j in 0..<cols { cTile[r * ldc + j] = tilePtr[r * 16 + j] } }
                            if last {
                                applyEpilogue(epilogue, c, ldc: ldc, row0: row0, rows: rows, col0: col0, cols: cols)
                            }
                        }
                    }
                }
            }
            k0 += kc
        }
    }
}
#endif
