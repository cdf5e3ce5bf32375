import XCTest
import RepLKEngine
import RepLKKernelCore
import RepLKKernels

/// The 1×1 convs' GEMM split over threads (rows kept by their thread where M ≥ 2N, column groups
/// elsewhere, both with affine shares): every output element is computed once, by one tile with
/// the same summation order, so any thread count gives the same bits.
final class GEMMSplitTests: XCTestCase {
    /// (pixels as h × w, in, out): both split modes, maps of fewer micro-panels than threads, one
    /// pixel, depths past one K block, and widths that leave partial column panels.
    let shapes: [(h: Int, w: Int, cin: Int, cout: Int)] = [
        (56, 56, 24, 40),    // rows: 3136 ≥ 2·40, several row blocks a thread
        (14, 14, 40, 200),   // columns: 196 < 400
        (7, 7, 600, 96),     // columns, K past one block, 5 micro-panels
        (3, 5, 16, 8),       // rows: 15 rows, fewer micro-panels than threads
        (1, 1, 48, 33),      // one row
        (20, 20, 64, 64),    // rows: 400 ≥ 128
    ]

    func runConv(_ s: (h: Int, w: Int, cin: Int, cout: Int), precision: Precision, threads: Int,
                 x: Tensor, w: [Float], bias: [Float], residual: Tensor) -> [Float] {
        let engine = EngineConfiguration(threads: threads, precision: precision)
        let conv = w.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: bias, outChannels: s.cout, inChannels: s.cin, kernelH: 1, kernelW: 1,
                       engine: engine)
        }
        return conv(x, activation: .gelu, residual: residual).scalars
    }

    func check(precision: Precision) {
        var rng = SeededRandom(seed: 41)
        forEachKernelVariant { variant in
            if precision == .bf16 && variant != .v4 { return }
            for s in shapes {
                let x = Tensor(shape: [1, s.h, s.w, s.cin], values: rng.array(s.h * s.w * s.cin))
                let w = rng.array(s.cout * s.cin), bias = rng.array(s.cout)
                let residual = Tensor(shape: [1, s.h, s.w, s.cout], values: rng.array(s.h * s.w * s.cout))
                let one = runConv(s, precision: precision, threads: 1, x: x, w: w, bias: bias, residual: residual)
                for threads in [2, 3, 5] {
                    let many = runConv(s, precision: precision, threads: threads, x: x, w: w, bias: bias, residual: residual)
                    XCTAssertEqual(one, many, "\(s) \(precision) on \(threads) threads [\(variant)]")
                }
                if precision == .fp32 {
                    // And the split computes every element: against the naive sum.
                    let ref = referenceConv(x.scalars, n: 1, h: s.h, w: s.w, cin: s.cin, weight: w, bias: bias,
                                            cout: s.cout, kh: 1, kw: 1, stride: (1, 1), pad: (0, 0), dilation: (1, 1),
                                            groups: 1).values
                    let r = residual.scalars
                    var worst: Float = 0
                    for i in 0..<ref.count {
                        let v = Double(ref[i])
                        let gelu = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot()))) + r[i]
                        worst = max(worst, abs(gelu - one[i]))
                    }
                    XCTAssertLessThan(worst, 1e-4, "\(s) [\(variant)]")
                }
            }
        }
    }

    func testAnyThreadCountGivesTheSameFloat32Bits() { check(precision: .fp32) }

    func testAnyThreadCountGivesTheSameBF16Bits() throws {
        if let reason = Precision.bf16.unsupportedReason {
            print("GEMMSplitTests: bf16 skipped on this CPU: \(reason)")
            throw XCTSkip(reason)
        }
        check(precision: .bf16)
    }
}
