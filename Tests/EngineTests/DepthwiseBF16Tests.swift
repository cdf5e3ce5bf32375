import XCTest
import RepLKEngine
import RepLKKernelCore
import RepLKKernels

/// The bf16 depth-wise conv (stride 1, taps in pairs along each kernel row through `vdpbf16ps`)
/// against a float64 reference on the same bf16-rounded inputs and weights: they may differ by the
/// float32 accumulation order only. Each case also checks that the result is measurably not the
/// float32 one, so that a path that silently ran float32 fails. Skipped, saying why, on CPUs
/// without AVX512_BF16.
final class DepthwiseBF16Tests: XCTestCase {
    func requireBF16() throws {
        if let reason = Precision.bf16.unsupportedReason {
            print("DepthwiseBF16Tests: skipped on this CPU: \(reason)")
            throw XCTSkip(reason)
        }
    }

    struct Case {
        var n = 1
        var h: Int, w: Int, c: Int, kh: Int, kw: Int
        var pad: (Int, Int)
        var bandRows = 4
        var activation = Activation.none
    }

    /// Random input in [-1, 1], weights in [-0.5, 0.5] and bias, and the references: float64 sums
    /// of the bf16-rounded operands (`rounded`) and of the float32 ones (`exact`), after the activation.
    struct Data {
        var x: [Float], weight: [Float], bias: [Float]
        var rounded: [Float], exact: [Float]
        var g: DepthwiseGeometry
    }

    func makeData(_ c: Case, seed: UInt64) -> Data {
        var rng = SeededRandom(seed: seed)
        let x = rng.array(c.n * c.h * c.w * c.c)
        let weight = rng.array(c.c * c.kh * c.kw, -0.5, 0.5)
        let bias = rng.array(c.c)
        func reference(_ x: [Float], _ w: [Float]) -> (values: [Float], oh: Int, ow: Int) {
            referenceConv(x, n: c.n, h: c.h, w: c.w, cin: c.c, weight: w, bias: bias, cout: c.c, kh: c.kh, kw: c.kw,
                          stride: (1, 1), pad: c.pad, dilation: (1, 1), groups: c.c)
        }
        let (rounded, oh, ow) = reference(x.map(bf16Rounded), weight.map(bf16Rounded))
        let (exact, _, _) = reference(x, weight)
        let g = DepthwiseGeometry(batch: c.n, height: c.h, width: c.w, channels: c.c, kernelH: c.kh, kernelW: c.kw,
                                  strideH: 1, strideW: 1, padTop: c.pad.0, padLeft: c.pad.1, dilationH: 1, dilationW: 1,
                                  outHeight: oh, outWidth: ow)
        return Data(x: x, weight: weight, bias: bias, rounded: rounded.map { referenceActivation($0, c.activation) },
                    exact: exact.map { referenceActivation($0, c.activation) }, g: g)
    }

    /// The bound of BF16Tests for `taps` products of bf16-rounded operands summed in float32.
    func bound(taps: Int) -> Float { 2e-6 * Float(taps).squareRoot() + 1e-6 }

    /// Checks `y` against the rounded reference, and (with 16 taps or more) that it is not the float32 result.
    func checkResult(_ y: [Float], _ d: Data, taps: Int, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let b = bound(taps: taps)
        XCTAssertLessThan(maxAbsDiff(y, d.rounded), b, what, file: file, line: line)
        if taps >= 16 {
            XCTAssertGreaterThan(maxAbsDiff(y, d.exact), 10 * b, "ran float32? \(what)", file: file, line: line)
        }
    }

    /// Runs `body` with `count` floats of scratch full of NaN, 64-byte aligned as the engine's buffers are.
    func withNaNScratch(count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        var scratch = [Float](repeating: .nan, count: count + 16)
        scratch.withUnsafeMutableBufferPointer { sb in
            body(UnsafeMutableRawPointer(sb.baseAddress!).alignedUp(toMultipleOf: 64).assumingMemoryBound(to: Float.self))
        }
    }

    /// The band kernel on its own, task by task over one scratch full of NaN (a pair-row entry it
    /// reads without having written it, or an output it does not store, shows as NaN): kernels
    /// larger than the map, odd and even sizes, non-square kernels, padding of zero and wider than
    /// the kernel, ragged maps, channel counts that are not multiples of 16, two images, several
    /// bands, each tile width (16, 14, 8) with ragged last tiles, windows spanning the whole row
    /// (most of each tile's products in the padding, all skipped), ReLU and GELU.
    func testBandKernelMatchesRoundedReferenceOverNaNScratch() throws {
        try requireBF16()
        let cases = [
            Case(h: 32, w: 32, c: 32, kh: 31, kw: 31, pad: (15, 15), bandRows: 8),
            Case(n: 2, h: 14, w: 14, c: 40, kh: 31, kw: 31, pad: (15, 15), bandRows: 5, activation: .relu),
            Case(h: 14, w: 14, c: 24, kh: 27, kw: 27, pad: (13, 13), bandRows: 14),
            Case(h: 7, w: 7, c: 3, kh: 13, kw: 13, pad: (6, 6), bandRows: 3, activation: .gelu),
            Case(n: 2, h: 13, w: 9, c: 40, kh: 5, kw: 5, pad: (2, 2), bandRows: 4, activation: .relu),
            Case(h: 13, w: 9, c: 19, kh: 3, kw: 3, pad: (1, 1), bandRows: 13),
            Case(h: 9, w: 13, c: 16, kh: 4, kw: 6, pad: (1, 3), bandRows: 3),
            Case(h: 6, w: 11, c: 16, kh: 3, kw: 3, pad: (4, 5), bandRows: 2),
            Case(h: 10, w: 37, c: 48, kh: 7, kw: 7, pad: (0, 0), bandRows: 4, activation: .gelu),
            Case(h: 5, w: 20, c: 8, kh: 3, kw: 31, pad: (1, 15), bandRows: 2),
            Case(h: 12, w: 56, c: 17, kh: 31, kw: 31, pad: (15, 15), bandRows: 6),
            Case(h: 8, w: 31, c: 16, kh: 32, kw: 32, pad: (16, 16), bandRows: 9),
            // Windows spanning the whole row: a ragged tile of 12 with an even kernel width, and two
            // tiles of 14 across 27 outputs of a 5-wide row.
            Case(h: 5, w: 9, c: 20, kh: 3, kw: 20, pad: (1, 11), bandRows: 2, activation: .gelu),
            Case(h: 6, w: 5, c: 16, kh: 5, kw: 31, pad: (2, 26), bandRows: 6, activation: .relu),
        ]
        for (i, c) in cases.enumerated() {
            let d = makeData(c, seed: 40 + UInt64(i))
            let taps = c.kh * c.kw
            var tapMajor = [Float](repeating: 0, count: taps * c.c)
            for ch in 0..<c.c { for t in 0..<taps { tapMajor[t * c.c + ch] = d.weight[ch * taps + t] } }
            var pairs = [UInt32](repeating: 0, count: depthwiseBF16WeightCount(channels: c.c, kernelH: c.kh, kernelW: c.kw))
            packDepthwiseBF16Weights(tapMajor, channels: c.c, kernelH: c.kh, kernelW: c.kw, into: &pairs)
            let bands = DepthwiseBands(d.g, bandRows: c.bandRows)
            var y = [Float](repeating: .nan, count: d.rounded.count)
            withNaNScratch(count: bands.scratchCount) { sp in
                for task in 0..<bands.taskCount(batch: c.n) {
                    d.x.withUnsafeBufferPointer { x in
                        y.withUnsafeMutableBufferPointer { yb in
                            depthwiseConvBandBF16(.float(x.baseAddress!), d.g, bands, task: task, scratch: sp, pairWeights: pairs,
                                                  bias: d.bias, activation: c.activation, .float(yb.baseAddress!))
                        }
                    }
                }
            }
            checkResult(y, d, taps: taps, "\(c)")
        }
    }

    /// The weight packing: pairs along each kernel row, the first tap in the low half, a zero
    /// second half in the last pair of an odd width, zero channels past C.
    func testPairWeightLayout() {
        let c = 18, kh = 2, kw = 3, taps = kh * kw
        var tapMajor = [Float](repeating: 0, count: taps * c)
        for t in 0..<taps { for ch in 0..<c { tapMajor[t * c + ch] = Float(t * 100 + ch) } }
        var pairs = [UInt32](repeating: 0xFFFF_FFFF, count: depthwiseBF16WeightCount(channels: c, kernelH: kh, kernelW: kw))
        XCTAssertEqual(pairs.count, 2 * kh * 2 * 16)
        packDepthwiseBF16Weights(tapMajor, channels: c, kernelH: kh, kernelW: kw, into: &pairs)
        for cb in 0..<2 {
            for ky in 0..<kh {
                for kp in 0..<2 {
                    for l in 0..<16 {
                        let word = pairs[((cb * kh + ky) * 2 + kp) * 16 + l]
                        let ch = cb * 16 + l
                        let kx = 2 * kp
                        let first: Float = ch < c ? bf16Rounded(Float((ky * kw + kx) * 100 + ch)) : 0
                        let second: Float = ch < c && kx + 1 < kw ? bf16Rounded(Float((ky * kw + kx + 1) * 100 + ch)) : 0
                        XCTAssertEqual(bf16Value(UInt16(word & 0xFFFF)), first, "cb \(cb) ky \(ky) kp \(kp) lane \(l)")
                        XCTAssertEqual(bf16Value(UInt16(word >> 16)), second, "cb \(cb) ky \(ky) kp \(kp) lane \(l)")
                    }
                }
            }
        }
    }

    /// `ConvKernel` at bf16 runs the bf16 bands for stride-1 depth-wise convs (two images, bias,
    /// ReLU, a residual, on the shared pool), and stays float32 for strided ones.
    func testConvKernelRunsBF16DepthwiseAndStridedStaysFloat32() throws {
        try requireBF16()
        let cases = [
            Case(n: 2, h: 14, w: 14, c: 40, kh: 27, kw: 27, pad: (13, 13), activation: .relu),
            Case(h: 32, w: 32, c: 48, kh: 31, kw: 31, pad: (15, 15)),
            Case(h: 7, w: 7, c: 3, kh: 13, kw: 13, pad: (6, 6), activation: .gelu),
            Case(n: 2, h: 13, w: 9, c: 40, kh: 5, kw: 5, pad: (2, 2), activation: .relu),
        ]
        for (i, c) in cases.enumerated() {
            var d = makeData(c, seed: 70 + UInt64(i))
            let conv = d.weight.withUnsafeBufferPointer {
                ConvKernel(weightOIHW: $0, bias: d.bias, outChannels: c.c, inChannels: c.c, kernelH: c.kh, kernelW: c.kw,
                           padding: c.pad, groups: c.c, engine: EngineConfiguration(precision: .bf16))
            }
            let shape = [c.n, d.g.outHeight, d.g.outWidth, c.c]
            var rng = SeededRandom(seed: 90 + UInt64(i))
            let r = rng.array(d.rounded.count)
            for j in 0..<r.count { d.rounded[j] += r[j]; d.exact[j] += r[j] }
            let y = conv(Tensor(shape: [c.n, c.h, c.w, c.c], values: d.x), activation: c.activation,
                         residual: Tensor(shape: shape, values: r))
            XCTAssertEqual(y.shape, shape)
            checkResult(y.scalars, d, taps: c.kh * c.kw, "\(c)")
        }
        // Stride 2 (the stage transitions): float32 at either precision, the same values.
        var rng = SeededRandom(seed: 3)
        let x = Tensor(shape: [1, 15, 15, 24], values: rng.array(15 * 15 * 24))
        let w = rng.array(24 * 9, -0.5, 0.5), bias = rng.array(24)
        let outputs = [Precision.fp32, .bf16].map { p in
            w.withUnsafeBufferPointer {
                ConvKernel(weightOIHW: $0, bias: bias, outChannels: 24, inChannels: 24, kernelH: 3, kernelW: 3,
                           stride: (2, 2), padding: (1, 1), groups: 24, engine: EngineConfiguration(precision: p))
            }(x, activation: .relu).scalars
        }
        XCTAssertEqual(outputs[0], outputs[1])
    }
}
