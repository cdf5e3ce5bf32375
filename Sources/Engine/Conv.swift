#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RepLKKernels
// The heads and tools name the precision through Engine.
@_exported import enum RepLKKernelCore.Precision
import RepLKParallel

/// Most rows of A per GEMM task (20 micro-panels): the packed A block (240 × KC floats) stays in L2
/// while every B panel of the task meets it.
private let gemmMaxMC = 240

/// Splits `m` rows into the fewest blocks of at most `gemmMaxMC` rows, of equal size in whole
/// micro-panels: few, large blocks, since each block streams all of B once (the Winograd batches).
private func gemmRowBlocks(_ m: Int) -> (count: Int, rows: Int) {
    let count = (m + gemmMaxMC - 1) / gemmMaxMC
    return (count, roundUp((m + count - 1) / count, gemmMR))
}

/// A packed B operand of the GEMM: float32 from `packB`, or bf16 pairs from `packBBF16`.
public enum PackedWeights {
    case fp32(UnsafePointer<Float>)
    case bf16(UnsafePointer<UInt32>)

    /// The same operand `words` 4-byte words further on (the next group's or Winograd operand's).
    func advanced(by words: Int) -> PackedWeights {
        switch self {
        case let .fp32(p): return .fp32(p + words)
        case let .bf16(p): return .bf16(p + words)
        }
    }
}

/// Runs C = epilogue(A · B) over `pool` (default `ThreadPool.defaultPool`). `packedB` comes from
/// `packB` for a `k × n` matrix.
public func gemm(_ input: GEMMInput, m: Int, n: Int, k: Int, packedB: UnsafePointer<Float>,
                 c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue,
                 pool: ThreadPool = ThreadPool.defaultPool) {
    gemm(input, m: m, n: n, k: k, weights: .fp32(packedB), c: c, ldc: ldc, epilogue: epilogue, pool: pool)
}

/// Runs C = epilogue(A · B) over the thread pool, in the precision of the packed `weights`
/// (bf16 weights: A is rounded to bf16 as it is packed; float32 accumulation and epilogue).
/// `pool` defaults to `ThreadPool.defaultPool`.
public func gemm(_ input: GEMMInput, m: Int, n: Int, k: Int, weights: PackedWeights,
                 c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue,
                 pool: ThreadPool = ThreadPool.defaultPool) {
    runGEMM(input, m: m, n: n, k: k, weights: weights, output: .float(c, ld: ldc), epilogue: epilogue, pool: pool)
}

/// Where a GEMM leaves C: float32, or rounded to bf16 after the epilogue (bf16 weights only).
enum GEMMOutput {
    case float(UnsafeMutablePointer<Float>, ld: Int)
    case bf16(UnsafeMutablePointer<UInt16>, ld: Int)
}

func runGEMM(_ input: GEMMInput, m: Int, n: Int, k: Int, weights: PackedWeights, output: GEMMOutput,
             epilogue: Epilogue, pool: ThreadPool) {
    if m == 0 || n == 0 { return }
    let split = GEMMSplit(m: m, n: n, threads: pool.threadCount)
    let panels = split.panels, groups = split.groups, panelsPerGroup = split.panelsPerGroup
    // When several tasks share rows of A, pack A once (in parallel) instead of once per task,
    // each thread the row blocks it then multiplies.
    var input = input
    var packedA: TensorStorage?
    var inPlace = false
    if case .packed = input { inPlace = true }
    if groups > 1 && !inPlace {
        let source = input
        let storage: TensorStorage
        switch weights {
        case .fp32:
            storage = TensorStorage(count: packedACount(m: m, k: k))
            pool.parallelFor(split.packTasks(pool.threadCount), affine: true) { b, _ in
                let (p0, count) = split.packRange(b, pool.threadCount)
                packAPanels(source, m: m, k: k, panels: p0, count: count, into: storage.pointer)
            }
        case .bf16:
            // Pair words, in a float buffer of the same size.
            storage = TensorStorage(count: packedBF16ACount(m: m, k: k))
            let words = UnsafeMutableRawPointer(storage.pointer).assumingMemoryBound(to: UInt32.self)
            pool.parallelFor(split.packTasks(pool.threadCount), affine: true) { b, _ in
                let (p0, count) = split.packRange(b, pool.threadCount)
                withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmMR * gemmKC) { panel in
                    packAPanelsBF16(source, m: m, k: k, panels: p0, count: count, into: words, panel: panel.baseAddress!)
                }
            }
        }
        input = .packed(storage.pointer)
        packedA = storage
    }
    defer { withExtendedLifetime(packedA) {} }
    let mcMax = split.maxBlockRows
    pool.parallelFor(split.rowBlocks * groups, affine: true) { task, _ in
        let mb = task / groups, gi = task % groups
        let (a0, aCount) = split.panelRange(ofBlock: mb)
        let m0 = a0 * gemmMR, mc = aCount * gemmMR
        let p0 = gi * panelsPerGroup
        let pc = min(panelsPerGroup, panels - p0)
        switch weights {
        case let .fp32(packedB):
            guard case let .float(c, ldc) = output else { preconditionFailure("a bf16 C needs bf16 weights") }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmScratchCount(mc: mcMax)) { scratch in
                gemmBlock(input, m: m, n: n, k: k, packedB: packedB, c: c, ldc: ldc, epilogue: epilogue,
                          m0: m0, mc: mc, panel0: p0, panelCount: pc, scratch: scratch.baseAddress!)
            }
        case let .bf16(packedB):
            withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmBF16ScratchCount(mc: mcMax)) { scratch in
                let out: UnsafeMutablePointer<UInt16>, ldo: Int
                switch output {
                case let .float(c, ldc):
                    gemmBlockBF16(input, m: m, n: n, k: k, packedB: packedB, c: c, ldc: ldc, epilogue: epilogue,
                                  m0: m0, mc: mc, panel0: p0, panelCount: pc, scratch: scratch.baseAddress!)
                    return
                case let .bf16(p, ld):
                    (out, ldo) = (p, ld)
                }
                // The task's block of C in float32 (it stays in L2), then rounded once, after the
                // epilogue: the values the next bf16 GEMM would have rounded as it packed them.
                let ldt = panelsPerGroup * gemmNR
                withUnsafeTemporaryAllocation(of: Float.self, capacity: roundUp(mcMax, gemmMR) * ldt) { tile in
                    let t = tile.baseAddress!
                    // C's element (row, col) at t[(row − m0)·ldt + col − p0·NR]: the block sees C's coordinates.
                    let origin = t - (m0 * ldt + p0 * gemmNR)
                    gemmBlockBF16(input, m: m, n: n, k: k, packedB: packedB, c: origin, ldc: ldt, epilogue: epilogue,
                                  m0: m0, mc: mc, panel0: p0, panelCount: pc, scratch: scratch.baseAddress!)
                    let rows = min(mc, m - m0), col0 = p0 * gemmNR, cols = min(n, (p0 + pc) * gemmNR) - col0
                    if rows > 0 && cols > 0 {
                        storeRowsBF16(t, lds: ldt, rows: rows, cols: cols, into: out + m0 * ldo + col0, ldd: ldo)
                    }
                }
            }
        }
    }
}

/// How `gemm` splits C over a pool's threads, the same way in every GEMM of a shape, and with
/// affine shares (`ThreadPool.parallelFor(_:affine:withWorkerIndex:)`) so that each thread writes
/// the same part of C each time. Where M ≥ 2N, thread t owns the t-th contiguous share of A's
/// micro-panels (rows): the rows of C it writes are the rows of A the next 1×1 conv gives it, and
/// the residual rows it adds are ones it wrote. Elsewhere every thread keeps the same column
/// groups. Row blocks hold at most `gemmMaxMC` rows (each streams all of B once), and are cut
/// into column groups when there are fewer than four tasks a thread.
// Why ownership: this machine's host at times places the two vCPUs where a cache line moving
// between them costs several times as long (`coreHandoverMicroseconds`: 31 → 151 µs per MB;
// memory bandwidth and latency unchanged). With tasks claimed in any order, C's lines moved
// between cores from one run to the next, and the 56² GEMMs ran at 640 GFLOP/s instead of 870.
struct GEMMSplit {
    /// Micro-panels of A (`⌈m / MR⌉`) and of B (`⌈n / NR⌉`).
    let aPanels: Int, panels: Int
    let threads: Int
    /// Row blocks in each thread's share, and in all.
    let blocksPerThread: Int, rowBlocks: Int
    let groups: Int, panelsPerGroup: Int

    init(m: Int, n: Int, threads requested: Int) {
        aPanels = (m + gemmMR - 1) / gemmMR
        panels = (n + gemmNR - 1) / gemmNR
        // Rows per thread where A is the larger operand to keep local (the 56² and 28² stages);
        // where B is (M = 196 or 49 against N up to 4096), two threads reading all of B passed
        // more of it between cores than A's rows would (isolated 196 × 512 → 2048, bf16, slow
        // spell: 680 against 830 GFLOP/s), so there each thread keeps the same column groups.
        // A thread without a whole micro-panel of its own would only duplicate B's traffic.
        threads = m >= 2 * n ? max(1, min(requested, aPanels)) : 1
        let perThread = (aPanels + threads - 1) / threads
        blocksPerThread = (perThread * gemmMR + gemmMaxMC - 1) / gemmMaxMC
        rowBlocks = blocksPerThread * threads
        let wanted = 4 * requested
        var g = 1
        if rowBlocks < wanted { g = min(panels, (wanted + rowBlocks - 1) / rowBlocks) }
        panelsPerGroup = (panels + g - 1) / g
        groups = (panels + panelsPerGroup - 1) / panelsPerGroup
    }

    /// The A micro-panels of row block `b` (`first ..< first + count`; count may be 0).
    func panelRange(ofBlock b: Int) -> (first: Int, count: Int) {
        let t = b / blocksPerThread, j = b % blocksPerThread
        let s0 = t * aPanels / threads, s1 = (t + 1) * aPanels / threads
        let len = s1 - s0
        let p0 = s0 + j * len / blocksPerThread, p1 = s0 + (j + 1) * len / blocksPerThread
        return (p0, p1 - p0)
    }

    /// Tasks of the A packing pass: each thread's row blocks, or with column groups an equal
    /// share of A's micro-panels for each of the pool's threads.
    func packTasks(_ poolThreads: Int) -> Int { threads == 1 ? min(poolThreads, aPanels) : rowBlocks }
    /// The A micro-panels packing task `b` packs.
    func packRange(_ b: Int, _ poolThreads: Int) -> (first: Int, count: Int) {
        if threads > 1 { return panelRange(ofBlock: b) }
        let T = min(poolThreads, aPanels)
        return (b * aPanels / T, (b + 1) * aPanels / T - b * aPanels / T)
    }

    /// Rows of the largest block (for the scratch).
    var maxBlockRows: Int {
        let perThread = (aPanels + threads - 1) / threads
        return ((perThread + blocksPerThread - 1) / blocksPerThread) * gemmMR
    }
}

/// How the engine runs stride-1 depth-wise convs (`EngineConfiguration.depthwise`).
public enum DepthwiseAlgorithm: String, CaseIterable, Sendable {
    /// Direct register tiles: per-block bands, or strips on CPUs where they were measured to pay
    /// (Intel). The rounding the demo's mmseg table was reproduced with.
    case auto
    /// Direct tiles, per-block bands on every CPU.
    case bands
    /// Direct tiles, strips of channel blocks on every CPU that has them (AVX-512).
    case strips
    /// 64 × 64 FFT tiles where they are estimated to win by 1.3× (large kernels on large maps:
    /// 31×31 on 32² and up, 29×29 on 28² and up), the direct tiles elsewhere. Faster there and
    /// closer to float64, but rounded differently, so a near-tie can go the other way.
    case fft
    /// FFT tiles wherever they apply (stride 1, kernels up to 57): for measuring.
    case fftAll = "fft-all"

    /// `REPLK_DEPTHWISE` as set in the environment (nil when unset).
    public static var environmentValue: String? { getenv("REPLK_DEPTHWISE").map { String(cString: $0) } }
}

/// A 2-D convolution (PyTorch `Conv2d` semantics: cross-correlation, zero padding) prepared once
/// for the engine: weights are re-laid out and packed at construction, so calls only stream them.
public final class ConvKernel {
    public let outChannels: Int
    public let inChannels: Int
    public let kernelH: Int, kernelW: Int
    public let strideH: Int, strideW: Int
    public let padH: Int, padW: Int
    public let dilationH: Int, dilationW: Int
    public let groups: Int
    /// The precision the conv runs at (bf16: GEMM, Winograd and stride-1 depth-wise weights rounded
    /// and packed for `vdpbf16ps`; a strided depth-wise conv runs float32 at either precision).
    public let precision: Precision
    /// How this conv runs when it is a stride-1 depth-wise conv (its configuration's).
    public let depthwise: DepthwiseAlgorithm
    /// The configuration the conv was built with.
    public let engine: EngineConfiguration
    /// The pool calls run on unless they pass one: the configuration's.
    public let pool: ThreadPool

    private enum Plan { case gemm, depthwise, winograd }
    /// Winograd whose 36 products run with bf16 operands (`packBBF16` weights, `runWinogradBF16`).
    private var winogradBF16 = false
    private let plan: Plan
    /// GEMM: one packed B per group (at bf16 `packBBF16`'s pair words in this float buffer).
    /// Depth-wise: tap-major weights `[kH·kW][C]` (stride 1 at bf16: `pairWeights`, the only copy).
    /// Winograd: the 36 packed `Cin × Cout` operands of U = G g Gᵀ, `groupStride` floats apart.
    private let weights: TensorStorage
    /// Depth-wise, stride 1: the same weights channel-blocked, `[C/16][kH][kW][16]` (at bf16 only
    /// when the opt-in FFT was chosen as the conv was built).
    private let blockedWeights: TensorStorage?
    /// Depth-wise, stride 1, at bf16: `packDepthwiseBF16Weights`' pair words (in this float buffer).
    private let pairWeights: TensorStorage?
    private let groupStride: Int
    private let bias: TensorStorage?

    /// Builds the kernel from a PyTorch-layout weight `(out, in/groups, kH, kW)` and optional bias.
    ///
    /// `engine` (default `EngineConfiguration()`: all online CPUs, fp32, `auto`, Winograd on) gives
    /// the precision, the depth-wise algorithm, Winograd and the pool the conv keeps.
    ///
    /// Dense 3×3 convs with stride 1 and at least 16 input and output channels run as Winograd
    /// F(4×4, 3×3) (a quarter of the multiply-adds; weights transformed here, 4× their size) unless
    /// `engine.winograd` is false; their outputs differ from the direct conv by rounding only (at most 5e-5
    /// of the output's largest magnitude in the tests, 0.4–1.6e-5 measured).
    ///
    /// With `engine.precision` bf16 (only where `Precision.bf16.isSupported`) GEMM convs round their
    /// weights to bf16 and pack them for `vdpbf16ps`, and round activations as they pack them;
    /// sums, bias, activation and residual stay float32. Depth-wise convs with stride and dilation
    /// 1 do the same with taps in pairs along each kernel row (`depthwiseConvBandBF16`; the
    /// opt-in FFT of `engine.depthwise` stays float32 where it runs). Winograd convs run their 36
    /// transform-domain products with bf16 operands (transforms and sums float32; about nine times
    /// the rounding error of a direct bf16 conv); strided or dilated depth-wise convs stay float32.
    public init(weightOIHW w: UnsafeBufferPointer<Float>, bias: [Float]?, outChannels: Int, inChannels: Int,
                kernelH: Int, kernelW: Int, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                dilation: (Int, Int) = (1, 1), groups: Int = 1, engine: EngineConfiguration = EngineConfiguration()) {
        let precision = engine.precision, winograd = engine.winograd
        precondition(precision.isSupported, precision.unsupportedReason ?? "")
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "channels \(inChannels)→\(outChannels) not divisible by groups \(groups)")
        let cinG = inChannels / groups, coutG = outChannels / groups
        precondition(w.count == outChannels * cinG * kernelH * kernelW,
                     "conv weight has \(w.count) values, expected \(outChannels * cinG * kernelH * kernelW)")
        self.outChannels = outChannels; self.inChannels = inChannels
        self.kernelH = kernelH; self.kernelW = kernelW
        (strideH, strideW) = stride; (padH, padW) = padding; (dilationH, dilationW) = dilation
        self.groups = groups
        self.precision = precision
        depthwise = engine.depthwise
        self.engine = engine
        pool = engine.pool
        if let bias {
            precondition(bias.count == outChannels, "conv bias has \(bias.count) values, expected \(outChannels)")
            let b = TensorStorage(count: outChannels)
            bias.withUnsafeBufferPointer { b.pointer.update(from: $0.baseAddress!, count: outChannels) }
            self.bias = b
        } else {
            self.bias = nil
        }
        let taps = kernelH * kernelW
        if winograd && kernelH == 3 && kernelW == 3 && stride == (1, 1) && dilation == (1, 1) && groups == 1
            && inChannels >= 16 && outChannels >= 16 {
            plan = .winograd
            // At bf16 the 36 products run bf16 too: twice the rate on a quarter of the direct conv's
            // multiply-adds. Aᵀ·M·A amplifies the rounding of U and V about ninefold (rms 1.1e-2 of
            // the output's rms against 1.3e-3 for a direct bf16 conv; WinogradBF16Tests), which the
            // demo and fixture bounds of `replk-bench accuracy` still hold; `winograd: false` runs
            // them as direct bf16 convs instead.
            if precision == .bf16 {
                let stride = packedBF16BCount(k: inChannels, n: outChannels)
                let s = TensorStorage(count: 36 * stride)
                winogradTransformWeightsBF16(w, inChannels: inChannels, outChannels: outChannels,
                                             into: UnsafeMutableRawPointer(s.pointer).assumingMemoryBound(to: UInt32.self))
                weights = s
                groupStride = stride
                winogradBF16 = true
            } else {
                let s = TensorStorage(count: winogradWeightCount(inChannels: inChannels, outChannels: outChannels))
                winogradTransformWeights(w, inChannels: inChannels, outChannels: outChannels, into: s.pointer)
                weights = s
                groupStride = packedBCount(k: inChannels, n: outChannels)
                winogradBF16 = false
            }
            blockedWeights = nil
            pairWeights = nil
        } else if groups == inChannels && groups == outChannels && groups > 1 {
            plan = .depthwise
            let s = TensorStorage(count: taps * outChannels)
            for c in 0..<outChannels {
                for t in 0..<taps { s.pointer[t * outChannels + c] = w[c * taps + t] }
            }
            groupStride = 0
            let unitStride = stride == (1, 1) && dilation == (1, 1)
            /// The channel-blocked float32 copy the direct tiles and the FFT read.
            func blocked() -> TensorStorage {
                let bw = TensorStorage(count: (outChannels + 15) / 16 * 16 * taps)
                blockDepthwiseWeights(s.pointer, channels: outChannels, taps: taps, into: bw.pointer)
                return bw
            }
            if precision == .bf16 && unitStride {
                let pw = TensorStorage(count: depthwiseBF16WeightCount(channels: outChannels, kernelH: kernelH,
                                                                       kernelW: kernelW))
                packDepthwiseBF16Weights(s.pointer, channels: outChannels, kernelH: kernelH, kernelW: kernelW,
                                         into: UnsafeMutableRawPointer(pw.pointer).assumingMemoryBound(to: UInt32.self))
                pairWeights = pw
                // Only the pair words are kept (half the float32 weights' bytes): the tap-major copy
                // is read by strided convs only, the blocked one by the opt-in FFT only, so it is
                // kept when the FFT is chosen as the model is built (31B at bf16 from a checkpoint:
                // peak RSS 290 → 235 MB).
                weights = pw
                let fft = engine.depthwise == .fft || engine.depthwise == .fftAll
                blockedWeights = fft ? blocked() : nil
            } else {
                // Strided depth-wise convs (the stage transitions) stay float32 at either precision.
                pairWeights = nil
                weights = s
                blockedWeights = unitStride ? blocked() : nil
            }
        } else {
            blockedWeights = nil
            pairWeights = nil
            plan = .gemm
            // B[k][n] with k = (ky, kx, ci): element (k, n) of group g is w[(g·coutG + n), ci, ky, kx].
            let k = taps * cinG
            let stride = precision == .bf16 ? packedBF16BCount(k: k, n: coutG) : packedBCount(k: k, n: coutG)
            groupStride = stride
            let s = TensorStorage(count: stride * groups)
            var reordered = [Float](repeating: 0, count: k * coutG)
            for g in 0..<groups {
                for n in 0..<coutG {
                    let o = g * coutG + n
                    for ci in 0..<cinG {
                        for t in 0..<taps { reordered[(t * cinG + ci) * coutG + n] = w[(o * cinG + ci) * taps + t] }
                    }
                }
                reordered.withUnsafeBufferPointer {
                    switch precision {
                    case .fp32:
                        packB($0.baseAddress!, k: k, n: coutG, strideK: coutG, strideN: 1, into: s.pointer + g * stride)
                    case .bf16:
                        packBBF16($0.baseAddress!, k: k, n: coutG, strideK: coutG, strideN: 1,
                                  into: UnsafeMutableRawPointer(s.pointer).assumingMemoryBound(to: UInt32.self) + g * stride)
                    }
                }
            }
            weights = s
        }
    }

    /// The GEMM weights as the GEMM reads them.
    private var packedWeights: PackedWeights {
        switch precision {
        case .fp32: return .fp32(weights.pointer)
        case .bf16: return .bf16(UnsafeRawPointer(weights.pointer).assumingMemoryBound(to: UInt32.self))
        }
    }

    /// Whether a stride-1 depth-wise conv runs as strips rather than per-block bands:
    /// `DepthwiseStrips.suit` on a CPU where strips pay (`depthwiseStripsPreferred`), unless the
    /// algorithm is `bands` or `strips`.
    func runsAsStrips(_ g: DepthwiseGeometry, threads: Int) -> Bool {
        switch depthwise {
        case .bands: return false
        case .strips: return !g.windowCoversRow
        default: return depthwiseStripsPreferred && DepthwiseStrips.suit(g, threads: threads)
        }
    }

    /// The FFT plan when a stride-1 depth-wise conv runs as FFTs, which is opt-in: algorithm `fft`
    /// where `DepthwiseFFT.pays`, `fft-all` wherever it applies.
    // Not the default although it is faster there and closer to float64 than the direct tiles
    // (rms error 7.6e-8 against 3.9e-7, 31×31 on 32²): it changes the rounding, and on the
    // demo's 50 images that flips one pixel whose circle and square logits tie to 2e-7, so the
    // demo's circle IoU would print 54.96 where mmseg printed 54.95.
    func runsAsFFT(_ g: DepthwiseGeometry, threads: Int) -> DepthwiseFFT? {
        switch depthwise {
        case .fft: return DepthwiseFFT.pays(g) ? DepthwiseFFT(g, threads: threads) : nil
        case .fftAll: return DepthwiseFFT(g, threads: threads)
        default: return nil
        }
    }

    /// Runs depth-wise tasks `0 ..< tasks` on `pool`, each with `scratchCount` floats of its
    /// thread's own scratch. Affine, so that in a stack of depth-wise convs a thread reads the
    /// blocks or rows its own core wrote (24 layers of 7×7, 384 channels on 16², 2 threads:
    /// 3.32 → 2.26 ms).
    private func runDepthwiseTasks(_ tasks: Int, scratchCount: Int, pool: ThreadPool,
                                   _ body: (_ task: Int, _ scratch: UnsafeMutablePointer<Float>) -> Void) {
        let scratch = TensorStorage(count: scratchCount * pool.threadCount)
        // Kept alive until the loop is done: only its pointer is used inside.
        withExtendedLifetime(scratch) {
            let sp = scratch.pointer
            pool.parallelFor(tasks, affine: true, withWorkerIndex: { t, worker in body(t, sp + worker * scratchCount) })
        }
    }

    /// Whether this conv runs as Winograd F(4×4, 3×3).
    public var usesWinograd: Bool { plan == .winograd }

    // Batches of tiles: input transform, 36 GEMMs (tiles × Cin)·(Cin × Cout), output transform with
    // the epilogue. A batch's transformed input (36 × tiles × Cin floats) is kept near 64 MB: for
    // 2048 → 512 on 128², batches of 228 tiles ran the GEMMs 12 % faster than batches of 60 (each
    // batch streams all 36 weight operands once).
    private func runWinograd(_ xp: UnsafePointer<Float>, _ t: WinogradTiling, _ yp: UnsafeMutablePointer<Float>,
                             activation: Activation, residual: Tensor?, pool: ThreadPool) {
        if winogradBF16 {
            runWinogradBF16(xp, t, yp, activation: activation, residual: residual, pool: pool)
            return
        }
        let total = t.tileCount
        let perBatch = min(total, max(gemmMR, roundUp((16 << 20) / (36 * inChannels), gemmMR)))
        let v = TensorStorage(count: 36 * perBatch * inChannels)
        let m = TensorStorage(count: 36 * perBatch * outChannels)
        // Only their pointers are used below: keep the buffers alive until the batches are done.
        defer { withExtendedLifetime((v, m)) {} }
        let vp = v.pointer, mp = m.pointer, wp = weights.pointer
        let b = bias.map { UnsafePointer($0.pointer) }
        let r = residual.map { UnsafePointer($0.storage.pointer) }
        var first = 0
        while first < total {
            let count = min(perBatch, total - first)
            let chunk = max(1, count / (8 * pool.threadCount))
            let tasks = (count + chunk - 1) / chunk
            pool.parallelFor(tasks) { i in
                winogradInputTransform(xp, t, tiles: first + i * chunk, min(first + count, first + (i + 1) * chunk),
                                       batchFirst: first, batchCount: count, into: vp)
            }
            // The 36 products as one batched GEMM: a task is one ξ (and block of rows), which packs
            // its block of A once per K block and streams that ξ's weights once.
            let (mBlocks, mc) = gemmRowBlocks(count)
            let panels = (outChannels + gemmNR - 1) / gemmNR
            pool.parallelFor(36 * mBlocks) { task in
                let xi = task / mBlocks, mb = task - xi * mBlocks
                withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmScratchCount(mc: mc)) { scratch in
                    gemmBlock(.rows(vp + xi * count * inChannels, ld: inChannels), m: count, n: outChannels, k: inChannels,
                              packedB: wp + xi * groupStride, c: mp + xi * count * outChannels, ldc: outChannels,
                              epilogue: Epilogue(), m0: mb * mc, mc: mc, panel0: 0, panelCount: panels,
                              scratch: scratch.baseAddress!)
                }
            }
            pool.parallelFor(tasks) { i in
                winogradOutputTransform(mp, t, tiles: first + i * chunk, min(first + count, first + (i + 1) * chunk),
                                        batchFirst: first, batchCount: count, bias: b, activation: activation,
                                        residual: r, yp)
            }
            first += count
        }
    }

    /// `runWinograd` with bf16 products: each micro-panel of tiles is transformed in float32 and
    /// rounded straight into the GEMM's packed A (bf16 pairs, read in place), so V is written once
    /// at half the bytes and never packed again; the output transform and epilogue stay float32.
    private func runWinogradBF16(_ xp: UnsafePointer<Float>, _ t: WinogradTiling, _ yp: UnsafeMutablePointer<Float>,
                                 activation: Activation, residual: Tensor?, pool: ThreadPool) {
        if 36 * inChannels * outChannels <= winogradBlockedWeightLimit {
            runWinogradBF16ByBlocks(xp, t, yp, activation: activation, residual: residual, pool: pool)
            return
        }
        let total = t.tileCount
        let perBatch = min(total, max(gemmMR, roundUp((16 << 20) / (36 * inChannels), gemmMR)))
        let pairs = bf16Pairs(inChannels)
        let maxXiStride = roundUp(perBatch, gemmMR) * pairs
        let v = TensorStorage(count: 36 * maxXiStride)
        let m = TensorStorage(count: 36 * perBatch * outChannels)
        defer { withExtendedLifetime((v, m)) {} }
        let vp = UnsafeMutableRawPointer(v.pointer).assumingMemoryBound(to: UInt32.self), mp = m.pointer
        let words = UnsafeRawPointer(weights.pointer).assumingMemoryBound(to: UInt32.self)
        let b = bias.map { UnsafePointer($0.pointer) }
        let r = residual.map { UnsafePointer($0.storage.pointer) }
        var first = 0
        while first < total {
            let count = min(perBatch, total - first)
            let microPanels = (count + gemmMR - 1) / gemmMR
            let xiStride = microPanels * gemmMR * pairs
            runDepthwiseTasks(microPanels, scratchCount: winogradBF16PanelScratchCount(inChannels: inChannels), pool: pool) { panel, scratch in
                winogradInputTransformBF16Panel(xp, t, panel: panel, batchFirst: first, batchCount: count,
                                                into: vp, xiStride: xiStride, scratch: scratch)
            }
            let (mBlocks, mc) = gemmRowBlocks(count)
            let panels = (outChannels + gemmNR - 1) / gemmNR
            pool.parallelFor(36 * mBlocks) { task in
                let xi = task / mBlocks, mb = task - xi * mBlocks
                let a = UnsafeRawPointer(vp + xi * xiStride).assumingMemoryBound(to: Float.self)
                withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmBF16ScratchCount(mc: mc)) { scratch in
                    gemmBlockBF16(.packed(a), m: count, n: outChannels, k: inChannels,
                                  packedB: words + xi * groupStride, c: mp + xi * count * outChannels, ldc: outChannels,
                                  epilogue: Epilogue(), m0: mb * mc, mc: mc, panel0: 0, panelCount: panels,
                                  scratch: scratch.baseAddress!)
                }
            }
            let chunk = max(1, count / (8 * pool.threadCount))
            pool.parallelFor((count + chunk - 1) / chunk) { i in
                winogradOutputTransform(mp, t, tiles: first + i * chunk, min(first + count, first + (i + 1) * chunk),
                                        batchFirst: first, batchCount: count, bias: b, activation: activation,
                                        residual: r, yp)
            }
            first += count
        }
    }

    /// The bf16 weights (36·Cin·Cout values, 2 bytes each) up to which `runWinogradBF16ByBlocks` runs: about a third
    /// of a 32 MB L3, so that every block of tiles reads all 36 operands from it.
    private var winogradBlockedWeightLimit: Int { 6 << 20 }

    /// `runWinogradBF16` for convs whose 36 weight operands fit in the last-level cache (the FPN,
    /// RPN and mask-head convs of Cascade Mask R-CNN, 256 → 256): a task is one block of tiles, taken
    /// through input transform, the 36 products and output transform in a row, so V and M stay in
    /// the core's L2 instead of going to memory and back between three passes over the whole batch.
    private func runWinogradBF16ByBlocks(_ xp: UnsafePointer<Float>, _ t: WinogradTiling, _ yp: UnsafeMutablePointer<Float>,
                                         activation: Activation, residual: Tensor?, pool: ThreadPool) {
        let total = t.tileCount
        let block = 2 * gemmMR
        let pairs = bf16Pairs(inChannels)
        let vWords = 36 * block * pairs
        let transformFloats = winogradBF16PanelScratchCount(inChannels: inChannels)
        let mFloats = 36 * block * outChannels
        let gemmFloats = gemmBF16ScratchCount(mc: block)
        let words = UnsafeRawPointer(weights.pointer).assumingMemoryBound(to: UInt32.self)
        let b = bias.map { UnsafePointer($0.pointer) }
        let r = residual.map { UnsafePointer($0.storage.pointer) }
        let panels = (outChannels + gemmNR - 1) / gemmNR
        let blocks = (total + block - 1) / block
        runDepthwiseTasks(blocks, scratchCount: vWords + transformFloats + mFloats + gemmFloats, pool: pool) { task, scratch in
            let first = task * block, count = min(block, total - first)
            let microPanels = (count + gemmMR - 1) / gemmMR
            let xiStride = microPanels * gemmMR * pairs
            let v = UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: UInt32.self)
            let transform = scratch + vWords, m = transform + transformFloats, gemmScratch = m + mFloats
            for panel in 0..<microPanels {
                winogradInputTransformBF16Panel(xp, t, panel: panel, batchFirst: first, batchCount: count,
                                                into: v, xiStride: xiStride, scratch: transform)
            }
            for xi in 0..<36 {
                let a = UnsafeRawPointer(v + xi * xiStride).assumingMemoryBound(to: Float.self)
                gemmBlockBF16(.packed(a), m: count, n: outChannels, k: inChannels, packedB: words + xi * groupStride,
                              c: m + xi * count * outChannels, ldc: outChannels, epilogue: Epilogue(), m0: 0, mc: count,
                              panel0: 0, panelCount: panels, scratch: gemmScratch)
            }
            winogradOutputTransform(m, t, tiles: first, first + count, batchFirst: first, batchCount: count, bias: b,
                                    activation: activation, residual: r, yp)
        }
    }

    /// Output spatial size for an input of `h × w`.
    public func outputSize(height h: Int, width w: Int) -> (Int, Int) {
        ((h + 2 * padH - dilationH * (kernelH - 1) - 1) / strideH + 1,
         (w + 2 * padW - dilationW * (kernelW - 1) - 1) / strideW + 1)
    }

    /// Number of weights (and bias values) this conv holds.
    public var parameterCount: Int {
        outChannels * (inChannels / groups) * kernelH * kernelW + (bias == nil ? 0 : outChannels)
    }

    /// Whether this conv can hand its output to the next one in bf16 (`bf16Output`) and take its
    /// input in bf16: a 1×1 conv (stride 1, no padding, one group) at precision bf16, or a stride-1
    /// depth-wise conv at precision bf16 (unless `engine.depthwise` asks for the FFT).
    public var exchangesBF16: Bool { pointwiseBF16Exchange || depthwiseBF16Exchange }

    private var pointwiseBF16Exchange: Bool {
        precision == .bf16 && plan == .gemm && kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1
            && padH == 0 && padW == 0 && groups == 1
    }

    /// A stride-1 bf16 depth-wise conv that runs as bands (not the opt-in float32 FFT).
    private var depthwiseBF16Exchange: Bool {
        plan == .depthwise && pairWeights != nil && depthwise != .fft && depthwise != .fftAll
    }

    /// The conv's output, after the epilogue, rounded to bf16 as the next bf16 conv would round it
    /// as it reads its input: for a map that only feeds bf16 convs. Requires `exchangesBF16`.
    public func bf16Output(_ x: Tensor, activation: Activation = .none, pool: ThreadPool? = nil) -> BF16Activations {
        precondition(exchangesBF16, "bf16 output needs a 1×1 or stride-1 depth-wise conv at precision bf16")
        precondition(x.rank == 4 && x.channels == inChannels,
                     "conv expects NHWC input with \(inChannels) channels, got \(x.shape)")
        if depthwiseBF16Exchange {
            let y = BF16Activations(uninitializedShape: outputShape(x.shape))
            depthwiseBF16(.float(x.storage.pointer), shape: x.shape, activation: activation, .bf16(y.pointer),
                          pool: pool ?? self.pool)
            return y
        }
        return pointwiseBF16(input: .rows(x.storage.pointer, ld: inChannels), shape: x.shape,
                             activation: activation, pool: pool ?? self.pool)
    }

    /// Runs this conv on bf16 activations (from another conv's `bf16Output`), with float32
    /// output, bias, activation and residual. Requires `exchangesBF16`. The same values as on the
    /// float32 map `x.tensor()`.
    public func callAsFunction(_ x: BF16Activations, activation: Activation = .none, residual: Tensor? = nil,
                               pool: ThreadPool? = nil) -> Tensor {
        precondition(exchangesBF16, "bf16 input needs a 1×1 or stride-1 depth-wise conv at precision bf16")
        precondition(x.channels == inChannels, "conv expects \(inChannels) channels, got \(x.shape)")
        let y = Tensor(uninitializedShape: outputShape(x.shape))
        if let residual {
            precondition(residual.shape == y.shape, "residual \(residual.shape) does not match conv output \(y.shape)")
        }
        if depthwiseBF16Exchange {
            depthwiseBF16(.bf16(x.pointer), shape: x.shape, activation: activation, .float(y.storage.pointer),
                          pool: pool ?? self.pool)
            if let residual { return add(y, residual, pool: pool ?? self.pool) }
            return y
        }
        let m = x.batch * x.height * x.width
        if let counter = FLOPCounter.current {
            counter.add(Double(m * outChannels * inChannels), executed: nil)
            if counter.dryRun { return Tensor(zeros: y.shape) }
        }
        let e = Epilogue(bias: bias.map { UnsafePointer($0.pointer) }, activation: activation,
                         residual: residual.map { UnsafePointer($0.storage.pointer) }, residualStride: outChannels)
        runGEMM(.bf16Rows(x.pointer, ld: inChannels), m: m, n: outChannels, k: inChannels, weights: packedWeights,
                output: .float(y.storage.pointer, ld: outChannels), epilogue: e, pool: pool ?? self.pool)
        return y
    }

    /// Runs this conv on bf16 activations and leaves its output in bf16 too.
    public func bf16Output(_ x: BF16Activations, activation: Activation = .none, pool: ThreadPool? = nil) -> BF16Activations {
        precondition(exchangesBF16, "bf16 output needs a 1×1 or stride-1 depth-wise conv at precision bf16")
        precondition(x.channels == inChannels, "conv expects \(inChannels) channels, got \(x.shape)")
        if depthwiseBF16Exchange {
            let y = BF16Activations(uninitializedShape: outputShape(x.shape))
            depthwiseBF16(.bf16(x.pointer), shape: x.shape, activation: activation, .bf16(y.pointer), pool: pool ?? self.pool)
            return y
        }
        return pointwiseBF16(input: .bf16Rows(x.pointer, ld: inChannels), shape: x.shape,
                             activation: activation, pool: pool ?? self.pool)
    }

    /// `[batch, outHeight, outWidth, outChannels]` for an input of `shape`.
    private func outputShape(_ shape: [Int]) -> [Int] {
        let (oh, ow) = outputSize(height: shape[1], width: shape[2])
        precondition(oh > 0 && ow > 0, "conv output would be empty for input \(shape)")
        return [shape[0], oh, ow, outChannels]
    }

    /// The bf16 depth-wise bands from a float32 or bf16 map into a float32 or bf16 one, counted
    /// by the current `FLOPCounter` (zeros on a dry run).
    private func depthwiseBF16(_ input: DepthwiseBF16Input, shape: [Int], activation: Activation,
                               _ output: DepthwiseBF16Output, pool: ThreadPool) {
        let (oh, ow) = outputSize(height: shape[1], width: shape[2])
        if let counter = FLOPCounter.current {
            counter.add(Double(shape[0] * oh * ow * outChannels * kernelH * kernelW))
            if counter.dryRun {
                switch output {
                case let .float(y): y.initialize(repeating: 0, count: shape[0] * oh * ow * outChannels)
                case let .bf16(y): y.initialize(repeating: 0, count: shape[0] * oh * ow * outChannels)
                }
                return
            }
        }
        let g = DepthwiseGeometry(batch: shape[0], height: shape[1], width: shape[2], channels: inChannels,
                                  kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW,
                                  padTop: padH, padLeft: padW, dilationH: dilationH, dilationW: dilationW,
                                  outHeight: oh, outWidth: ow)
        runDepthwiseBands(input, g, activation: activation, output, pool: pool)
    }

    /// Runs the bf16 depth-wise bands over `pool` (stride 1, `pairWeights` present).
    private func runDepthwiseBands(_ input: DepthwiseBF16Input, _ g: DepthwiseGeometry, activation: Activation,
                                   _ output: DepthwiseBF16Output, pool: ThreadPool) {
        let bands = DepthwiseBands(g, threads: pool.threadCount)
        let wp = UnsafeRawPointer(pairWeights!.pointer).assumingMemoryBound(to: UInt32.self)
        let b = bias?.pointer
        runDepthwiseTasks(bands.taskCount(batch: g.batch), scratchCount: bands.scratchCount, pool: pool) {
            depthwiseConvBandBF16(input, g, bands, task: $0, scratch: $1, pairWeights: wp, bias: b,
                                  activation: activation, output)
        }
    }

    private func pointwiseBF16(input: GEMMInput, shape: [Int], activation: Activation, pool: ThreadPool) -> BF16Activations {
        let y = BF16Activations(uninitializedShape: [shape[0], shape[1], shape[2], outChannels])
        let m = shape[0] * shape[1] * shape[2]
        if let counter = FLOPCounter.current {
            counter.add(Double(m * outChannels * inChannels), executed: nil)
            if counter.dryRun {
                y.pointer.initialize(repeating: 0, count: y.count)
                return y
            }
        }
        let e = Epilogue(bias: bias.map { UnsafePointer($0.pointer) }, activation: activation)
        runGEMM(input, m: m, n: outChannels, k: inChannels, weights: packedWeights,
                output: .bf16(y.pointer, ld: outChannels), epilogue: e, pool: pool)
        return y
    }

    /// y = act(conv(x) + bias) + residual, over an NHWC input, on `pool` (default: the conv's own,
    /// its configuration's).
    public func callAsFunction(_ x: Tensor, activation: Activation = .none, residual: Tensor? = nil,
                               pool: ThreadPool? = nil) -> Tensor {
        let pool = pool ?? self.pool
        precondition(x.rank == 4 && x.channels == inChannels,
                     "conv expects NHWC input with \(inChannels) channels, got \(x.shape)")
        let (oh, ow) = outputSize(height: x.height, width: x.width)
        precondition(oh > 0 && ow > 0, "conv output would be empty for input \(x.shape)")
        let y = Tensor(uninitializedShape: [x.batch, oh, ow, outChannels])
        if let residual {
            precondition(residual.shape == y.shape, "residual \(residual.shape) does not match conv output \(y.shape)")
        }
        let yp = y.storage.pointer
        let xp = x.storage.pointer
        let tiling = plan != .winograd ? nil : WinogradTiling(
            batch: x.batch, height: x.height, width: x.width, inChannels: inChannels, outChannels: outChannels,
            padTop: padH, padLeft: padW, outHeight: oh, outWidth: ow)
        if let counter = FLOPCounter.current {
            counter.add(Double(x.batch * oh * ow * outChannels * (inChannels / groups) * kernelH * kernelW),
                        executed: tiling.map { Double($0.tileCount * 36 * inChannels * outChannels) })
            if counter.dryRun { return Tensor(zeros: y.shape) }
        }
        switch plan {
        case .winograd:
            runWinograd(xp, tiling!, yp, activation: activation, residual: residual, pool: pool)
        case .depthwise:
            let g = DepthwiseGeometry(batch: x.batch, height: x.height, width: x.width, channels: inChannels,
                                      kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW,
                                      padTop: padH, padLeft: padW, dilationH: dilationH, dilationW: dilationW,
                                      outHeight: oh, outWidth: ow)
            let b = bias?.pointer
            if let bw = blockedWeights, let fft = runsAsFFT(g, threads: pool.threadCount) {
                // A large kernel on a map where the direct tiles compute most taps: 64 × 64 FFT tiles.
                let wp = bw.pointer
                runDepthwiseTasks(fft.taskCount(batch: x.batch), scratchCount: fft.scratchCount, pool: pool) {
                    depthwiseConvFFT(xp, g, fft, task: $0, scratch: $1, blockedWeights: wp, bias: b,
                                     activation: activation, yp)
                }
            } else if pairWeights != nil {
                // bf16, stride 1: the bands' split, with pair rows of bf16 in the scratch.
                runDepthwiseBands(.float(xp), g, activation: activation, .float(yp), pool: pool)
            } else if let bw = blockedWeights, depthwiseStripsAvailable, runsAsStrips(g, threads: pool.threadCount) {
                // Stride 1 on a map larger than 1 MB per thread: tasks of (image, band of rows, group
                // of channel blocks), reading each input row once for the whole group.
                let strips = DepthwiseStrips(g, threads: pool.threadCount)
                let wp = bw.pointer
                runDepthwiseTasks(strips.taskCount(batch: x.batch), scratchCount: strips.scratchCount, pool: pool) {
                    depthwiseConvStrip(xp, g, strips, task: $0, scratch: $1, blockedWeights: wp, bias: b,
                                       activation: activation, yp)
                }
            } else if let bw = blockedWeights {
                // Stride 1: tasks of (image, channel block, band of rows), each copying the rows it
                // reads into its thread's scratch in the channel-blocked, column-padded layout.
                let bands = DepthwiseBands(g, threads: pool.threadCount)
                let wp = bw.pointer
                runDepthwiseTasks(bands.taskCount(batch: x.batch), scratchCount: bands.scratchCount, pool: pool) {
                    depthwiseConvBand(xp, g, bands, task: $0, scratch: $1, blockedWeights: wp, bias: b,
                                      activation: activation, yp)
                }
            } else {
                let rows = x.batch * oh
                let chunk = max(1, rows / (8 * pool.threadCount))
                let tasks = (rows + chunk - 1) / chunk
                let w = weights.pointer
                pool.parallelFor(tasks) { t in
                    depthwiseConvRows(xp, g, weights: w, bias: b, activation: activation, yp,
                                      row0: t * chunk, row1: min(rows, (t + 1) * chunk))
                }
            }
            if let residual {
                let rp = residual.storage.pointer
                let total = y.count
                let per = (total + pool.threadCount - 1) / pool.threadCount
                pool.parallelFor(pool.threadCount) { t in
                    let s = t * per, e = min(total, s + per)
                    if s < e { addArrays(yp + s, rp + s, yp + s, count: e - s) }
                }
            }
        case .gemm:
            let cinG = inChannels / groups, coutG = outChannels / groups
            let m = x.batch * oh * ow
            let k = kernelH * kernelW * cinG
            let pointwise = kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 && groups == 1
            for g in 0..<groups {
                let input: GEMMInput
                if pointwise {
                    input = .rows(xp, ld: inChannels)
                } else {
                    input = .im2col(xp, Im2ColGeometry(
                        batch: x.batch, height: x.height, width: x.width, channels: inChannels,
                        channelOffset: g * cinG, groupChannels: cinG, kernelH: kernelH, kernelW: kernelW,
                        strideH: strideH, strideW: strideW, padTop: padH, padLeft: padW,
                        dilationH: dilationH, dilationW: dilationW, outHeight: oh, outWidth: ow))
                }
                let e = Epilogue(bias: bias.map { UnsafePointer($0.pointer + g * coutG) }, activation: activation,
                                 residual: residual.map { UnsafePointer($0.storage.pointer + g * coutG) },
                                 residualStride: outChannels)
                gemm(input, m: m, n: coutG, k: k, weights: packedWeights.advanced(by: g * groupStride),
                     c: yp + g * coutG, ldc: outChannels, epilogue: e, pool: pool)
            }
        }
        return y
    }
}

/// `ConvTranspose2d` with kernel 2 and stride 2 (the mask head's upsampling): each input pixel
/// writes a 2×2 block, computed as one GEMM against the weights laid out (ci) × (dy, dx, co).
public final class ConvTranspose2x2 {
    public let inChannels: Int
    public let outChannels: Int
    private let packed: TensorStorage
    private let precision: Precision
    private let bias: [Float]
    /// The pool calls run on unless they pass one: the configuration's.
    public let pool: ThreadPool

    /// `weight` in PyTorch's ConvTranspose layout (in, out, 2, 2); `engine` (default
    /// `EngineConfiguration()`) gives the precision (as `ConvKernel`'s) and the pool.
    public init(weight w: [Float], bias: [Float], inChannels: Int, outChannels: Int,
                engine: EngineConfiguration = EngineConfiguration()) {
        let precision = engine.precision
        pool = engine.pool
        precondition(precision.isSupported, precision.unsupportedReason ?? "")
        precondition(w.count == inChannels * outChannels * 4 && bias.count == outChannels, "ConvTranspose2x2 weight/bias sizes")
        self.inChannels = inChannels
        self.outChannels = outChannels
        let n = 4 * outChannels
        var b = [Float](repeating: 0, count: inChannels * n)
        for ci in 0..<inChannels {
            for co in 0..<outChannels {
                for t in 0..<4 { b[ci * n + t * outChannels + co] = w[((ci * outChannels + co) * 2 + t / 2) * 2 + t % 2] }
            }
        }
        self.precision = precision
        switch precision {
        case .fp32:
            let storage = TensorStorage(count: packedBCount(k: inChannels, n: n))
            b.withUnsafeBufferPointer { packB($0.baseAddress!, k: inChannels, n: n, strideK: n, strideN: 1, into: storage.pointer) }
            packed = storage
        case .bf16:
            let storage = TensorStorage(count: packedBF16BCount(k: inChannels, n: n))
            let words = UnsafeMutableRawPointer(storage.pointer).assumingMemoryBound(to: UInt32.self)
            b.withUnsafeBufferPointer { packBBF16($0.baseAddress!, k: inChannels, n: n, strideK: n, strideN: 1, into: words) }
            packed = storage
        }
        self.bias = (0..<4).flatMap { _ in bias }
    }

    /// [N, H, W, in] → [N, 2H, 2W, out], with the activation applied after the bias, on `pool`
    /// (default: the conv's own).
    public func callAsFunction(_ x: Tensor, activation: Activation = .none, pool: ThreadPool? = nil) -> Tensor {
        let pool = pool ?? self.pool
        precondition(x.rank == 4 && x.channels == inChannels, "ConvTranspose2x2 expects \(inChannels) channels, got \(x.shape)")
        let (n, h, w) = (x.batch, x.height, x.width)
        let cols = 4 * outChannels
        if let counter = FLOPCounter.current {
            counter.add(Double(n * h * w * cols * inChannels))
            if counter.dryRun { return Tensor(zeros: [n, 2 * h, 2 * w, outChannels]) }
        }
        let tmp = Tensor(uninitializedShape: [n * h * w, cols])
        bias.withUnsafeBufferPointer { bp in
            let weights: PackedWeights = precision == .fp32 ? .fp32(packed.pointer)
                : .bf16(UnsafeRawPointer(packed.pointer).assumingMemoryBound(to: UInt32.self))
            gemm(.rows(x.storage.pointer, ld: inChannels), m: n * h * w, n: cols, k: inChannels, weights: weights,
                 c: tmp.storage.pointer, ldc: cols, epilogue: Epilogue(bias: bp.baseAddress, activation: activation), pool: pool)
        }
        let y = Tensor(uninitializedShape: [n, 2 * h, 2 * w, outChannels])
        let tp = tmp.storage.pointer, yp = y.storage.pointer
        for b in 0..<n {
            for yy in 0..<h {
                for xx in 0..<w {
                    let src = tp + ((b * h + yy) * w + xx) * cols
                    for t in 0..<4 {
                        let dst = yp + ((b * 2 * h + 2 * yy + t / 2) * 2 * w + 2 * xx + t % 2) * outChannels
                        dst.update(from: src + t * outChannels, count: outChannels)
                    }
                }
            }
        }
        return y
    }
}

/// Counts the multiply-accumulates of the convs and linear layers run inside `count(dryRun:_:)`
/// (the convention of the FLOPs columns in the RepLKNet tables: one MAC per weight use).
///
/// Only its static functions are public; each count is a private instance. A count belongs to the
/// thread that runs `count`: convs add to the innermost count open on the thread that calls them
/// (their own parallel loops do not count), so counts on other threads, and an outer count around
/// a nested one, see none of its MACs.
public final class FLOPCounter: @unchecked Sendable {
    private let lock = NSLockLike()
    private var total: Double = 0
    private var executed: Double = 0
    /// Count without computing: convs return zero tensors of the right shape. For measuring a
    /// model's cost at sizes where running it would be slow.
    let dryRun: Bool

    private init(dryRun: Bool) { self.dryRun = dryRun }

    /// Multiply-accumulates of the convolutions as defined (direct convolution), what FLOP tables count.
    var macs: Double { lock.locked { total } }
    /// Multiply-accumulates the engine ran: fewer than `macs` where a conv ran as Winograd.
    var executedMACs: Double { lock.locked { executed } }

    // The innermost open count of each thread (an unretained FLOPCounter; `count` keeps it alive).
    private static let currentKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The count open on this thread, if any.
    static var current: FLOPCounter? {
        guard let p = pthread_getspecific(currentKey) else { return nil }
        return Unmanaged<FLOPCounter>.fromOpaque(p).takeUnretainedValue()
    }

    /// Runs `body` on this thread and counts the multiply-accumulates of the convs it runs here:
    /// as defined (`macs`) and as the engine ran them (`executedMACs`, fewer where a conv ran as
    /// Winograd). With `dryRun` (default false) convs return zero tensors of the right shape
    /// instead of computing.
    public static func count<T>(dryRun: Bool = false, _ body: () throws -> T) rethrows
        -> (result: T, macs: Double, executedMACs: Double) {
        let counter = FLOPCounter(dryRun: dryRun)
        let previous = pthread_getspecific(currentKey)
        pthread_setspecific(currentKey, Unmanaged.passUnretained(counter).toOpaque())
        defer { pthread_setspecific(currentKey, previous) }
        let result = try withExtendedLifetime(counter) { try body() }
        return (result, counter.macs, counter.executedMACs)
    }

    /// Multiply-accumulates of the convs `body` runs, counted without computing them
    /// (`count(dryRun: true, body).macs`).
    public static func dryRunMACs(_ body: () throws -> Void) rethrows -> Double {
        try count(dryRun: true, body).macs
    }

    func add(_ m: Double, executed e: Double? = nil) {
        lock.locked { total += m; executed += e ?? m }
    }
}

/// A minimal mutex (Engine has no Foundation dependency).
final class NSLockLike {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return body()
    }
}
