// bf16 depth-wise conv, stride 1 (AVX512_BF16): the bands of `depthwiseConvBand` with taps taken
// in pairs along each kernel row by `vdpbf16ps`, float32 accumulation, bias and activation in
// float32. Only in the AVX-512 build (this file has no link in Sources/KernelsV3); the tiles are C
// with function-level `target` attributes (Sources/CKernelsBF16/depthwise_bf16.c).
#if REPLK_V4 && arch(x86_64)
import RepLKCHints
import RepLKCKernelsBF16
import RepLKKernelCore

/// Stride-1 depth-wise conv of task `task` of `bands` (one band of output rows of one 16-channel
/// block of one image) with bf16 operands: each input row the band reads is rounded to bf16 once,
/// into its thread's `scratch` (`bands.scratchCount` floats) as a pair row (entry u: each channel's
/// input at padded columns u and u + 1, zero outside the map), just before the first output row
/// that needs it; `pairWeights` come from `packDepthwiseBF16Weights`. Only kernel rows inside the
/// map and pairs that reach it for some output of a tile are run, and no pair-row entry that lies
/// wholly in the padding is read. GELU is applied to the float32 sums after the tile.
/// With a bf16 input the pair rows are laid out from it as they are; with a bf16 output each tile
/// is stored through a float32 tile in L1 and rounded after its bias and activation.
package func depthwiseConvBandBF16(_ input: DepthwiseBF16Input, _ g: DepthwiseGeometry, _ bands: DepthwiseBands, task: Int,
                                  scratch: UnsafeMutablePointer<Float>, pairWeights: UnsafePointer<UInt32>,
                                  bias: UnsafePointer<Float>?, activation: Activation, _ output: DepthwiseBF16Output) {
    let C = g.channels
    let T = depthwiseTileWidth(g.outWidth)
    let pairs = bf16Pairs(g.kernelW)
    precondition(pairs <= 12 * Int(REPLK_DW_BF16_MAX_GROUPS), "the bf16 depth-wise tiles run kernels at most 384 taps wide")
    let t = DepthwiseBandTask(task, g, bands, bias: bias)
    let cb = t.cb, n = t.n, lanes = t.lanes, rowStride = t.rowStride, iyFirst = t.iyFirst
    let rows = UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: UInt32.self)
    // The block's bias, 16 floats after the rows (the room `DepthwiseBands` keeps for weights).
    let biasVector = scratch + bands.inputScratchCount
    store16(t.bias, biasVector)
    // Pair rows are written from padded column padLeft − 1 (the pair of the zero before the row and
    // its first pixel) to padLeft + W − 1 (its last pixel and the zero after it).
    let uLo = max(0, g.padLeft - 1), uHi = g.padLeft + g.width
    let relu: Int32 = activation == .relu ? 1 : 0
    // The weights: each layer's are read once per block, from L3 or memory (a 27×27 stack on 14²
    // maps waited on them at the start of every kernel row and ran at half speed), so this block's
    // lines are asked for at once, and those of the next task's block (the pool runs a thread's
    // tasks in order) a few per output row.
    let weightLines = g.kernelH * pairs
    let ownWeights = UnsafeRawPointer(pairWeights + cb * weightLines * 16)
    for i in 0..<weightLines { replk_prefetch_l2(ownWeights + i * 64) }
    let nextTask = task + 1
    let nextBlock = nextTask / bands.bandsPerPlane % bands.blocks
    let nextWeights: UnsafeRawPointer? = nextTask < bands.taskCount(batch: g.batch) && nextBlock != cb
        ? UnsafeRawPointer(pairWeights + nextBlock * weightLines * 16) : nil
    let bandRows = t.oy1 - t.oy0
    var copied = iyFirst
    for oy in t.oy0..<t.oy1 {
        if let nextWeights {
            let i = oy - t.oy0
            for l in (i * weightLines / bandRows)..<((i + 1) * weightLines / bandRows) { replk_prefetch_l2(nextWeights + l * 64) }
        }
        let ky = g.kernelRows(outputRow: oy), kyLo = ky.lowerBound, kyHi = ky.upperBound
        while copied < oy - g.padTop + kyHi {
            let offset = ((n * g.height + copied) * g.width) * C + cb * 16
            let dst = rows + (copied - iyFirst) * rowStride + uLo * 16
            switch input {
            case let .float(x): replk_dw_bf16_pair_row(x + offset, C, g.width, Int32(lanes), g.padLeft > 0 ? 1 : 0, dst)
            case let .bf16(x): replk_dw_bf16_pair_row_bf16(x + offset, C, g.width, Int32(lanes), g.padLeft > 0 ? 1 : 0, dst)
            }
            copied += 1
        }
        // The next input row, towards L2 while this output row is computed (see `DepthwiseBandTask.copyRows`).
        if copied < g.height && bands.prefetchesRows {
            let offset = ((n * g.height + copied) * g.width) * C + cb * 16
            let (src, pixelBytes): (UnsafeRawPointer, Int)
            switch input {
            case let .float(x): (src, pixelBytes) = (UnsafeRawPointer(x + offset), C * 4)
            case let .bf16(x): (src, pixelBytes) = (UnsafeRawPointer(x + offset), C * 2)
            }
            for ix in 0..<g.width { replk_prefetch_l2(src + ix * pixelBytes) }
        }
        if case let .float(y) = output { t.prefetchOutputRow(y, g, bands, row: oy + 1) }
        // With no kernel row inside the map (padding taller than the kernel) the tiles store the bias.
        let firstRow = rows + max(0, oy - g.padTop + kyLo - iyFirst) * rowStride
        let wts = pairWeights + (cb * g.kernelH + kyLo) * pairs * 16
        let rowOffset = ((n * g.outHeight + oy) * g.outWidth) * C + cb * 16
        var ox0 = 0
        while ox0 < g.outWidth {
            let valid = min(T, g.outWidth - ox0)
            // Pairs holding a tap that lands inside the map for at least one output of the tile.
            let taps = g.tileTaps(from: ox0, valid: valid)
            let kpLo = taps.lowerBound / 2, kpHi = taps.isEmpty ? kpLo : (taps.upperBound + 1) / 2
            // A float32 output is written in place; a bf16 one goes through a tile after the rows.
            let (o, ldo): (UnsafeMutablePointer<Float>, Int)
            switch output {
            case let .float(y): (o, ldo) = (y + rowOffset + ox0 * C, C)
            case .bf16: (o, ldo) = (biasVector + 16, 16)
            }
            replk_dw_bf16_tile(Int32(T), firstRow + ox0 * 16, rowStride, kyHi - kyLo, wts, pairs, kpLo, kpHi,
                               uLo - ox0, uHi - ox0, biasVector, relu, o, ldo, Int32(valid), Int32(lanes))
            if activation == .gelu {
                // The tile's outputs are still in L1.
                for p in 0..<valid {
                    let q = o + p * ldo
                    if lanes == 16 {
                        store16(gelu16(load16(q)), q)
                    } else {
                        var v = V16()
                        for l in 0..<lanes { v[l] = q[l] }
                        storeLanes(gelu16(v), q, lanes)
                    }
                }
            }
            if case let .bf16(y) = output {
                replk_bf16_store_rows(o, 16, valid, lanes, y + rowOffset + ox0 * C, C)
            }
            ox0 += T
        }
    }
}
#endif
