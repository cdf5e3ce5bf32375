import XCTest
import RepLKEngine
import RepLKKernelCore
import RepLKKernels
import RepLKParallel

final class ConvKernelTests: XCTestCase {
    struct Case {
        var n = 1
        var h: Int, w: Int, cin: Int, cout: Int, kh: Int, kw: Int
        var stride = (1, 1), pad = (0, 0), dilation = (1, 1), groups = 1, bias = true
    }

    func check(_ c: Case, activation: Activation = .none, withResidual: Bool = false, seed: UInt64 = 1,
               winograd: Bool = true, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SeededRandom(seed: seed)
        let x = rng.array(c.n * c.h * c.w * c.cin)
        let wCount = c.cout * (c.cin / c.groups) * c.kh * c.kw
        let weight = rng.array(wCount, -0.5, 0.5)
        let bias = c.bias ? rng.array(c.cout) : nil
        // The buffer pointer is valid only inside the closure: build the kernel there.
        let conv = weight.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: bias, outChannels: c.cout, inChannels: c.cin, kernelH: c.kh, kernelW: c.kw,
                       stride: c.stride, padding: c.pad, dilation: c.dilation, groups: c.groups,
                       engine: EngineConfiguration(winograd: winograd))
        }
        var (expected, oh, ow) = referenceConv(x, n: c.n, h: c.h, w: c.w, cin: c.cin, weight: weight, bias: bias,
                                               cout: c.cout, kh: c.kh, kw: c.kw, stride: c.stride, pad: c.pad,
                                               dilation: c.dilation, groups: c.groups)
        var residual: Tensor?
        if withResidual {
            let r = rng.array(expected.count)
            residual = Tensor(shape: [c.n, oh, ow, c.cout], values: r)
            for i in 0..<expected.count { expected[i] = referenceActivation(expected[i], activation) + r[i] }
        } else {
            for i in 0..<expected.count { expected[i] = referenceActivation(expected[i], activation) }
        }
        let input = Tensor(shape: [c.n, c.h, c.w, c.cin], values: x)
        forEachKernelVariant { variant in
            let y = conv(input, activation: activation, residual: residual)
            XCTAssertEqual(y.shape, [c.n, oh, ow, c.cout], file: file, line: line)
            let k = Float(c.cin / c.groups * c.kh * c.kw)
            // Winograd's transforms add rounding in proportion to the output's scale.
            let scale = expected.reduce(0) { max($0, abs($1)) }
            let bound = conv.usesWinograd ? 5e-5 * scale : 2e-6 * k.squareRoot() + 1e-6
            let err = maxAbsDiff(y.scalars, expected)
            XCTAssertLessThan(err, bound, "\(c) [\(variant)]", file: file, line: line)
        }
    }

    func testPointwiseConvMatchesReferenceOnRaggedTiles() {
        // 13×7 pixels (not a multiple of 12 rows), 45 outputs (not a multiple of 32), K deeper than a K block.
        check(Case(h: 13, w: 7, cin: 800, cout: 45, kh: 1, kw: 1))
        check(Case(n: 2, h: 5, w: 3, cin: 3, cout: 70, kh: 1, kw: 1))
        // 49 rows (a last micro-panel of 1 row) and 20 rows (8), both deeper than a K block.
        check(Case(h: 7, w: 7, cin: 400, cout: 64, kh: 1, kw: 1), activation: .gelu, withResidual: true)
        check(Case(h: 4, w: 5, cin: 390, cout: 32, kh: 1, kw: 1), activation: .relu)
    }

    func testPointwiseConvFusesBiasActivationAndResidual() {
        check(Case(h: 9, w: 11, cin: 40, cout: 64, kh: 1, kw: 1), activation: .relu, withResidual: true)
        check(Case(h: 9, w: 11, cin: 40, cout: 64, kh: 1, kw: 1), activation: .gelu, withResidual: true)
        check(Case(h: 4, w: 4, cin: 33, cout: 17, kh: 1, kw: 1, bias: false), activation: .gelu)
    }

    func testDenseConvHandlesStridePaddingAndDilation() {
        check(Case(n: 2, h: 17, w: 12, cin: 3, cout: 16, kh: 3, kw: 3, stride: (2, 2), pad: (1, 1)), activation: .relu)
        check(Case(h: 9, w: 14, cin: 20, cout: 33, kh: 3, kw: 5, stride: (1, 2), pad: (1, 2)))
        check(Case(h: 10, w: 10, cin: 8, cout: 8, kh: 3, kw: 3, pad: (2, 2), dilation: (2, 2)))
        check(Case(h: 6, w: 5, cin: 16, cout: 12, kh: 2, kw: 2, stride: (2, 2)))
        // 1×1 with stride 2 goes through the gathering path.
        check(Case(h: 9, w: 7, cin: 24, cout: 40, kh: 1, kw: 1, stride: (2, 2)))
        // A depth (3·3·50 = 450) over one K block of 384: the second block starts inside a tap
        // (tap 7, channel 34), where the gathering has to pick up the tap and channel it stepped to.
        check(Case(h: 7, w: 9, cin: 50, cout: 20, kh: 3, kw: 3, stride: (2, 2), pad: (1, 1), dilation: (2, 1)))
    }

    func testWinograd3x3ConvMatchesReference() {
        // Ragged 4×4 tiles at the right and bottom, channel counts that are not multiples of 8.
        check(Case(h: 13, w: 10, cin: 24, cout: 40, kh: 3, kw: 3, pad: (1, 1)), activation: .relu)
        check(Case(n: 2, h: 8, w: 8, cin: 64, cout: 20, kh: 3, kw: 3, pad: (1, 1)), activation: .gelu, withResidual: true)
        check(Case(h: 9, w: 11, cin: 17, cout: 19, kh: 3, kw: 3))
        check(Case(h: 5, w: 6, cin: 16, cout: 16, kh: 3, kw: 3, pad: (2, 1), bias: false))
        // Wide: the head convs of UperNet (2048 → 512 on 128²) at a small scale.
        check(Case(h: 20, w: 18, cin: 512, cout: 48, kh: 3, kw: 3, pad: (1, 1)))
        // Turned off, the same conv runs direct (and is checked to the direct conv's tolerance).
        check(Case(h: 13, w: 10, cin: 24, cout: 40, kh: 3, kw: 3, pad: (1, 1)), winograd: false)
        var rng = SeededRandom(seed: 3)
        let w = rng.array(16 * 16 * 9)
        let eligible = w.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: nil, outChannels: 16, inChannels: 16, kernelH: 3, kernelW: 3, padding: (1, 1))
        }
        let strided = w.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: nil, outChannels: 16, inChannels: 16, kernelH: 3, kernelW: 3, stride: (2, 2))
        }
        XCTAssertTrue(eligible.usesWinograd)
        XCTAssertFalse(strided.usesWinograd)
    }

    func testDenseConvWithKernelLargerThanInput() {
        check(Case(h: 4, w: 3, cin: 5, cout: 7, kh: 7, kw: 7, pad: (3, 3)))
    }

    func testGroupedConvMatchesReference() {
        check(Case(h: 8, w: 9, cin: 12, cout: 18, kh: 3, kw: 3, pad: (1, 1), groups: 3), activation: .relu)
        check(Case(h: 5, w: 5, cin: 8, cout: 16, kh: 3, kw: 3, pad: (1, 1), groups: 8))
    }

    func testDepthwiseConvMatchesReference() {
        // Large kernel on a small map, channels with a tail beyond the 16-wide vectors.
        check(Case(h: 7, w: 7, cin: 20, cout: 20, kh: 13, kw: 13, pad: (6, 6), groups: 20))
        check(Case(n: 2, h: 14, w: 11, cin: 32, cout: 32, kh: 31, kw: 31, pad: (15, 15), groups: 32), activation: .relu)
        check(Case(h: 23, w: 19, cin: 48, cout: 48, kh: 5, kw: 5, pad: (2, 2), groups: 48), withResidual: true)
        check(Case(h: 15, w: 18, cin: 16, cout: 16, kh: 3, kw: 3, stride: (2, 2), pad: (1, 1), groups: 16), activation: .relu)
        check(Case(h: 12, w: 30, cin: 17, cout: 17, kh: 3, kw: 5, stride: (2, 1), pad: (1, 2), dilation: (2, 1), groups: 17))
        // Wide rows: several tiles and a ragged last one; the last block has 8 channels (one AVX2 half).
        check(Case(h: 9, w: 37, cin: 40, cout: 40, kh: 7, kw: 7, pad: (3, 3), groups: 40), activation: .gelu)
        // The last block has 12 channels: both AVX2 half-planes, the second partly filled.
        check(Case(h: 10, w: 21, cin: 28, cout: 28, kh: 11, kw: 11, pad: (5, 5), groups: 28), activation: .relu)
        // Padding wider than the kernel: the outer output rows and columns see no input, only the bias.
        check(Case(h: 6, w: 9, cin: 24, cout: 24, kh: 3, kw: 3, pad: (4, 5), groups: 24), activation: .relu)
        // Windows that span the whole row (27×27 on 14², 31×31 on 16² as in RepLKNet): the mirrored
        // band. The last case has more outputs than inputs per row (padding wider than half the kernel).
        check(Case(h: 14, w: 14, cin: 36, cout: 36, kh: 27, kw: 27, pad: (13, 13), groups: 36), activation: .gelu,
              withResidual: true)
        check(Case(h: 5, w: 16, cin: 16, cout: 16, kh: 31, kw: 31, pad: (15, 15), groups: 16))
        check(Case(h: 4, w: 3, cin: 16, cout: 16, kh: 9, kw: 9, pad: (6, 6), groups: 16), activation: .relu)
        // Two images, more rows than one band: a band's first input row is not the map's first.
        check(Case(n: 2, h: 40, w: 13, cin: 16, cout: 16, kh: 9, kw: 9, pad: (4, 4), groups: 16))
        // A 31×31 window that does not span the row (as on 32² and 56²): tiles at both edges skip the
        // input columns in the zero padding, the middle tile none; padding wider than half the kernel
        // (more outputs than inputs) shifts them.
        check(Case(h: 6, w: 35, cin: 24, cout: 24, kh: 31, kw: 31, pad: (15, 15), groups: 24), activation: .relu)
        check(Case(h: 5, w: 41, cin: 16, cout: 16, kh: 29, kw: 29, pad: (14, 17), groups: 16))
        // A map larger than 1 MB: strips on the AVX-512 build on Intel CPUs (bands elsewhere).
        check(Case(h: 66, w: 64, cin: 64, cout: 64, kh: 7, kw: 7, pad: (3, 3), groups: 64), activation: .relu,
              withResidual: true)
    }

    /// PyTorch-layout depth-wise weights `[C][taps]` in the kernels' blocked layout `[C/16][taps][16]`.
    private func blockedDepthwiseWeights(_ weight: [Float], channels: Int, taps: Int) -> [Float] {
        var tapMajor = [Float](repeating: 0, count: taps * channels)
        for ch in 0..<channels { for t in 0..<taps { tapMajor[t * channels + ch] = weight[ch * taps + t] } }
        var blocked = [Float](repeating: 0, count: (channels + 15) / 16 * 16 * taps)
        blockDepthwiseWeights(tapMajor, channels: channels, taps: taps, into: &blocked)
        return blocked
    }

    /// Random NHWC input (in ±1), depth-wise weights (in ±`weightRange`, in the kernels' blocked
    /// layout) and bias for a stride-1 depth-wise conv, with its float64 reference output and geometry.
    private func depthwiseCase(_ rng: inout SeededRandom, n: Int = 1, h: Int, w: Int, c: Int, kh: Int, kw: Int,
                               pad: (Int, Int), weightRange: Float = 0.5)
        -> (x: [Float], blocked: [Float], bias: [Float], expected: [Float], g: DepthwiseGeometry) {
        let x = rng.array(n * h * w * c)
        let weight = rng.array(c * kh * kw, -weightRange, weightRange)
        let bias = rng.array(c)
        let (expected, oh, ow) = referenceConv(x, n: n, h: h, w: w, cin: c, weight: weight, bias: bias, cout: c,
                                               kh: kh, kw: kw, stride: (1, 1), pad: pad, dilation: (1, 1), groups: c)
        let g = DepthwiseGeometry(batch: n, height: h, width: w, channels: c, kernelH: kh, kernelW: kw, strideH: 1,
                                  strideW: 1, padTop: pad.0, padLeft: pad.1, dilationH: 1, dilationW: 1,
                                  outHeight: oh, outWidth: ow)
        return (x, blockedDepthwiseWeights(weight, channels: c, taps: kh * kw), bias, expected, g)
    }

    /// Runs `body` with `count` floats of scratch full of NaN, 64-byte aligned as the engine's buffers are.
    private func withNaNScratch(count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        var scratch = [Float](repeating: .nan, count: count + 16)
        scratch.withUnsafeMutableBufferPointer { sb in
            body(UnsafeMutableRawPointer(sb.baseAddress!).alignedUp(toMultipleOf: 64).assumingMemoryBound(to: Float.self))
        }
    }

    /// The bands kernel on its own, over a scratch full of NaN: neither build may read a scratch
    /// column it did not write (the AVX-512 tiles skip the columns outside the map, which are
    /// never written; the AVX2 build writes them as zeros). Tiles at both edges, several bands.
    func testDepthwiseBandsReadOnlyWhatTheyCopy() {
        struct BandCase { var h: Int, w: Int, c: Int, k: Int, pad: Int, bandRows: Int }
        let cases = [
            BandCase(h: 9, w: 37, c: 40, k: 7, pad: 3, bandRows: 4),
            BandCase(h: 6, w: 35, c: 24, k: 31, pad: 15, bandRows: 2),
            BandCase(h: 5, w: 14, c: 16, k: 27, pad: 13, bandRows: 5),
            BandCase(h: 6, w: 9, c: 16, k: 3, pad: 4, bandRows: 3),
        ]
        var rng = SeededRandom(seed: 23)
        for c in cases {
            let (x, blocked, bias, expected, g) = depthwiseCase(&rng, h: c.h, w: c.w, c: c.c, kh: c.k, kw: c.k,
                                                                pad: (c.pad, c.pad))
            let bands = DepthwiseBands(g, bandRows: c.bandRows)
            let taps = c.k * c.k
            var y = [Float](repeating: .nan, count: expected.count)
            withNaNScratch(count: bands.scratchCount) { sp in
                for task in 0..<bands.taskCount(batch: 1) {
                    depthwiseConvBand(x, g, bands, task: task, scratch: sp, blockedWeights: blocked, bias: bias,
                                      activation: .none, &y)
                }
            }
            let err = maxAbsDiff(y, expected)
            XCTAssertLessThan(err, 2e-6 * Float(taps).squareRoot() + 1e-6, "\(c)")
        }
    }

    /// The strips kernel on its own, with groups and bands small enough that every path runs: a
    /// last group with fewer blocks and a last block with 8 channels, bands whose rings wrap
    /// around, maps shorter than the kernel, padding wider than the kernel, non-square kernels.
    func testDepthwiseStripsMatchReference() throws {
        guard depthwiseStripsAvailable else { throw XCTSkip("strips run on the AVX-512 build only") }
        struct StripCase { var n = 1, h: Int, w: Int, c: Int, kh: Int, kw: Int, pad: (Int, Int), bandRows: Int, group: Int }
        let cases = [
            StripCase(n: 2, h: 13, w: 37, c: 40, kh: 7, kw: 7, pad: (3, 3), bandRows: 4, group: 2),
            StripCase(h: 6, w: 20, c: 32, kh: 9, kw: 9, pad: (4, 4), bandRows: 2, group: 1),
            StripCase(h: 11, w: 9, c: 48, kh: 3, kw: 3, pad: (4, 5), bandRows: 5, group: 3),
            StripCase(h: 17, w: 30, c: 24, kh: 3, kw: 5, pad: (1, 2), bandRows: 3, group: 2),
            StripCase(h: 10, w: 33, c: 16, kh: 13, kw: 13, pad: (6, 6), bandRows: 10, group: 1),
            StripCase(h: 7, w: 36, c: 32, kh: 31, kw: 31, pad: (15, 15), bandRows: 3, group: 2),
        ]
        var rng = SeededRandom(seed: 21)
        for c in cases {
            let (x, blocked, bias, expected, g) = depthwiseCase(&rng, n: c.n, h: c.h, w: c.w, c: c.c, kh: c.kh, kw: c.kw,
                                                                pad: c.pad)
            XCTAssertFalse(g.windowCoversRow, "\(c)")
            let strips = DepthwiseStrips(g, bandRows: c.bandRows, groupBlocks: c.group)
            let taps = c.kh * c.kw
            var y = [Float](repeating: .nan, count: expected.count)
            withNaNScratch(count: strips.scratchCount) { sp in
                for task in 0..<strips.taskCount(batch: c.n) {
                    depthwiseConvStrip(x, g, strips, task: task, scratch: sp, blockedWeights: blocked, bias: bias,
                                       activation: .none, &y)
                }
            }
            let err = maxAbsDiff(y, expected)
            XCTAssertLessThan(err, 2e-6 * Float(taps).squareRoot() + 1e-6, "\(c)")
        }
    }

    /// The FFT kernel on its own, over a scratch full of NaN, in both builds: several tiles down
    /// and across with ragged last ones, a last pair with one block (and a last block of 8
    /// channels), maps smaller than a tile, padding other than half the kernel, non-square kernels,
    /// two images, bands of tiles.
    func testDepthwiseFFTMatchesReference() {
        struct FFTCase { var n = 1, h: Int, w: Int, c: Int, kh: Int, kw: Int, pad: (Int, Int), bandTiles = 9,
                         activation = Activation.none }
        let cases = [
            FFTCase(h: 32, w: 32, c: 32, kh: 31, kw: 31, pad: (15, 15)),
            FFTCase(n: 2, h: 70, w: 45, c: 40, kh: 31, kw: 31, pad: (15, 15), bandTiles: 1, activation: .relu),
            FFTCase(h: 20, w: 75, c: 24, kh: 27, kw: 29, pad: (13, 14), activation: .gelu),
            FFTCase(h: 9, w: 12, c: 16, kh: 25, kw: 21, pad: (14, 9)),
            FFTCase(h: 40, w: 38, c: 48, kh: 17, kw: 13, pad: (2, 9), bandTiles: 1),
        ]
        var rng = SeededRandom(seed: 31)
        for c in cases {
            let (x, blocked, bias, linear, g) = depthwiseCase(&rng, n: c.n, h: c.h, w: c.w, c: c.c, kh: c.kh, kw: c.kw,
                                                              pad: c.pad)
            let expected = linear.map { referenceActivation($0, c.activation) }
            guard let plan = DepthwiseFFT(g, bandTiles: c.bandTiles) else { XCTFail("no FFT plan for \(c)"); continue }
            let taps = c.kh * c.kw
            forEachKernelVariant { variant in
                var y = [Float](repeating: .nan, count: expected.count)
                withNaNScratch(count: plan.scratchCount) { sp in
                    for task in 0..<plan.taskCount(batch: c.n) {
                        depthwiseConvFFT(x, g, plan, task: task, scratch: sp, blockedWeights: blocked, bias: bias,
                                         activation: c.activation, &y)
                    }
                }
                let err = maxAbsDiff(y, expected)
                XCTAssertLessThan(err, 2e-6 * Float(taps).squareRoot() + 1e-6, "\(c) [\(variant)]")
            }
        }
    }

    /// The FFT's rounding differs from the direct tiles' but is no worse: against a float64
    /// reference its rms error is below theirs (31×31 on 32²: about 8e-8 against 4e-7).
    func testDepthwiseFFTIsNoLessAccurateThanDirectTiles() {
        var rng = SeededRandom(seed: 5)
        for (size, k) in [(32, 31), (28, 29)] {
            let (x, blocked, bias, expected, g) = depthwiseCase(&rng, h: size, w: size, c: 32, kh: k, kw: k,
                                                                pad: (k / 2, k / 2), weightRange: 0.05)
            let bands = DepthwiseBands(g, bandRows: 8)
            let fft = DepthwiseFFT(g, bandTiles: 1)!
            func rmsError(_ y: [Float]) -> Double {
                (zip(y, expected).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) } / Double(y.count)).squareRoot()
            }
            forEachKernelVariant { variant in
                var direct = [Float](repeating: .nan, count: expected.count), viaFFT = direct
                withNaNScratch(count: bands.scratchCount) { sp in
                    for task in 0..<bands.taskCount(batch: 1) {
                        depthwiseConvBand(x, g, bands, task: task, scratch: sp, blockedWeights: blocked, bias: bias,
                                          activation: .none, &direct)
                    }
                }
                withNaNScratch(count: fft.scratchCount) { sp in
                    for task in 0..<fft.taskCount(batch: 1) {
                        depthwiseConvFFT(x, g, fft, task: task, scratch: sp, blockedWeights: blocked, bias: bias,
                                         activation: .none, &viaFFT)
                    }
                }
                let (d, f) = (rmsError(direct), rmsError(viaFFT))
                XCTAssertLessThan(f, d, "\(k)×\(k) on \(size)² [\(variant)]: FFT rms \(f), direct \(d)")
                XCTAssertLessThan(f, 2e-7, "\(k)×\(k) on \(size)² [\(variant)]")
            }
        }
    }

    func testDepthwiseConvOnSingleThreadMatchesPool() {
        var rng = SeededRandom(seed: 9)
        let x = Tensor(shape: [1, 21, 21, 64], values: rng.array(21 * 21 * 64))
        let w = rng.array(64 * 29 * 29)
        let conv = w.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: nil, outChannels: 64, inChannels: 64, kernelH: 29, kernelW: 29,
                       padding: (14, 14), groups: 64)
        }
        forEachKernelVariant { variant in
            let a = conv(x, pool: ThreadPool(threadCount: 1))
            let b = conv(x, pool: ThreadPool(threadCount: 3))
            XCTAssertEqual(a.scalars, b.scalars, "\(variant)")
            // Seven threads split each of the 4 channel blocks into 7 bands of 3 rows.
            let c = conv(x, pool: ThreadPool(threadCount: 7))
            XCTAssertEqual(a.scalars, c.scalars, "\(variant)")
        }
    }
}
