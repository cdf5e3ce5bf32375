// bf16 GEMM (AVX512_BF16): C[M×N] (+)= A[M×K] · B[K×N] with bf16 operands and float32
// accumulation, the same blocking and fused epilogue as the float32 `gemmBlock`. Only in the
// AVX-512 build (this file has no link in Sources/KernelsV3); the tile kernels are C with
// function-level `target` attributes (Sources/CKernelsBF16), one call per 12×32 tile and K block.
#if REPLK_V4 && arch(x86_64)
import RepLKCKernelsBF16
import RepLKKernelCore

/// Packs micro-panels `panel0 ..< panel0 + count` of the M × K operand `input` over its whole
/// depth into bf16 pairs (`dst[(row / MR)·P·MR + kp·MR + row % MR]`, P = ⌈K/2⌉), the layout
/// `gemmBlockBF16` reads in place from `.packed`. `panel` is a float32 scratch of MR × KC floats.
package func packAPanelsBF16(_ input: GEMMInput, m: Int, k: Int, panels panel0: Int, count: Int,
                            into dst: UnsafeMutablePointer<UInt32>, panel: UnsafeMutablePointer<Float>) {
    let pairs = bf16Pairs(k)
    for p in panel0..<(panel0 + count) {
        if case let .rows(a, ld) = input {
            // Straight from the rows, the whole depth at once (its K blocks lie end to end).
            replk_bf16_pack_a_rows(a + p * gemmMR * ld, ld, max(0, min(gemmMR, m - p * gemmMR)), k, dst + p * pairs * gemmMR)
            continue
        }
        if case let .bf16Rows(a, ld) = input {
            replk_bf16_pack_a_rows_bf16(a + p * gemmMR * ld, ld, max(0, min(gemmMR, m - p * gemmMR)), k, dst + p * pairs * gemmMR)
            continue
        }
        var k0 = 0
        while k0 < k {
            let kc = min(gemmKC, k - k0)
            packA(input, m: m, m0: p * gemmMR, mc: gemmMR, k0: k0, kc: kc, into: panel)
            replk_bf16_pack_a_panel(panel, kc, dst + p * pairs * gemmMR + (k0 / 2) * gemmMR)
            k0 += kc
        }
    }
}

/// Winograd F(4×4, 3×3) input transform of one micro-panel of a batch of tiles, straight into the
/// bf16 GEMM's packed A: tiles `first + panel·MR ..< min(first + count, first + (panel + 1)·MR)`
/// are transformed in float32 into `scratch`, `winogradBF16PanelChannels` input channels at a time
/// (MR × 36 × that many floats, each tile's V[ξ][ci] a row, so the scratch stays in L2), and each
/// ξ's MR × channels block is rounded (nearest even) and laid out as `packAPanelsBF16` lays it, at
/// `v + ξ·xiStride + panel·P·MR` words (P = ⌈Cin/2⌉; rows past the batch zero). The 36 GEMMs then
/// read V in place (`.packed`), half the bytes of float32 V and no packing pass of their own.
package func winogradInputTransformBF16Panel(_ x: UnsafePointer<Float>, _ t: WinogradTiling, panel: Int,
                                             batchFirst first: Int, batchCount count: Int,
                                             into v: UnsafeMutablePointer<UInt32>, xiStride: Int,
                                             scratch: UnsafeMutablePointer<Float>) {
    let C = t.inChannels
    let t0 = first + panel * gemmMR, t1 = min(first + count, t0 + gemmMR)
    let panelOffset = panel * bf16Pairs(C) * gemmMR
    var c0 = 0
    while c0 < C {
        let c1 = min(C, c0 + winogradBF16PanelChannels)
        let width = c1 - c0, row = 36 * width
        for tile in t0..<t1 {
            winogradInputTransform(x, t, tiles: tile, tile + 1, channels: c0..<c1, batchFirst: tile, batchCount: 1,
                                   into: scratch + (tile - t0) * row, ld: width)
        }
        // The chunk's pairs start at pair c0 / 2 (chunks are even), each a column of MR words.
        for xi in 0..<36 {
            replk_bf16_pack_a_rows(scratch + xi * width, row, t1 - t0, width, v + xi * xiStride + panelOffset + (c0 / 2) * gemmMR)
        }
        c0 = c1
    }
}

/// Computes rows `m0 ..< m0+mc` and panels `panel0 ..< panel0+panelCount` of
/// C = epilogue(A · B) single-threaded, with bf16 operands. `packedB` comes from `packBBF16` for a
/// `k × n` matrix; a `.packed` A comes from `packAPanelsBF16` (its pointer holds pair words).
/// `scratch` holds at least `gemmBF16ScratchCount(mc:)` floats.
package func gemmBlockBF16(_ input: GEMMInput, m: Int, n: Int, k: Int,
                          packedB: UnsafePointer<UInt32>, c: UnsafeMutablePointer<Float>, ldc: Int,
                          epilogue: Epilogue, m0: Int, mc: Int, panel0: Int, panelCount: Int,
                          scratch: UnsafeMutablePointer<Float>) {
    let mcEff = min(mc, m - m0)
    if mcEff <= 0 { return }
    let hasEpilogue = !epilogue.isIdentity
    let pairs = bf16Pairs(k)
    let microPanels = (mcEff + gemmMR - 1) / gemmMR
    let block = UnsafeMutableRawPointer(scratch).bindMemory(to: UInt32.self, capacity: roundUp(mc, gemmMR) * gemmKC / 2)
    let floatPanel = scratch + roundUp(mc, gemmMR) * gemmKC / 2
    var k0 = 0
    while k0 < k {
        let kc = min(gemmKC, k - k0)
        let kp0 = k0 / 2, kpc = bf16Pairs(kc)
        let accumulate = k0 > 0
        let last = k0 + kc >= k
        // The A block: read in place when packed over the whole depth, else packed here.
        let aPanels: UnsafePointer<UInt32>
        let panelStride: Int
        if case let .packed(p) = input {
            let words = UnsafeRawPointer(p).assumingMemoryBound(to: UInt32.self)
            aPanels = words + (m0 / gemmMR) * pairs * gemmMR + kp0 * gemmMR
            panelStride = pairs * gemmMR
        } else {
            for mp in 0..<microPanels {
                let rows = min(gemmMR, mcEff - mp * gemmMR)
                if case let .rows(a, ld) = input {
                    // A 1×1 conv or linear layer: rounded and laid out in one pass, no float32 panel.
                    replk_bf16_pack_a_rows(a + (m0 + mp * gemmMR) * ld + k0, ld, rows, kc, block + mp * kpc * gemmMR)
                } else if case let .bf16Rows(a, ld) = input {
                    replk_bf16_pack_a_rows_bf16(a + (m0 + mp * gemmMR) * ld + k0, ld, rows, kc, block + mp * kpc * gemmMR)
                } else {
                    packA(input, m: m, m0: m0 + mp * gemmMR, mc: rows, k0: k0, kc: kc, into: floatPanel)
                    replk_bf16_pack_a_panel(floatPanel, kc, block + mp * kpc * gemmMR)
                }
            }
            aPanels = UnsafePointer(block)
            panelStride = kpc * gemmMR
        }
        for p in panel0..<(panel0 + panelCount) {
            let col0 = p * gemmNR
            let cols = min(gemmNR, n - col0)
            if cols <= 0 { break }
            let bPanel = packedB + p * pairs * gemmNR + kp0 * 16
            let bHigh = bPanel + pairs * 16
            let (nextP, nextK0) = nextBBlock(after: p, k0: k0, kc: kc, panel0: panel0, panelCount: panelCount, n: n)
            let nextLow = packedB + nextP * pairs * gemmNR + (nextK0 / 2) * 16
            let hasNext = nextK0 < k
            let nextLines = bf16Pairs(min(gemmKC, k - nextK0))
            for mp in 0..<microPanels {
                let low = UnsafeRawPointer(nextLow).assumingMemoryBound(to: Float.self)
                let pf = hasNext ? PrefetchRun(low: low, high: low + pairs * 16, lines: nextLines,
                                               index: mp, shares: microPanels, kc: kpc)
                                 : .none(UnsafeRawPointer(bPanel).assumingMemoryBound(to: Float.self))
                let row0 = m0 + mp * gemmMR
                let rows = min(gemmMR, m0 + mcEff - row0)
                let aPanel = aPanels + mp * panelStride
                let cTile = c + row0 * ldc + col0
                if last && mp + 1 < microPanels {
                    prefetchResidual(epilogue, row0: row0 + gemmMR, rows: min(gemmMR, m0 + mcEff - row0 - gemmMR),
                                     col0: col0, cols: cols)
                }
                if cols == gemmNR {
                    replk_bf16_gemm_tile(kpc, aPanel, bPanel, bHigh, pf.start.assumingMemoryBound(to: CChar.self),
                                         pf.step, cTile, ldc, accumulate ? 1 : 0, Int32(rows))
                    if last && hasEpilogue {
                        if rows == gemmMR {
                            // The tile is still in L1: bias, activation and residual in one pass over it.
                            fullTileEpilogue(TileEpilogue(epilogue, row0: row0, col0: col0), cTile, ldc)
                        } else {
                            applyEpilogue(epilogue, c, ldc: ldc, row0: row0, rows: rows, col0: col0, cols: cols)
                        }
                    }
                } else {
                    // Edge tile: compute all 32 columns in a scratch tile, keep the valid part.
                    throughScratchTile(cTile, ldc: ldc, rows: rows, cols: cols, accumulate: accumulate) { tile, ldt in
                        replk_bf16_gemm_tile(kpc, aPanel, bPanel, bHigh, pf.start.assumingMemoryBound(to: CChar.self),
                                             pf.step, tile, ldt, accumulate ? 1 : 0, Int32(rows))
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

/// A loop of independent `vdpbf16ps` (24 chains on zmm registers), for measuring the machine's
/// bf16 dot-product peak. Returns a value that depends on every chain.
package func bf16PeakLoop(iterations: Int, seed: Float) -> Float { replk_bf16_peak_loop(iterations, seed) }

/// Rounds `rows` × `cols` floats (row stride `lds`) to bf16 into `dst` (row stride `ldd`), as the
/// packing of A rounds them.
package func storeRowsBF16(_ src: UnsafePointer<Float>, lds: Int, rows: Int, cols: Int,
                          into dst: UnsafeMutablePointer<UInt16>, ldd: Int) {
    replk_bf16_store_rows(src, lds, rows, cols, dst, ldd)
}

/// The hardware's bf16 rounding of `count` floats (`vcvtne2ps2bf16`), for tests.
package func bf16RoundHardware(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutablePointer<UInt16>) {
    replk_bf16_round(src, count, dst)
}
#endif
