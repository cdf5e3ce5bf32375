import XCTest
import RepLKEngine
import RepLKKernelCore
import RepLKKernels

/// Winograd F(4×4, 3×3) at bf16: the 36 transform-domain products run through `vdpbf16ps`.
final class WinogradBF16Tests: XCTestCase {
    // Lavin & Gray's F(4×4, 3×3) matrices, as KernelCore/WinogradTypes.swift and the kernels use them.
    static let bt: [[Double]] = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                                 [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
    static let g: [[Double]] = [[1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                                [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]]
    static let at: [[Double]] = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]

    /// The conv computed the way the bf16 path defines it, in float64: V = Bᵀ d B and U = G g Gᵀ
    /// rounded to bf16 (nearest even), M = Σ_ci U·V exact, Y = Aᵀ M A, plus bias. NHWC, padding 1.
    static func reference(_ x: [Float], h: Int, w: Int, cin: Int, weight: [Float], bias: [Float], cout: Int) -> [Float] {
        // U[ξ][ci][co]
        var u = [Double](repeating: 0, count: 36 * cin * cout)
        for o in 0..<cout {
            for i in 0..<cin {
                for r in 0..<6 {
                    for c in 0..<6 {
                        var s = 0.0
                        for a in 0..<3 { for b in 0..<3 { s += g[r][a] * Double(weight[(o * cin + i) * 9 + a * 3 + b]) * g[c][b] } }
                        u[((r * 6 + c) * cin + i) * cout + o] = Double(bf16Rounded(Float(s)))
                    }
                }
            }
        }
        let tilesY = (h + 3) / 4, tilesX = (w + 3) / 4
        var y = [Float](repeating: 0, count: h * w * cout)
        var v = [Double](repeating: 0, count: 36 * cin)
        for ty in 0..<tilesY {
            for tx in 0..<tilesX {
                for i in 0..<cin {
                    var d = [[Double]](repeating: [Double](repeating: 0, count: 6), count: 6)
                    for r in 0..<6 {
                        for c in 0..<6 {
                            let iy = ty * 4 - 1 + r, ix = tx * 4 - 1 + c
                            if iy >= 0 && iy < h && ix >= 0 && ix < w { d[r][c] = Double(x[(iy * w + ix) * cin + i]) }
                        }
                    }
                    for r in 0..<6 {
                        for c in 0..<6 {
                            var s = 0.0
                            for a in 0..<6 { for b in 0..<6 { s += bt[r][a] * d[a][b] * bt[c][b] } }
                            v[(r * 6 + c) * cin + i] = Double(bf16Rounded(Float(s)))
                        }
                    }
                }
                for o in 0..<cout {
                    var m = [[Double]](repeating: [Double](repeating: 0, count: 6), count: 6)
                    for xi in 0..<36 {
                        var s = 0.0
                        for i in 0..<cin { s += u[(xi * cin + i) * cout + o] * v[xi * cin + i] }
                        m[xi / 6][xi % 6] = s
                    }
                    for r in 0..<4 {
                        for c in 0..<4 {
                            let oy = ty * 4 + r, ox = tx * 4 + c
                            guard oy < h && ox < w else { continue }
                            var s = Double(bias[o])
                            for a in 0..<6 { for b in 0..<6 { s += at[r][a] * m[a][b] * at[c][b] } }
                            y[(oy * w + ox) * cout + o] = Float(s)
                        }
                    }
                }
            }
        }
        return y
    }

    func rms(_ a: [Float], _ b: [Float]) -> Float {
        Float((zip(a, b).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.count)).squareRoot())
    }

    func testWinogradConvAtBF16MatchesTheTransformDomainBF16Reference() throws {
        guard Precision.bf16.isSupported else {
            print("skipped: this CPU lacks AVX512_BF16 (\(Precision.bf16.unsupportedReason ?? ""))")
            throw XCTSkip("no AVX512_BF16")
        }
        // Ragged maps (tiles cut by the edge), a depth over two K blocks and an odd one, outputs not a
        // multiple of 32; weights that fit the cache (blocks of tiles) and 480 → 400, which does not
        // (batches of tiles, each pass over the whole batch).
        for (h, w, cin, cout) in [(13, 10, 24, 40), (9, 17, 800, 33), (20, 18, 129, 64), (31, 9, 256, 256), (9, 11, 480, 400)] {
            var rng = SeededRandom(seed: 11)
            let x = rng.array(h * w * cin)
            let s = Float(1 / (9 * Double(cin)).squareRoot())
            let weight = rng.array(cout * cin * 9, -2 * s, 2 * s)
            let bias = rng.array(cout)
            let conv = weight.withUnsafeBufferPointer {
                ConvKernel(weightOIHW: $0, bias: bias, outChannels: cout, inChannels: cin, kernelH: 3, kernelW: 3,
                           padding: (1, 1), engine: EngineConfiguration(precision: .bf16))
            }
            XCTAssertTrue(conv.usesWinograd)
            let got = conv(Tensor(shape: [1, h, w, cin], values: x)).scalars
            let want = Self.reference(x, h: h, w: w, cin: cin, weight: weight, bias: bias, cout: cout)
            let (exact, _, _) = referenceConv(x, n: 1, h: h, w: w, cin: cin, weight: weight, bias: bias, cout: cout, kh: 3, kw: 3,
                                              stride: (1, 1), pad: (1, 1), dilation: (1, 1), groups: 1)
            let scale = exact.reduce(0) { max($0, abs($1)) }
            // float32 sums of the same bf16 operands: the reference up to accumulation order, and up to
            // the few V that round to the other bf16 neighbour from the kernels' float32 transform than
            // from float64 (each moves its outputs by one bf16 step, amplified by Aᵀ).
            XCTAssertLessThan(rms(got, want), 2e-4 * scale, "\(h)×\(w) \(cin)→\(cout)")
            XCTAssertLessThan(maxAbsDiff(got, want), 5e-3 * scale, "\(h)×\(w) \(cin)→\(cout)")
            // And measurably not the float32 Winograd conv (whose bound is 5e-5 of the scale).
            XCTAssertGreaterThan(rms(got, exact), 1e-3 * scale, "ran float32? \(h)×\(w) \(cin)→\(cout)")
        }
    }
}
