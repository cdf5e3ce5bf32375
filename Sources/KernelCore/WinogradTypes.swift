// Winograd F(4×4, 3×3) for dense 3×3 convolutions with stride 1 (Lavin & Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016, interpolation points 0, ±1, ±2, ∞):
//
//     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// per 4×4 output tile, d the 6×6 input tile around it and g the 3×3 filter. The 36 element-wise
// products over channels are 36 GEMMs (tiles × Cin) · (Cin × Cout) with a quarter of the
// multiply-adds of the direct conv. This file holds the parts with no vector code: the tiling and
// the weight transform (done once at load).

/// Output tiles of 4×4 of a stride-1 3×3 conv over an NHWC input, numbered (n·tilesY + ty)·tilesX + tx.
public struct WinogradTiling {
    public var batch, height, width, inChannels, outChannels: Int
    public var padTop, padLeft: Int
    public var outHeight, outWidth: Int

    public init(batch: Int, height: Int, width: Int, inChannels: Int, outChannels: Int,
                padTop: Int, padLeft: Int, outHeight: Int, outWidth: Int) {
        self.batch = batch; self.height = height; self.width = width
        self.inChannels = inChannels; self.outChannels = outChannels
        self.padTop = padTop; self.padLeft = padLeft; self.outHeight = outHeight; self.outWidth = outWidth
    }

    public var tilesY: Int { (outHeight + 3) / 4 }
    public var tilesX: Int { (outWidth + 3) / 4 }
    public var tileCount: Int { batch * tilesY * tilesX }
}

/// Number of floats the transformed, packed weights of a Cin → Cout 3×3 conv occupy: 36 packed
/// `Cin × Cout` GEMM operands.
public func winogradWeightCount(inChannels: Int, outChannels: Int) -> Int {
    36 * packedBCount(k: inChannels, n: outChannels)
}

/// Transforms PyTorch-layout 3×3 weights `(Cout, Cin, 3, 3)` into U = G g Gᵀ and packs, for each of
/// the 36 tile positions ξ = 6·i + j, the `Cin × Cout` matrix U[ξ][ci][co] with `packB` at
/// `dst + ξ · packedBCount(k: Cin, n: Cout)`. Computed in double precision.
public func winogradTransformWeights(_ w: UnsafeBufferPointer<Float>, inChannels ci: Int, outChannels co: Int,
                                     into dst: UnsafeMutablePointer<Float>) {
    precondition(w.count == co * ci * 9, "3×3 weight has \(w.count) values, expected \(co * ci * 9)")
    let G: [[Double]] = [[1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                         [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]]
    var u = [Float](repeating: 0, count: 36 * ci * co)   // [ξ][ci][co]
    var t = [Double](repeating: 0, count: 18)
    for o in 0..<co {
        for i in 0..<ci {
            let g = w.baseAddress! + (o * ci + i) * 9
            // t = G·g (6×3), then U = t·Gᵀ (6×6).
            for r in 0..<6 {
                for c in 0..<3 {
                    t[r * 3 + c] = G[r][0] * Double(g[c]) + G[r][1] * Double(g[3 + c]) + G[r][2] * Double(g[6 + c])
                }
            }
            for r in 0..<6 {
                for c in 0..<6 {
                    let v = t[r * 3] * G[c][0] + t[r * 3 + 1] * G[c][1] + t[r * 3 + 2] * G[c][2]
                    u[((r * 6 + c) * ci + i) * co + o] = Float(v)
                }
            }
        }
    }
    let stride = packedBCount(k: ci, n: co)
    u.withUnsafeBufferPointer { p in
        for xi in 0..<36 {
            packB(p.baseAddress! + xi * ci * co, k: ci, n: co, strideK: co, strideN: 1, into: dst + xi * stride)
        }
    }
}
