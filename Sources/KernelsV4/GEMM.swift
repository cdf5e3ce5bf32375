import RepLKCHints
import RepLKKernelCore

// Packed single-precision GEMM: C[M×N] (+)= A[M×K] · B[K×N], with a fused epilogue.
//
// B (the weights) is packed once at load time into panels of `gemmNR` columns, k-major, so the
// micro-kernel streams it contiguously. A (the activations) is packed per block into micro-panels of
// `gemmMR` rows, k-major, either from a plain row-major matrix (1×1 convs, linear layers) or by
// gathering conv windows on the fly (dense K×K convs: an im2col that never materialises the matrix).

/// Packs rows `m0 ..< m0+mc` and depth `k0 ..< k0+kc` of A into micro-panels of MR rows
/// (k-major, `kc*MR` floats each). Rows past `m` are zero.
@inline(__always)
func packA(_ input: GEMMInput, m: Int, m0: Int, mc: Int, k0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
    let panels = (mc + gemmMR - 1) / gemmMR
    switch input {
    case let .rows(a, ld):
        for p in 0..<panels {
            let panel = dst + p * kc * gemmMR
            if m0 + p * gemmMR + gemmMR <= min(m, m0 + mc) {
                packRowsPanel(a + (m0 + p * gemmMR) * ld + k0, ld: ld, kc: kc, into: panel)
                continue
            }
            for r in 0..<gemmMR {
                let row = m0 + p * gemmMR + r
                if r < mc - p * gemmMR && row < m {
                    let src = a + row * ld + k0
                    var kk = 0
                    while kk < kc { panel[kk * gemmMR + r] = src[kk]; kk += 1 }
                } else {
                    for kk in 0..<kc { panel[kk * gemmMR + r] = 0 }
                }
            }
        }
    case .packed:
        preconditionFailure("a packed A is read in place, not packed again")
    case .bf16Rows:
        preconditionFailure("bf16 rows are read by the bf16 GEMM only")
    case let .im2col(x, g):
        let pixels = g.outHeight * g.outWidth
        for p in 0..<panels {
            let panel = dst + p * kc * gemmMR
            for r in 0..<gemmMR {
                let row = m0 + p * gemmMR + r
                guard r < mc - p * gemmMR && row < m else {
                    for kk in 0..<kc { panel[kk * gemmMR + r] = 0 }
                    continue
                }
                let n = row / pixels
                let rem = row - n * pixels
                let oy = rem / g.outWidth
                let ox = rem - oy * g.outWidth
                // The tap and channel of column k0, then stepped along: the two divisions per tap
                // this replaced made the packing take 3× the multiply-adds of a 3-channel stem conv.
                let tap0 = k0 / g.groupChannels
                var ci = k0 - tap0 * g.groupChannels
                var ky = tap0 / g.kernelW
                var kx = tap0 - ky * g.kernelW
                let iy0 = oy * g.strideH - g.padTop, ix0 = ox * g.strideW - g.padLeft
                var kk = 0
                while kk < kc {
                    let run = min(kc - kk, g.groupChannels - ci)
                    let iy = iy0 + ky * g.dilationH
                    let ix = ix0 + kx * g.dilationW
                    if iy >= 0 && iy < g.height && ix >= 0 && ix < g.width {
                        let src = x + ((n * g.height + iy) * g.width + ix) * g.channels + g.channelOffset + ci
                        for j in 0..<run { panel[(kk + j) * gemmMR + r] = src[j] }
                    } else {
                        for j in 0..<run { panel[(kk + j) * gemmMR + r] = 0 }
                    }
                    kk += run
                    ci = 0
                    kx += 1
                    if kx == g.kernelW { kx = 0; ky += 1 }
                }
            }
        }
    }
}

typealias V4 = SIMD4<Float>
@inline(__always) func load4(_ p: UnsafePointer<Float>) -> V4 { UnsafeRawPointer(p).loadUnaligned(as: V4.self) }
@inline(__always) func store4(_ v: V4, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V4.self)
}

/// Packs 12 whole rows of a row-major A (row stride `ld`) over depth `kc` into one micro-panel
/// (`panel[kk·12 + r]`). 4×4 blocks are transposed in registers: the scalar loop it replaces took
/// about a cycle per element, 5–25 % of a 1×1 conv with 128–512 output channels.
@inline(__always)
func packRowsPanel(_ src: UnsafePointer<Float>, ld: Int, kc: Int, into panel: UnsafeMutablePointer<Float>) {
    /// Columns kk ..< kk+4 of rows r ..< r+4, transposed into the panel.
    @inline(__always) func block4(_ r: Int, _ kk: Int) {
        let s = src + r * ld + kk
        let ab = SIMD8(lowHalf: load4(s), highHalf: load4(s + ld))
        let cd = SIMD8(lowHalf: load4(s + 2 * ld), highHalf: load4(s + 3 * ld))
        // (a0 a2 b0 b2 c0 c2 d0 d2) and (a1 a3 b1 b3 c1 c3 d1 d3): their even and odd halves are the columns.
        let even = SIMD8(lowHalf: ab.evenHalf, highHalf: cd.evenHalf)
        let odd = SIMD8(lowHalf: ab.oddHalf, highHalf: cd.oddHalf)
        let out = panel + kk * gemmMR + r
        store4(even.evenHalf, out)
        store4(odd.evenHalf, out + gemmMR)
        store4(even.oddHalf, out + 2 * gemmMR)
        store4(odd.oddHalf, out + 3 * gemmMR)
    }
    var kk = 0
    // 16 columns (a cache line of each row) per step, each group of 4 rows at a time: with rows
    // 8 KB apart (2048 channels) all 12 lines fall in one L1 set, and stepping 4 columns across all
    // 12 rows evicted lines before their last 16 bytes were read.
    while kk + 16 <= kc {
        for r in stride(from: 0, to: gemmMR, by: 4) {
            block4(r, kk); block4(r, kk + 4); block4(r, kk + 8); block4(r, kk + 12)
        }
        kk += 16
    }
    while kk + 4 <= kc {
        for r in stride(from: 0, to: gemmMR, by: 4) { block4(r, kk) }
        kk += 4
    }
    while kk < kc {
        for r in 0..<gemmMR { panel[kk * gemmMR + r] = src[r * ld + kk] }
        kk += 1
    }
}

/// Packs micro-panels `panel0 ..< panel0 + count` of the M × K operand `input` over its whole depth
/// into `dst` (`packedACount(m:k:)` floats for all of them), the layout of `GEMMInput.packed`.
package func packAPanels(_ input: GEMMInput, m: Int, k: Int, panels panel0: Int, count: Int,
                        into dst: UnsafeMutablePointer<Float>) {
    packA(input, m: m, m0: panel0 * gemmMR, mc: count * gemmMR, k0: 0, kc: k, into: dst + panel0 * gemmMR * k)
}

/// The A block for rows from `m0` and depth `k0 ..< k0 + kc`, and its stride between micro-panels:
/// read in place from a packed operand, else packed into `scratch`.
@inline(__always)
func aBlock(_ input: GEMMInput, m: Int, k: Int, m0: Int, mc: Int, k0: Int, kc: Int,
            scratch: UnsafeMutablePointer<Float>) -> (UnsafePointer<Float>, Int) {
    if case let .packed(p) = input { return (p + (m0 / gemmMR) * k * gemmMR + k0 * gemmMR, k * gemmMR) }
    packA(input, m: m, m0: m0, mc: mc, k0: k0, kc: kc, into: scratch)
    return (UnsafePointer(scratch), kc * gemmMR)
}

typealias V16 = SIMD16<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> V16 {
    UnsafeRawPointer(p).loadUnaligned(as: V16.self)
}
@inline(__always) func store16(_ v: V16, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V16.self)
}

/// Bias, activation and residual for one 12×32 tile, resolved once per tile.
@usableFromInline
struct TileEpilogue {
    var bias: (V16, V16)
    var activation: Activation
    var residual: UnsafePointer<Float>?
    var residualStride: Int

    @inline(__always)
    init(_ e: Epilogue, row0: Int, col0: Int) {
        if let b = e.bias { bias = (load16(b + col0), load16(b + col0 + 16)) } else { bias = (V16(), V16()) }
        activation = e.activation
        residual = e.residual.map { UnsafePointer($0 + row0 * e.residualStride + col0) }
        residualStride = e.residualStride
    }
}

/// Hints the epilogue's residual at rows `row0 ..< row0 + rows`, columns `col0 ..< col0 + cols`
/// towards L2. In the last K block each micro-kernel call hints the next tile's, so that its
/// epilogue finds them there rather than waiting on each row's lines from L3 or memory (a 1×1
/// conv's shortcut input was written two layers before). Per-layer timers on one thread of a
/// Zen 4, three alternating pairs, each GEMM with a residual against the one before it in the same
/// block (a ratio, so that the host's speed cancels): 196×2048×512 0.96–0.98 → 0.95–0.97 of
/// 196×512×2048, 784×1024×256 0.96–0.98 → 0.92–0.95 of 784×256×1024.
@inline(__always)
func prefetchResidual(_ e: Epilogue, row0: Int, rows: Int, col0: Int, cols: Int) {
    guard let res = e.residual, rows > 0 else { return }
    for r in 0..<rows {
        let p = res + (row0 + r) * e.residualStride + col0
        var j = 0
        while j < cols { replk_prefetch_l2(p + j); j += 16 }
    }
}

/// The B block the next (panel, K block) step of a GEMM task reads after panel `p` of the K block
/// `k0 ..< k0 + kc`: the task's next panel, else its first panel in the next K block (past the
/// depth when this was the last).
@inline(__always)
func nextBBlock(after p: Int, k0: Int, kc: Int, panel0: Int, panelCount: Int, n: Int) -> (panel: Int, k0: Int) {
    p + 1 < panel0 + panelCount && (p + 1) * gemmNR < n ? (p + 1, k0) : (panel0, k0 + kc)
}

/// Cache lines of B a micro-kernel call brings towards L2 while it computes, one hint per k step:
/// `start`, `start + step`, … `start + (kc-1)·step`. B comes from memory once per GEMM, in runs
/// of a few KB that the hardware prefetchers (which stop at each 4 KB page) pick up late; each
/// call over one B panel fetches a share of the next panel instead (196×512×2048 and
/// 196×2048×512 streaming weights from memory: 5–10 % faster on a Xeon, Sapphire Rapids class).
@usableFromInline
struct PrefetchRun {
    var start: UnsafeRawPointer
    var step: Int

    @inline(__always)
    init(start: UnsafeRawPointer, step: Int) {
        self.start = start
        self.step = step
    }

    /// No new lines: the hint stays on the first line of the current panel.
    @inline(__always)
    static func none(_ p: UnsafePointer<Float>) -> PrefetchRun { PrefetchRun(start: UnsafeRawPointer(p), step: 0) }

    /// Share `index` of `shares` of the `lines` cache lines from `base`, spread over a call of `kc` k steps.
    @inline(__always)
    init(_ base: UnsafePointer<Float>, lines: Int, index: Int, shares: Int, kc: Int) {
        let per = (lines + shares - 1) / shares
        start = UnsafeRawPointer(base) + min(index * per, max(0, lines - 1)) * 64
        step = (per * 64 + kc - 1) / kc
    }

    /// Share `index` of `shares` of a panel in two halves of `lines` lines each, at `low` and
    /// `high`: the first half of the calls takes the low half, the rest the high half (one call: low only).
    @inline(__always)
    init(low: UnsafePointer<Float>, high: UnsafePointer<Float>, lines: Int, index: Int, shares: Int, kc: Int) {
        let split = max(1, shares / 2)
        if index < split {
            self.init(low, lines: lines, index: index, shares: split, kc: kc)
        } else {
            self.init(high, lines: lines, index: index - split, shares: max(1, shares - split), kc: kc)
        }
    }
}

#if !REPLK_V3
/// Bias, activation and residual over a full 12×32 tile of C, one vector at a time: with two
/// vectors per step LLVM inlined one GELU and called the other out of line, with its argument
/// split into four xmm registers (the GELU epilogue then cost 13 % of a 196×512×2048 GEMM).
@inline(never)
func fullTileEpilogue(_ e: TileEpilogue, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    for i in 0..<(2 * gemmMR) {
        let r = i >> 1, h = i & 1
        let p = c + r * ldc + h * 16
        var v = load16(p) + (h == 0 ? e.bias.0 : e.bias.1)
        switch e.activation {
        case .none: break
        case .relu: v = v.replacing(with: 0, where: v .< 0)
        case .gelu: v = gelu16(v)
        }
        if let res = e.residual { v += load16(res + r * e.residualStride + h * 16) }
        store16(v, p)
    }
}

/// Stores one 32-column row of a micro-tile at `p`, added to what is there when `accumulate`.
@inline(__always)
func storeTileRow(_ v0: V16, _ v1: V16, _ p: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
    var x = v0, y = v1
    if accumulate {
        x += load16(p)
        y += load16(p + 16)
    }
    store16(x, p)
    store16(y, p + 16)
}

/// C[12×32] (+)= Apanel[kc×12]ᵀ · [B0 | B1], where B0 and B1 are the two 16-column halves of a
/// panel (kc×16 each, k-major). 24 accumulators stay in zmm registers.
@inline(__always)
func microKernel12x32(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ bHigh: UnsafePointer<Float>,
                      _ prefetch: PrefetchRun,
                      _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    var c00 = V16(), c01 = V16(), c10 = V16(), c11 = V16(), c20 = V16(), c21 = V16()
    var c30 = V16(), c31 = V16(), c40 = V16(), c41 = V16(), c50 = V16(), c51 = V16()
    var c60 = V16(), c61 = V16(), c70 = V16(), c71 = V16(), c80 = V16(), c81 = V16()
    var c90 = V16(), c91 = V16(), cA0 = V16(), cA1 = V16(), cB0 = V16(), cB1 = V16()
    var ap = a
    var bp = b
    var bq = bHigh
    var pf = prefetch.start
    for _ in 0..<kc {
        let b0 = load16(bp), b1 = load16(bq)
        var s = V16(repeating: ap[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
        s = V16(repeating: ap[1]); c10.addProduct(s, b0); c11.addProduct(s, b1)
        s = V16(repeating: ap[2]); c20.addProduct(s, b0); c21.addProduct(s, b1)
        s = V16(repeating: ap[3]); c30.addProduct(s, b0); c31.addProduct(s, b1)
        s = V16(repeating: ap[4]); c40.addProduct(s, b0); c41.addProduct(s, b1)
        s = V16(repeating: ap[5]); c50.addProduct(s, b0); c51.addProduct(s, b1)
        s = V16(repeating: ap[6]); c60.addProduct(s, b0); c61.addProduct(s, b1)
        s = V16(repeating: ap[7]); c70.addProduct(s, b0); c71.addProduct(s, b1)
        s = V16(repeating: ap[8]); c80.addProduct(s, b0); c81.addProduct(s, b1)
        s = V16(repeating: ap[9]); c90.addProduct(s, b0); c91.addProduct(s, b1)
        s = V16(repeating: ap[10]); cA0.addProduct(s, b0); cA1.addProduct(s, b1)
        s = V16(repeating: ap[11]); cB0.addProduct(s, b0); cB1.addProduct(s, b1)
        replk_prefetch_l2(pf)
        pf += prefetch.step
        ap += gemmMR
        bp += 16
        bq += 16
    }
    @inline(__always) func put(_ v0: V16, _ v1: V16, _ r: Int) { storeTileRow(v0, v1, c + r * ldc, accumulate) }
    put(c00, c01, 0); put(c10, c11, 1); put(c20, c21, 2); put(c30, c31, 3)
    put(c40, c41, 4); put(c50, c51, 5); put(c60, c61, 6); put(c70, c71, 7)
    put(c80, c81, 8); put(c90, c91, 9); put(cA0, cA1, 10); put(cB0, cB1, 11)
}

/// The first `rows` (≤ 4) rows of C[12×32] (+)= Apanel[kc×12]ᵀ · [B0 | B1]: the last micro-panel
/// of a block when it holds 4 rows or fewer (8 accumulators instead of 24 that mostly multiply padding).
@inline(__always)
func microKernel4x32(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ bHigh: UnsafePointer<Float>,
                     _ prefetch: PrefetchRun,
                     _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool, rows: Int) {
    var c00 = V16(), c01 = V16(), c10 = V16(), c11 = V16(), c20 = V16(), c21 = V16(), c30 = V16(), c31 = V16()
    var ap = a, bp = b, bq = bHigh
    var pf = prefetch.start
    for _ in 0..<kc {
        let b0 = load16(bp), b1 = load16(bq)
        var s = V16(repeating: ap[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
        s = V16(repeating: ap[1]); c10.addProduct(s, b0); c11.addProduct(s, b1)
        s = V16(repeating: ap[2]); c20.addProduct(s, b0); c21.addProduct(s, b1)
        s = V16(repeating: ap[3]); c30.addProduct(s, b0); c31.addProduct(s, b1)
        replk_prefetch_l2(pf)
        pf += prefetch.step
        ap += gemmMR
        bp += 16
        bq += 16
    }
    @inline(__always) func put(_ v0: V16, _ v1: V16, _ r: Int) {
        if r < rows { storeTileRow(v0, v1, c + r * ldc, accumulate) }
    }
    put(c00, c01, 0); put(c10, c11, 1); put(c20, c21, 2); put(c30, c31, 3)
}

/// The first `rows` (≤ 8) rows of C[12×32] (+)= Apanel[kc×12]ᵀ · [B0 | B1]: the last micro-panel
/// of a block when it holds 8 rows or fewer (16 accumulators instead of 24 that mostly multiply padding).
@inline(__always)
func microKernel8x32(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ bHigh: UnsafePointer<Float>,
                     _ prefetch: PrefetchRun,
                     _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool, rows: Int) {
    var c00 = V16(), c01 = V16(), c10 = V16(), c11 = V16(), c20 = V16(), c21 = V16(), c30 = V16(), c31 = V16()
    var c40 = V16(), c41 = V16(), c50 = V16(), c51 = V16(), c60 = V16(), c61 = V16(), c70 = V16(), c71 = V16()
    var ap = a, bp = b, bq = bHigh
    var pf = prefetch.start
    for _ in 0..<kc {
        let b0 = load16(bp), b1 = load16(bq)
        var s = V16(repeating: ap[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
        s = V16(repeating: ap[1]); c10.addProduct(s, b0); c11.addProduct(s, b1)
        s = V16(repeating: ap[2]); c20.addProduct(s, b0); c21.addProduct(s, b1)
        s = V16(repeating: ap[3]); c30.addProduct(s, b0); c31.addProduct(s, b1)
        s = V16(repeating: ap[4]); c40.addProduct(s, b0); c41.addProduct(s, b1)
        s = V16(repeating: ap[5]); c50.addProduct(s, b0); c51.addProduct(s, b1)
        s = V16(repeating: ap[6]); c60.addProduct(s, b0); c61.addProduct(s, b1)
        s = V16(repeating: ap[7]); c70.addProduct(s, b0); c71.addProduct(s, b1)
        replk_prefetch_l2(pf)
        pf += prefetch.step
        ap += gemmMR
        bp += 16
        bq += 16
    }
    @inline(__always) func put(_ v0: V16, _ v1: V16, _ r: Int) {
        if r < rows { storeTileRow(v0, v1, c + r * ldc, accumulate) }
    }
    put(c00, c01, 0); put(c10, c11, 1); put(c20, c21, 2); put(c30, c31, 3)
    put(c40, c41, 4); put(c50, c51, 5); put(c60, c61, 6); put(c70, c71, 7)
}
#endif

/// Applies the epilogue to `rows × cols` values of C starting at global (row0, col0).
@inline(__always)
func applyEpilogue(_ e: Epilogue, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                   row0: Int, rows: Int, col0: Int, cols: Int) {
    if e.isIdentity { return }
    for r in 0..<rows {
        let p = c + (row0 + r) * ldc + col0
        let res = e.residual.map { $0 + (row0 + r) * e.residualStride + col0 }
        var j = 0
        while j + 16 <= cols {
            var v = load16(p + j)
            if let b = e.bias { v += load16(b + col0 + j) }
            switch e.activation {
            case .none: break
            case .relu: v = v.replacing(with: 0, where: v .< 0)
            case .gelu: v = gelu16(v)
            }
            if let res { v += load16(res + j) }
            store16(v, p + j)
            j += 16
        }
        while j < cols {
            var v = p[j]
            if let b = e.bias { v += b[col0 + j] }
            switch e.activation {
            case .none: break
            case .relu: v = max(v, 0)
            case .gelu: v = geluScalar(v)
            }
            if let res { v += res[j] }
            p[j] = v
            j += 1
        }
    }
}

#if !REPLK_V3
/// Runs `kernel` on a 12×32 scratch tile (stride `ldt`) standing in for the `rows × cols` edge
/// tile of C at `c` (stride `ldc`): what C holds is copied in first when `accumulate`, and the
/// valid part is copied back. Edge tiles only: full tiles are written in place.
@inline(__always)
func throughScratchTile(_ c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int, accumulate: Bool,
                        _ kernel: (_ tile: UnsafeMutablePointer<Float>, _ ldt: Int) -> Void) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmMR * gemmNR) { buffer in
        let tile = buffer.baseAddress!
        if accumulate {
            for r in 0..<rows { for j in 0..<cols { tile[r * gemmNR + j] = c[r * ldc + j] } }
        }
        kernel(tile, gemmNR)
        for r in 0..<rows { for j in 0..<cols { c[r * ldc + j] = tile[r * gemmNR + j] } }
    }
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
    var k0 = 0
    while k0 < k {
        let kc = min(gemmKC, k - k0)
        let accumulate = k0 > 0
        let last = k0 + kc >= k
        let (aPanels, panelStride) = aBlock(input, m: m, k: k, m0: m0, mc: mcEff, k0: k0, kc: kc, scratch: scratch)
        let microPanels = (mcEff + gemmMR - 1) / gemmMR
        for p in panel0..<(panel0 + panelCount) {
            let col0 = p * gemmNR
            let cols = min(gemmNR, n - col0)
            if cols <= 0 { break }
            let bPanel = packedB + p * k * gemmNR + k0 * 16
            let bHigh = bPanel + k * 16
            let (nextP, nextK0) = nextBBlock(after: p, k0: k0, kc: kc, panel0: panel0, panelCount: panelCount, n: n)
            let nextLow = packedB + nextP * k * gemmNR + nextK0 * 16
            let hasNext = nextK0 < k
            let nextLines = min(gemmKC, k - nextK0)
            for mp in 0..<microPanels {
                let pf = hasNext ? PrefetchRun(low: nextLow, high: nextLow + k * 16, lines: nextLines,
                                               index: mp, shares: microPanels, kc: kc) : .none(bPanel)
                let row0 = m0 + mp * gemmMR
                let rows = min(gemmMR, m0 + mcEff - row0)
                let aPanel = aPanels + mp * panelStride
                let cTile = c + row0 * ldc + col0
                if last && mp + 1 < microPanels {
                    prefetchResidual(epilogue, row0: row0 + gemmMR, rows: min(gemmMR, m0 + mcEff - row0 - gemmMR),
                                     col0: col0, cols: cols)
                }
                if rows == gemmMR && cols == gemmNR {
                    microKernel12x32(kc, aPanel, bPanel, bHigh, pf, cTile, ldc, accumulate)
                    // The tile is still in L1: bias, activation and residual in one pass over it.
                    if last && hasEpilogue { fullTileEpilogue(TileEpilogue(epilogue, row0: row0, col0: col0), cTile, ldc) }
                } else if rows <= 8 && cols == gemmNR {
                    // A short last micro-panel (196 = 16·12 + 4 rows, 49 = 4·12 + 1): fewer rows of accumulators.
                    if rows <= 4 {
                        microKernel4x32(kc, aPanel, bPanel, bHigh, pf, cTile, ldc, accumulate, rows: rows)
                    } else {
                        microKernel8x32(kc, aPanel, bPanel, bHigh, pf, cTile, ldc, accumulate, rows: rows)
                    }
                    if last { applyEpilogue(epilogue, c, ldc: ldc, row0: row0, rows: rows, col0: col0, cols: cols) }
                } else {
                    // Edge tile: compute the full 12×32 in a scratch tile, keep the valid part.
                    throughScratchTile(cTile, ldc: ldc, rows: rows, cols: cols, accumulate: accumulate) { tile, ldt in
                        microKernel12x32(kc, aPanel, bPanel, bHigh, pf, tile, ldt, accumulate)
                    }
                    if last {
                        applyEpilogue(epilogue, c, ldc: ldc, row0: row0, rows: rows, col0: col0, cols: cols)
                    }
                }
            }
        }
        k0 += kc
    }
}
#endif
