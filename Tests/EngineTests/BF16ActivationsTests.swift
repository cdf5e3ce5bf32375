import XCTest
import RepLKEngine
import RepLKKernelCore
import RepLKKernels

/// Handing a map from one bf16 1×1 conv to the next in bf16 (`bf16Output`) gives the same bits as
/// handing it over in float32: the second conv rounds its input to bf16 as it packs it either way.
final class BF16ActivationsTests: XCTestCase {
    func conv(_ cin: Int, _ cout: Int, _ rng: inout SeededRandom, threads: Int) -> ConvKernel {
        let w = rng.array(cout * cin), b = rng.array(cout)
        return w.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: b, outChannels: cout, inChannels: cin, kernelH: 1, kernelW: 1,
                       engine: EngineConfiguration(threads: threads, precision: .bf16))
        }
    }

    func testBF16HandOverGivesTheFloat32HandOversBits() throws {
        if let reason = Precision.bf16.unsupportedReason {
            print("BF16ActivationsTests: skipped on this CPU: \(reason)")
            throw XCTSkip(reason)
        }
        // Rows and column splits, partial micro-panels and column panels, a depth past one K block,
        // an odd depth (its last pair half zero), one pixel.
        let shapes: [(h: Int, w: Int, c: Int, hidden: Int)] = [
            (14, 14, 40, 160), (56, 56, 24, 96), (7, 7, 520, 1040), (3, 5, 17, 35), (1, 1, 48, 33)]
        for s in shapes {
            for threads in [1, 2, 3] {
                var rng = SeededRandom(seed: UInt64(s.c * 31 + threads))
                let first = conv(s.c, s.hidden, &rng, threads: threads)
                let middle = conv(s.hidden, s.hidden, &rng, threads: threads)
                let second = conv(s.hidden, s.c, &rng, threads: threads)
                let x = Tensor(shape: [1, s.h, s.w, s.c], values: rng.array(s.h * s.w * s.c))
                let residual = Tensor(shape: [1, s.h, s.w, s.c], values: rng.array(s.h * s.w * s.c))
                XCTAssertTrue(first.exchangesBF16)

                let hidden32 = first(x, activation: .gelu)
                let hidden16 = first.bf16Output(x, activation: .gelu)
                XCTAssertEqual(hidden16.shape, hidden32.shape)
                XCTAssertEqual(hidden16.scalars, hidden32.scalars.map { bf16Value(bf16Bits($0)) },
                               "\(s), \(threads) threads: the map is the float32 one rounded to nearest even")

                let y32 = second(hidden32, residual: residual)
                let y16 = second(hidden16, residual: residual)
                XCTAssertEqual(y16.shape, y32.shape)
                XCTAssertEqual(y16.scalars, y32.scalars, "\(s), \(threads) threads")

                // bf16 in, bf16 out, then float32 out.
                let chained32 = second(middle(hidden32, activation: .relu), residual: residual)
                let chained16 = second(middle.bf16Output(hidden16, activation: .relu), residual: residual)
                XCTAssertEqual(chained16.scalars, chained32.scalars, "\(s), \(threads) threads, chained")
            }
        }
    }

    func testOnlyBF16PointwiseConvsExchangeBF16() {
        var rng = SeededRandom(seed: 3)
        let w = rng.array(8 * 8 * 9)
        let threeByThree = w.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: nil, outChannels: 8, inChannels: 8, kernelH: 3, kernelW: 3,
                       padding: (1, 1), engine: EngineConfiguration(threads: 1))
        }
        XCTAssertFalse(threeByThree.exchangesBF16)
        XCTAssertFalse(conv32(8, 8, &rng).exchangesBF16)
    }

    func conv32(_ cin: Int, _ cout: Int, _ rng: inout SeededRandom) -> ConvKernel {
        let w = rng.array(cout * cin)
        return w.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: nil, outChannels: cout, inChannels: cin, kernelH: 1, kernelW: 1,
                       engine: EngineConfiguration(threads: 1, precision: .fp32))
        }
    }
}

extension BF16ActivationsTests {
    /// pw1 → 31×31 depth-wise → pw2, the large-kernel block, handed over in bf16 and in float32.
    func testDepthwiseBF16HandOverGivesTheFloat32HandOversBits() throws {
        if let reason = Precision.bf16.unsupportedReason {
            print("BF16ActivationsTests: skipped on this CPU: \(reason)")
            throw XCTSkip(reason)
        }
        let cases: [(h: Int, w: Int, c: Int, k: Int)] = [(14, 14, 48, 31), (9, 20, 20, 7), (5, 3, 33, 13)]
        for s in cases {
            for threads in [1, 2, 3] {
                var rng = SeededRandom(seed: UInt64(s.c * 7 + threads))
                let engine = EngineConfiguration(threads: threads, precision: .bf16)
                let pw1 = conv(s.c, s.c, &rng, threads: threads), pw2 = conv(s.c, s.c, &rng, threads: threads)
                let wd = rng.array(s.c * s.k * s.k), bd = rng.array(s.c)
                let dw = wd.withUnsafeBufferPointer {
                    ConvKernel(weightOIHW: $0, bias: bd, outChannels: s.c, inChannels: s.c, kernelH: s.k, kernelW: s.k,
                               padding: (s.k / 2, s.k / 2), groups: s.c, engine: engine)
                }
                XCTAssertTrue(dw.exchangesBF16)
                let x = Tensor(shape: [1, s.h, s.w, s.c], values: rng.array(s.h * s.w * s.c))
                let y32 = pw2(dw(pw1(x, activation: .relu), activation: .relu), residual: x)
                let mid = dw.bf16Output(pw1.bf16Output(x, activation: .relu), activation: .relu)
                XCTAssertEqual(mid.scalars, dw(pw1(x, activation: .relu), activation: .relu).scalars.map { bf16Value(bf16Bits($0)) },
                               "\(s), \(threads) threads: the depth-wise output rounded")
                XCTAssertEqual(pw2(mid, residual: x).scalars, y32.scalars, "\(s), \(threads) threads")
                // bf16 in, float32 out, with GELU and a residual.
                let dwOut = dw(pw1.bf16Output(x), activation: .gelu, residual: x)
                XCTAssertEqual(dwOut.scalars, dw(pw1(x), activation: .gelu, residual: x).scalars, "\(s), \(threads) threads")
                // float32 in, bf16 out.
                XCTAssertEqual(dw.bf16Output(x, activation: .gelu).scalars,
                               dw(x, activation: .gelu).scalars.map { bf16Value(bf16Bits($0)) }, "\(s), \(threads) threads")
            }
        }
        // The opt-in FFT stays float32, so it takes no bf16 hand-over.
        var rng = SeededRandom(seed: 5)
        let w = rng.array(16 * 31 * 31)
        let fft = w.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: nil, outChannels: 16, inChannels: 16, kernelH: 31, kernelW: 31,
                       padding: (15, 15), groups: 16, engine: EngineConfiguration(threads: 1, precision: .bf16, depthwise: .fft))
        }
        XCTAssertFalse(fft.exchangesBF16)
    }
}
