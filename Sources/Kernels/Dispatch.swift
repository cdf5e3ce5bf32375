// The kernels are compiled twice from the same sources (Sources/KernelsV4, and Sources/KernelsV3 whose
// files are links to them): once for AVX-512 (x86-64-v4) and once for AVX2 + FMA (x86-64-v3). This
// module picks one at run time by CPUID and forwards every call to it, so one binary runs at full
// speed on AVX-512 machines and correctly (never SIGILL) on AVX2 ones. Elsewhere (arm64) both builds
// are native and the V4 one is used.

@_exported import RepLKKernelCore
import RepLKCPUInfo
import RepLKKernelsV3
import RepLKKernelsV4
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A compiled build of the kernels.
package enum KernelVariant: String, Sendable, CaseIterable {
    /// AVX-512 (x86-64-v4): 16-lane vectors in 32 zmm registers.
    case v4 = "x86-64-v4"
    /// AVX2 + FMA (x86-64-v3): 8-lane vectors in 16 ymm registers.
    case v3 = "x86-64-v3"

    /// Whether this CPU can run the variant.
    package var isSupported: Bool {
        #if arch(x86_64)
        switch self {
        case .v4: return replk_cpu_supports_x86_64_v4() != 0
        case .v3: return replk_cpu_supports_x86_64_v3() != 0
        }
        #else
        return self == .v4
        #endif
    }

    /// The fastest variant this CPU runs, or nil when it runs none (an x86-64 CPU without AVX2/FMA).
    package static var best: KernelVariant? { allCases.first { $0.isSupported } }
}

/// The kernel build in use: the best this CPU runs, or the one named by the environment variable
/// `REPLK_KERNELS` (`x86-64-v3` or `v3`, `x86-64-v4` or `v4`) when the CPU runs it.
/// `selectKernelVariant` changes it.
package private(set) var kernelVariant: KernelVariant? = {
    if let forced = environmentValue("REPLK_KERNELS"), let v = KernelVariant.allCases.first(where: { $0.rawValue == forced || "\($0)" == forced }), v.isSupported {
        return v
    }
    return KernelVariant.best
}()

/// Switches to another kernel build (tests run every supported one). Returns false, changing
/// nothing, when this CPU cannot run it. Not for use while kernels run on other threads.
@discardableResult
package func selectKernelVariant(_ v: KernelVariant) -> Bool {
    guard v.isSupported else { return false }
    kernelVariant = v
    return true
}

@inline(__always) private var useV4: Bool {
    guard let v = kernelVariant else {
        fatalError("this CPU has neither AVX-512 nor AVX2+FMA; the tools check this before running any kernel")
    }
    return v == .v4
}

private func environmentValue(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}

// MARK: - Forwarders (documentation on the implementations in Sources/KernelsV4)

/// Computes rows `m0 ..< m0+mc` and panels `panel0 ..< panel0+panelCount` of
/// C = epilogue(A · B) single-threaded. `packedB` comes from `packB` for a `k × n` matrix.
/// `scratch` holds at least `gemmScratchCount(mc:)` floats.
package func gemmBlock(_ input: GEMMInput, m: Int, n: Int, k: Int,
                      packedB: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
                      epilogue: Epilogue, m0: Int, mc: Int, panel0: Int, panelCount: Int,
                      scratch: UnsafeMutablePointer<Float>) {
    if useV4 {
        RepLKKernelsV4.gemmBlock(input, m: m, n: n, k: k, packedB: packedB, c: c, ldc: ldc, epilogue: epilogue,
                            m0: m0, mc: mc, panel0: panel0, panelCount: panelCount, scratch: scratch)
    } else {
        RepLKKernelsV3.gemmBlock(input, m: m, n: n, k: k, packedB: packedB, c: c, ldc: ldc, epilogue: epilogue,
                            m0: m0, mc: mc, panel0: panel0, panelCount: panelCount, scratch: scratch)
    }
}

/// Depth-wise convolution for output rows `row0 ..< row1` (row = n·outHeight + oy), any stride and
/// dilation; weights tap-major (`weights[(ky·kW + kx)·C + c]`). Taps in the zero padding are skipped.
package func depthwiseConvRows(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry,
                              weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              activation: Activation,
                              _ y: UnsafeMutablePointer<Float>, row0: Int, row1: Int) {
    if useV4 {
        RepLKKernelsV4.depthwiseConvRows(x, g, weights: weights, bias: bias, activation: activation, y, row0: row0, row1: row1)
    } else {
        RepLKKernelsV3.depthwiseConvRows(x, g, weights: weights, bias: bias, activation: activation, y, row0: row0, row1: row1)
    }
}

/// Stride-1 depth-wise conv of task `task` of `bands` (one band of output rows of one channel block
/// of one image), reading the NHWC input through `scratch` (`bands.scratchCount` floats, this
/// thread's own). Only taps that reach the map for some output of a tile are run.
package func depthwiseConvBand(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, _ bands: DepthwiseBands, task: Int,
                              scratch: UnsafeMutablePointer<Float>, blockedWeights: UnsafePointer<Float>,
                              bias: UnsafePointer<Float>?, activation: Activation, _ y: UnsafeMutablePointer<Float>) {
    if useV4 {
        RepLKKernelsV4.depthwiseConvBand(x, g, bands, task: task, scratch: scratch, blockedWeights: blockedWeights,
                                    bias: bias, activation: activation, y)
    } else {
        RepLKKernelsV3.depthwiseConvBand(x, g, bands, task: task, scratch: scratch, blockedWeights: blockedWeights,
                                    bias: bias, activation: activation, y)
    }
}

/// Stride-1 depth-wise conv of task `task` of `plan` (one pair of channel blocks of one image, a
/// band of its 64 × 64 FFT tiles), with `scratch` of `plan.scratchCount` floats (this thread's own).
package func depthwiseConvFFT(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, _ plan: DepthwiseFFT, task: Int,
                             scratch: UnsafeMutablePointer<Float>, blockedWeights: UnsafePointer<Float>,
                             bias: UnsafePointer<Float>?, activation: Activation, _ y: UnsafeMutablePointer<Float>) {
    if useV4 {
        RepLKKernelsV4.depthwiseConvFFT(x, g, plan, task: task, scratch: scratch, blockedWeights: blockedWeights,
                                   bias: bias, activation: activation, y)
    } else {
        RepLKKernelsV3.depthwiseConvFFT(x, g, plan, task: task, scratch: scratch, blockedWeights: blockedWeights,
                                   bias: bias, activation: activation, y)
    }
}

/// Whether the kernels chosen for this CPU have `depthwiseConvStrip` (the AVX-512 build).
package var depthwiseStripsAvailable: Bool { useV4 }

/// Whether large maps run faster as strips than as per-block bands on this CPU: on Intel only.
/// The bands read one 64-byte line every `C · 4` bytes; an Intel Xeon core (Sapphire Rapids class)
/// waits on each from L3, and there the strips ran 7×7 stacks on 64² maps with 384 channels 1.8×
/// faster on one thread. An AMD Zen 5 core fetches them fast enough that the strips' extra copy
/// costs more than it saves: bands 1.05–1.3× faster from 3×3 to 31×31 on 64² (1 and 2 threads),
/// and UperNet-31B at 512² about 3 % faster.
package let depthwiseStripsPreferred: Bool = {
    #if arch(x86_64)
    return replk_cpu_is_intel() != 0
    #else
    return false
    #endif
}()

/// Stride-1 depth-wise conv of task `task` of `strips` (one band of output rows of one group of
/// channel blocks of one image), reading the NHWC input through `scratch` (`strips.scratchCount`
/// floats, this thread's own). Only where `depthwiseStripsAvailable`.
package func depthwiseConvStrip(_ x: UnsafePointer<Float>, _ g: DepthwiseGeometry, _ strips: DepthwiseStrips, task: Int,
                               scratch: UnsafeMutablePointer<Float>, blockedWeights: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, activation: Activation, _ y: UnsafeMutablePointer<Float>) {
    precondition(useV4, "depth-wise strips need the AVX-512 kernels")
    RepLKKernelsV4.depthwiseConvStrip(x, g, strips, task: task, scratch: scratch, blockedWeights: blockedWeights,
                                 bias: bias, activation: activation, y)
}

/// y[i] = act(x[i]) in place, for `count` values.
package func activate(_ p: UnsafeMutablePointer<Float>, count: Int, _ act: Activation) {
    if useV4 { RepLKKernelsV4.activate(p, count: count, act) } else { RepLKKernelsV3.activate(p, count: count, act) }
}

/// Per-channel affine map over `pixels` rows of `channels` values: y = x·scale[c] + shift[c]
/// (an un-folded BatchNorm at inference).
package func channelAffine(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pixels: Int, channels: Int,
                          scale: UnsafePointer<Float>, shift: UnsafePointer<Float>) {
    if useV4 {
        RepLKKernelsV4.channelAffine(x, y, pixels: pixels, channels: channels, scale: scale, shift: shift)
    } else {
        RepLKKernelsV3.channelAffine(x, y, pixels: pixels, channels: channels, scale: scale, shift: shift)
    }
}

/// z = x + y for `count` values.
package func addArrays(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, count: Int) {
    if useV4 { RepLKKernelsV4.addArrays(x, y, z, count: count) } else { RepLKKernelsV3.addArrays(x, y, z, count: count) }
}

/// A loop of independent FMAs sized for the variant's register file, for measuring the machine's
/// float32 peak; `fmaPeakFlopsPerIteration` FLOPs per iteration.
package func fmaPeakLoop(iterations: Int, seed: Float) -> Float {
    useV4 ? RepLKKernelsV4.fmaPeakLoop(iterations: iterations, seed: seed) : RepLKKernelsV3.fmaPeakLoop(iterations: iterations, seed: seed)
}

/// FLOPs one iteration of `fmaPeakLoop` performs.
package var fmaPeakFlopsPerIteration: Int {
    useV4 ? RepLKKernelsV4.fmaPeakFlopsPerIteration : RepLKKernelsV3.fmaPeakFlopsPerIteration
}

/// RoIAlign (torchvision / mmcv `roi_align`) over one NHWC feature map, writing `[out, out, C]`.
package func roiAlignNHWC(_ x: UnsafePointer<Float>, height: Int, width: Int, channels C: Int,
                         box: (Float, Float, Float, Float), spatialScale: Float, outputSize P: Int, aligned: Bool,
                         samplingRatio: Int, into out: UnsafeMutablePointer<Float>) {
    if useV4 {
        RepLKKernelsV4.roiAlignNHWC(x, height: height, width: width, channels: C, box: box, spatialScale: spatialScale,
                               outputSize: P, aligned: aligned, samplingRatio: samplingRatio, into: out)
    } else {
        RepLKKernelsV3.roiAlignNHWC(x, height: height, width: width, channels: C, box: box, spatialScale: spatialScale,
                               outputSize: P, aligned: aligned, samplingRatio: samplingRatio, into: out)
    }
}

/// Bilinear resize of NHWC rows `row0 ..< row1` (row = n·outH + oy).
package func resizeBilinearRows(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels C: Int,
                               _ y: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int,
                               yTaps: [LinearTap], xTaps: [LinearTap], row0: Int, row1: Int) {
    if useV4 {
        RepLKKernelsV4.resizeBilinearRows(x, batch: batch, height: height, width: width, channels: C, y, outHeight: outHeight,
                                     outWidth: outWidth, yTaps: yTaps, xTaps: xTaps, row0: row0, row1: row1)
    } else {
        RepLKKernelsV3.resizeBilinearRows(x, batch: batch, height: height, width: width, channels: C, y, outHeight: outHeight,
                                     outWidth: outWidth, yTaps: yTaps, xTaps: xTaps, row0: row0, row1: row1)
    }
}

/// Nearest-neighbour resize (PyTorch `mode='nearest'`: source = floor(dst · in / out)).
package func resizeNearestRows(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels C: Int,
                              _ y: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int, row0: Int, row1: Int) {
    if useV4 {
        RepLKKernelsV4.resizeNearestRows(x, batch: batch, height: height, width: width, channels: C, y, outHeight: outHeight,
                                    outWidth: outWidth, row0: row0, row1: row1)
    } else {
        RepLKKernelsV3.resizeNearestRows(x, batch: batch, height: height, width: width, channels: C, y, outHeight: outHeight,
                                    outWidth: outWidth, row0: row0, row1: row1)
    }
}

/// Adaptive average pooling to `outH × outW` bins (bin k covers [floor(k·H/out), ceil((k+1)·H/out))).
package func adaptiveAvgPool(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels C: Int,
                            _ y: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
    if useV4 {
        RepLKKernelsV4.adaptiveAvgPool(x, batch: batch, height: height, width: width, channels: C, y, outHeight: outHeight, outWidth: outWidth)
    } else {
        RepLKKernelsV3.adaptiveAvgPool(x, batch: batch, height: height, width: width, channels: C, y, outHeight: outHeight, outWidth: outWidth)
    }
}

/// Max pooling with padding (padded positions never win), NHWC.
package func maxPool(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels C: Int,
                    kernel: Int, stride: Int, padding: Int,
                    _ y: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
    if useV4 {
        RepLKKernelsV4.maxPool(x, batch: batch, height: height, width: width, channels: C, kernel: kernel, stride: stride,
                          padding: padding, y, outHeight: outHeight, outWidth: outWidth)
    } else {
        RepLKKernelsV3.maxPool(x, batch: batch, height: height, width: width, channels: C, kernel: kernel, stride: stride,
                          padding: padding, y, outHeight: outHeight, outWidth: outWidth)
    }
}

/// Winograd F(4×4, 3×3) input transform of tiles `t0 ..< t1`: V[ξ][tile − first][ci] at
/// `v + (ξ·count + tile − first)·Cin + ci` (36 row-major `count × Cin` operands); input outside
/// the map is zero.
package func winogradInputTransform(_ x: UnsafePointer<Float>, _ t: WinogradTiling, tiles t0: Int, _ t1: Int,
                                   batchFirst first: Int, batchCount count: Int, into v: UnsafeMutablePointer<Float>) {
    if useV4 {
        RepLKKernelsV4.winogradInputTransform(x, t, tiles: t0, t1, batchFirst: first, batchCount: count, into: v)
    } else {
        RepLKKernelsV3.winogradInputTransform(x, t, tiles: t0, t1, batchFirst: first, batchCount: count, into: v)
    }
}

/// Winograd F(4×4, 3×3) output transform of tiles `t0 ..< t1` from M[ξ][tile − first][co] at
/// `m + (ξ·count + tile − first)·Cout + co`: writes `act(Y + bias) + residual` into the NHWC `y`.
package func winogradOutputTransform(_ m: UnsafePointer<Float>, _ t: WinogradTiling, tiles t0: Int, _ t1: Int,
                                    batchFirst first: Int, batchCount count: Int, bias: UnsafePointer<Float>?,
                                    activation: Activation, residual: UnsafePointer<Float>?,
                                    _ y: UnsafeMutablePointer<Float>) {
    if useV4 {
        RepLKKernelsV4.winogradOutputTransform(m, t, tiles: t0, t1, batchFirst: first, batchCount: count, bias: bias,
                                          activation: activation, residual: residual, y)
    } else {
        RepLKKernelsV3.winogradOutputTransform(m, t, tiles: t0, t1, batchFirst: first, batchCount: count, bias: bias,
                                          activation: activation, residual: residual, y)
    }
}

/// Packs micro-panels `panel0 ..< panel0 + count` of an M × K GEMM operand over its whole depth
/// (the layout of `GEMMInput.packed`) into `dst`, which holds `packedACount(m:k:)` floats.
package func packAPanels(_ input: GEMMInput, m: Int, k: Int, panels panel0: Int, count: Int,
                        into dst: UnsafeMutablePointer<Float>) {
    if useV4 {
        RepLKKernelsV4.packAPanels(input, m: m, k: k, panels: panel0, count: count, into: dst)
    } else {
        RepLKKernelsV3.packAPanels(input, m: m, k: k, panels: panel0, count: count, into: dst)
    }
}

// MARK: - bf16 (AVX512_BF16, in the AVX-512 build only)

extension Precision {
    /// Whether this CPU and the kernel build in use run this precision: float32 always; bf16 with
    /// the AVX-512 build on a CPU with AVX512_BF16.
    package var isSupported: Bool { unsupportedReason == nil }

    /// Why this precision cannot run here (one line naming the missing CPU feature), or nil.
    package var unsupportedReason: String? {
        switch self {
        case .fp32: return nil
        case .bf16:
            #if arch(x86_64)
            if replk_cpu_supports_avx512bf16() == 0 {
                return "--precision bf16 needs a CPU with AVX512_BF16 (AMD Zen 4 or later, Intel Cooper Lake or Sapphire Rapids or later); this CPU lacks it"
            }
            if kernelVariant != .v4 {
                return "--precision bf16 needs the AVX-512 kernels, but REPLK_KERNELS selects \(kernelVariant?.rawValue ?? "none")"
            }
            return nil
            #else
            return "--precision bf16 needs an x86-64 CPU with AVX512_BF16; this is not one"
            #endif
        }
    }
}

@inline(__always) private func requireBF16() {
    precondition(Precision.bf16.isSupported, Precision.bf16.unsupportedReason ?? "")
}

/// Winograd input transform of micro-panel `panel` of a batch of tiles into the bf16 GEMM's packed
/// A (`RepLKKernelsV4.winogradInputTransformBF16Panel`): `scratch` of
/// `winogradBF16PanelScratchCount(inChannels:)` floats.
/// Only where `Precision.bf16.isSupported`.
package func winogradInputTransformBF16Panel(_ x: UnsafePointer<Float>, _ t: WinogradTiling, panel: Int,
                                             batchFirst first: Int, batchCount count: Int,
                                             into v: UnsafeMutablePointer<UInt32>, xiStride: Int,
                                             scratch: UnsafeMutablePointer<Float>) {
    #if arch(x86_64)
    requireBF16()
    RepLKKernelsV4.winogradInputTransformBF16Panel(x, t, panel: panel, batchFirst: first, batchCount: count,
                                                   into: v, xiStride: xiStride, scratch: scratch)
    #else
    preconditionFailure(Precision.bf16.unsupportedReason ?? "")
    #endif
}

/// `gemmBlock` with bf16 operands (float32 accumulation and epilogue): `packedB` from `packBBF16`,
/// a `.packed` A from `packAPanelsBF16`, `scratch` of `gemmBF16ScratchCount(mc:)` floats. Only
/// where `Precision.bf16.isSupported`.
package func gemmBlockBF16(_ input: GEMMInput, m: Int, n: Int, k: Int,
                          packedB: UnsafePointer<UInt32>, c: UnsafeMutablePointer<Float>, ldc: Int,
                          epilogue: Epilogue, m0: Int, mc: Int, panel0: Int, panelCount: Int,
                          scratch: UnsafeMutablePointer<Float>) {
    #if arch(x86_64)
    requireBF16()
    RepLKKernelsV4.gemmBlockBF16(input, m: m, n: n, k: k, packedB: packedB, c: c, ldc: ldc, epilogue: epilogue,
                            m0: m0, mc: mc, panel0: panel0, panelCount: panelCount, scratch: scratch)
    #else
    preconditionFailure(Precision.bf16.unsupportedReason ?? "")
    #endif
}

/// Packs micro-panels of an M × K operand over its whole depth into bf16 pairs (the `.packed`
/// layout `gemmBlockBF16` reads; `packedBF16ACount(m:k:)` words), through `panel`, a float32
/// scratch of `gemmMR · gemmKC` floats. Only where `Precision.bf16.isSupported`.
package func packAPanelsBF16(_ input: GEMMInput, m: Int, k: Int, panels panel0: Int, count: Int,
                            into dst: UnsafeMutablePointer<UInt32>, panel: UnsafeMutablePointer<Float>) {
    #if arch(x86_64)
    requireBF16()
    RepLKKernelsV4.packAPanelsBF16(input, m: m, k: k, panels: panel0, count: count, into: dst, panel: panel)
    #else
    preconditionFailure(Precision.bf16.unsupportedReason ?? "")
    #endif
}

/// A loop of independent `vdpbf16ps`, for measuring the bf16 peak (`bf16PeakFlopsPerIteration`
/// FLOPs per iteration). Only where `Precision.bf16.isSupported`.
package func bf16PeakLoop(iterations: Int, seed: Float) -> Float {
    #if arch(x86_64)
    requireBF16()
    return RepLKKernelsV4.bf16PeakLoop(iterations: iterations, seed: seed)
    #else
    preconditionFailure(Precision.bf16.unsupportedReason ?? "")
    #endif
}

/// FLOPs one iteration of `bf16PeakLoop` performs.
package let bf16PeakFlopsPerIteration = 2 * 2 * 16 * 24

/// Rounds `rows` × `cols` floats (row stride `lds`) to bf16 bit patterns into `dst` (row stride
/// `ldd`), as the bf16 GEMM's packing of A rounds them. Only where `Precision.bf16.isSupported`.
package func storeRowsBF16(_ src: UnsafePointer<Float>, lds: Int, rows: Int, cols: Int,
                          into dst: UnsafeMutablePointer<UInt16>, ldd: Int) {
    #if arch(x86_64)
    requireBF16()
    RepLKKernelsV4.storeRowsBF16(src, lds: lds, rows: rows, cols: cols, into: dst, ldd: ldd)
    #else
    preconditionFailure(Precision.bf16.unsupportedReason ?? "")
    #endif
}

/// The hardware's rounding of `count` floats to bf16 bit patterns, for checking `bf16Bits`.
/// Only where `Precision.bf16.isSupported`.
package func bf16RoundHardware(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutablePointer<UInt16>) {
    #if arch(x86_64)
    requireBF16()
    RepLKKernelsV4.bf16RoundHardware(src, count: count, into: dst)
    #else
    preconditionFailure(Precision.bf16.unsupportedReason ?? "")
    #endif
}

// MARK: - bf16 depth-wise conv (AVX512_BF16, in the AVX-512 build only)

/// `depthwiseConvBand` with bf16 operands (float32 accumulation, bias and activation): taps in
/// pairs along each kernel row through `vdpbf16ps`, `pairWeights` from `packDepthwiseBF16Weights`,
/// `scratch` of `bands.scratchCount` floats (this thread's own). Stride 1 and dilation 1 only.
/// Only where `Precision.bf16.isSupported`.
package func depthwiseConvBandBF16(_ x: DepthwiseBF16Input, _ g: DepthwiseGeometry, _ bands: DepthwiseBands, task: Int,
                                  scratch: UnsafeMutablePointer<Float>, pairWeights: UnsafePointer<UInt32>,
                                  bias: UnsafePointer<Float>?, activation: Activation, _ y: DepthwiseBF16Output) {
    #if arch(x86_64)
    requireBF16()
    precondition(g.strideH == 1 && g.strideW == 1 && g.dilationH == 1 && g.dilationW == 1,
                 "the bf16 depth-wise bands run stride 1 and dilation 1 only")
    RepLKKernelsV4.depthwiseConvBandBF16(x, g, bands, task: task, scratch: scratch, pairWeights: pairWeights, bias: bias,
                                    activation: activation, y)
    #else
    preconditionFailure(Precision.bf16.unsupportedReason ?? "")
    #endif
}

/// How long, in microseconds, 1 MB written by one core takes to be read by another right now
/// (median of `rounds` hand-overs between threads pinned to the first two allowed CPUs); nil with
/// one CPU or where threads cannot be pinned. A shared VM's host at times places the vCPUs where
/// this grows fivefold for seconds at a time (31 → 151 µs on the Zen 5 VM of docs/performance.md), and
/// every multi-threaded run slows by as much as its threads pass data to each other, so
/// `replk-bench` records it beside its timings.
public func coreHandoverMicroseconds(rounds: Int = 40) -> Double? {
    let v = replk_core_handover_microseconds(Int32(clamping: rounds))
    return v >= 0 ? v : nil
}
