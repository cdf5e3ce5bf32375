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

    /// Image and first output row and column of tile `index`.
    @inline(__always)
    public func origin(ofTile index: Int) -> (image: Int, y: Int, x: Int) {
        let perImage = tilesY * tilesX
        let n = index / perImage
        let r = index - n * perImage
        let ty = r / tilesX
        return (n, ty * 4, (r - ty * tilesX) * 4)
    }
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
    let u = winogradTransformedWeights(w, inChannels: ci, outChannels: co)
    let stride = packedBCount(k: ci, n: co)
    u.withUnsafeBufferPointer { p in
        for xi in 0..<36 {
            packB(p.baseAddress! + xi * ci * co, k: ci, n: co, strideK: co, strideN: 1, into: dst + xi * stride)
        }
    }
}

/// U = G g Gᵀ of PyTorch-layout 3×3 weights, unpacked: `[ξ][ci][co]`, computed in double precision.
func winogradTransformedWeights(_ w: UnsafeBufferPointer<Float>, inChannels ci: Int, outChannels co: Int) -> [Float] {
    precondition(w.count == co * ci * 9, "3×3 weight has \(w.count) values, expected \(co * ci * 9)")
    // G·g·Gᵀ with G = [[1/4, 0, 0], [−1/6, −1/6, −1/6], [−1/6, 1/6, −1/6], [1/24, 1/12, 1/6],
    // [1/24, −1/12, 1/6], [0, 0, 1]], applied to the columns of g, then to the rows of the result.
    @inline(__always) func gColumn(_ a: Double, _ b: Double, _ c: Double) -> (Double, Double, Double, Double, Double, Double) {
        (a / 4, -(a + b + c) / 6, -(a - b + c) / 6, a / 24 + b / 12 + c / 6, a / 24 - b / 12 + c / 6, c)
    }
    var u = [Float](repeating: 0, count: 36 * ci * co)   // [ξ][ci][co]
    u.withUnsafeMutableBufferPointer { up in
        let u = up.baseAddress!
        var t = [Double](repeating: 0, count: 18)
        for i in 0..<ci {
            for o in 0..<co {
                let g = w.baseAddress! + (o * ci + i) * 9
                for c in 0..<3 {
                    let r = gColumn(Double(g[c]), Double(g[3 + c]), Double(g[6 + c]))
                    t[c] = r.0; t[3 + c] = r.1; t[6 + c] = r.2; t[9 + c] = r.3; t[12 + c] = r.4; t[15 + c] = r.5
                }
                for r in 0..<6 {
                    let v = gColumn(t[r * 3], t[r * 3 + 1], t[r * 3 + 2])
                    let base = u + (r * 6 * ci + i) * co + o
                    let step = ci * co
                    base[0] = Float(v.0); base[step] = Float(v.1); base[2 * step] = Float(v.2)
                    base[3 * step] = Float(v.3); base[4 * step] = Float(v.4); base[5 * step] = Float(v.5)
                }
            }
        }
    }
    return u
}

/// `winogradTransformWeights` for the bf16 GEMM: the same G·g·Gᵀ, rounded to bf16 (nearest even)
/// and packed by `packBBF16` as 36 matrices of `packedBF16BCount(k: ci, n: co)` words each.
public func winogradTransformWeightsBF16(_ w: UnsafeBufferPointer<Float>, inChannels ci: Int, outChannels co: Int,
                                         into dst: UnsafeMutablePointer<UInt32>) {
    let u = winogradTransformedWeights(w, inChannels: ci, outChannels: co)
    let stride = packedBF16BCount(k: ci, n: co)
    u.withUnsafeBufferPointer { p in
        for xi in 0..<36 {
            packBBF16(p.baseAddress! + xi * ci * co, k: ci, n: co, strideK: co, strideN: 1, into: dst + xi * stride)
        }
    }
}

/// Input channels the bf16 panel transform (`winogradInputTransformBF16Panel`) takes at a time:
/// 12 tiles × 36 × 256 floats, 432 KB of scratch, stay in a 1–2 MB L2 (all 2048 channels at once
/// took 3.4 MB).
public let winogradBF16PanelChannels = 256

/// Floats of scratch one `winogradInputTransformBF16Panel` call uses for a conv of `inChannels`.
public func winogradBF16PanelScratchCount(inChannels: Int) -> Int {
    gemmMR * 36 * min(inChannels, winogradBF16PanelChannels)
}
