import XCTest
import RepLKEngine
import RepLKKernelCore
import RepLKKernels

/// The bf16 kernels against references that round the same operands to bf16 (round to nearest
/// even, as the hardware does) and sum in float64: they may differ by the float32 accumulation
/// order only. Where the CPU lacks AVX512_BF16 the kernel tests are skipped (and say so); the
/// rounding emulation is tested everywhere.
final class BF16Tests: XCTestCase {
    func requireBF16() throws {
        if let reason = Precision.bf16.unsupportedReason {
            print("BF16Tests: skipped on this CPU: \(reason)")
            throw XCTSkip(reason)
        }
    }

    func testRoundingEmulationTiesToEvenFlushesDenormalsAndKeepsNaN() {
        // 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷: ties go to the even mantissa (1).
        XCTAssertEqual(bf16Bits(1 + 0x1p-8), 0x3F80)
        // 1 + 3·2⁻⁸ lies halfway between 1 + 2⁻⁷ and 1 + 2⁻⁶: to the even one above.
        XCTAssertEqual(bf16Bits(1 + 3 * 0x1p-8), 0x3F82)
        XCTAssertEqual(bf16Bits(1 + 0x1p-8 + 0x1p-20), 0x3F81)
        XCTAssertEqual(bf16Bits(-2.5), 0xC020)
        // Denormal inputs read as zero, with their sign.
        XCTAssertEqual(bf16Bits(Float(bitPattern: 0x0000_1234)), 0x0000)
        XCTAssertEqual(bf16Bits(Float(bitPattern: 0x8040_0000)), 0x8000)
        // Past the largest finite bf16 (0x7F7F): infinity.
        XCTAssertEqual(bf16Bits(.greatestFiniteMagnitude), 0x7F80)
        XCTAssertEqual(bf16Bits(-.infinity), 0xFF80)
        XCTAssertTrue(bf16Value(bf16Bits(.nan)).isNaN)
        XCTAssertTrue(bf16Value(bf16Bits(Float(bitPattern: 0x7F80_0001))).isNaN, "a NaN whose payload is in the low half stays NaN")
        XCTAssertEqual(bf16Rounded(3.140625), 3.140625)
    }

    func testRoundingEmulationEqualsTheHardwareRounding() throws {
        try requireBF16()
        var rng = SeededRandom(seed: 11)
        var values: [Float] = (0..<4000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }
        values += [0, -0, 1, 1 + 0x1p-8, 1 + 3 * 0x1p-8, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                   .infinity, -.infinity, .nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0x0000_0001),
                   Float(bitPattern: 0x807F_FFFF), .leastNormalMagnitude, Float(bitPattern: 0x7F7F_8000)]
        var hardware = [UInt16](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { src in
            hardware.withUnsafeMutableBufferPointer { bf16RoundHardware(src.baseAddress!, count: src.count, into: $0.baseAddress!) }
        }
        for (v, h) in zip(values, hardware) {
            let e = bf16Bits(v)
            if v.isNaN {
                XCTAssertTrue(bf16Value(h).isNaN && bf16Value(e).isNaN, "NaN \(v.bitPattern)")
            } else {
                XCTAssertEqual(e, h, "bits \(String(v.bitPattern, radix: 16))")
            }
        }
    }

    struct Case {
        var n = 1
        var h: Int, w: Int, cin: Int, cout: Int, kh: Int, kw: Int
        var stride = (1, 1), pad = (0, 0), groups = 1
    }

    /// Runs `c` at bf16 and checks it against the reference on bf16-rounded input and weights, and
    /// that it is measurably not the float32 result (so a kernel that silently ran float32 fails).
    func check(_ c: Case, activation: Activation = .none, withResidual: Bool = false,
               file: StaticString = #filePath, line: UInt = #line) {
        var rng = SeededRandom(seed: 5)
        let x = rng.array(c.n * c.h * c.w * c.cin)
        let weight = rng.array(c.cout * (c.cin / c.groups) * c.kh * c.kw, -0.5, 0.5)
        let bias = rng.array(c.cout)
        let conv = weight.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: bias, outChannels: c.cout, inChannels: c.cin, kernelH: c.kh, kernelW: c.kw,
                       stride: c.stride, padding: c.pad, groups: c.groups,
                       engine: EngineConfiguration(precision: .bf16, winograd: false))
        }
        func reference(_ x: [Float], _ w: [Float]) -> (values: [Float], oh: Int, ow: Int) {
            referenceConv(x, n: c.n, h: c.h, w: c.w, cin: c.cin, weight: w, bias: bias, cout: c.cout, kh: c.kh, kw: c.kw,
                          stride: c.stride, pad: c.pad, dilation: (1, 1), groups: c.groups)
        }
        var (rounded, oh, ow) = reference(x.map(bf16Rounded), weight.map(bf16Rounded))
        var (exact, _, _) = reference(x, weight)
        var residual: Tensor?
        let r = rng.array(rounded.count)
        if withResidual { residual = Tensor(shape: [c.n, oh, ow, c.cout], values: r) }
        for i in 0..<rounded.count {
            rounded[i] = referenceActivation(rounded[i], activation) + (withResidual ? r[i] : 0)
            exact[i] = referenceActivation(exact[i], activation) + (withResidual ? r[i] : 0)
        }
        let y = conv(Tensor(shape: [c.n, c.h, c.w, c.cin], values: x), activation: activation, residual: residual)
        XCTAssertEqual(y.shape, [c.n, oh, ow, c.cout], file: file, line: line)
        let k = Float(c.cin / c.groups * c.kh * c.kw)
        let scale = exact.reduce(0) { max($0, abs($1)) }
        // Direct convs only: Winograd 3×3 convs at bf16 are checked by WinogradBF16Tests.
        XCTAssertFalse(conv.usesWinograd, "\(c)", file: file, line: line)
        let bound = 2e-6 * k.squareRoot() + 1e-6
        XCTAssertLessThan(maxAbsDiff(y.scalars, rounded), bound, "\(c)", file: file, line: line)
        if k >= 16 {
            XCTAssertGreaterThan(maxAbsDiff(y.scalars, exact), 10 * bound, "ran float32? \(c)", file: file, line: line)
        }
    }

    func testPointwiseConvMatchesBF16RoundedReferenceOnRaggedTiles() throws {
        try requireBF16()
        // 91 rows (not a multiple of 12), 45 outputs (not a multiple of 32), depth over a K block.
        check(Case(h: 13, w: 7, cin: 800, cout: 45, kh: 1, kw: 1))
        // An odd depth of 3 (the last pair half zero), and 49 / 20 rows (short last micro-panels).
        check(Case(n: 2, h: 5, w: 3, cin: 3, cout: 70, kh: 1, kw: 1))
        check(Case(h: 7, w: 7, cin: 401, cout: 64, kh: 1, kw: 1), activation: .gelu, withResidual: true)
        check(Case(h: 4, w: 5, cin: 390, cout: 32, kh: 1, kw: 1), activation: .relu)
        // Many panels and few rows: A is packed once over the whole depth and shared.
        check(Case(h: 2, w: 3, cin: 777, cout: 300, kh: 1, kw: 1), activation: .gelu, withResidual: true)
    }

    func testDenseAndGroupedConvsMatchBF16RoundedReference() throws {
        try requireBF16()
        // The stem: 3 channels, 3×3 stride 2 (depth 27, odd).
        check(Case(n: 2, h: 17, w: 12, cin: 3, cout: 16, kh: 3, kw: 3, stride: (2, 2), pad: (1, 1)), activation: .relu)
        check(Case(h: 9, w: 14, cin: 20, cout: 33, kh: 3, kw: 5, stride: (1, 2), pad: (1, 2)))
        check(Case(h: 7, w: 9, cin: 50, cout: 20, kh: 3, kw: 3, stride: (2, 2), pad: (1, 1)))
        check(Case(h: 6, w: 6, cin: 32, cout: 48, kh: 3, kw: 3, pad: (1, 1), groups: 4))
    }

    func testLinearLayerAtBF16MatchesRoundedReference() throws {
        try requireBF16()
        check(Case(n: 3, h: 1, w: 1, cin: 1024, cout: 1000, kh: 1, kw: 1))
    }

    func testBF16PeakLoopRuns() throws {
        try requireBF16()
        XCTAssertTrue(bf16PeakLoop(iterations: 1000, seed: 1).isFinite)
    }
}
