#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Input-gradient (backward) kernels of the backbone's ops, over NHWC unsafe buffers. Each is the
// adjoint of a forward op: given ∂L/∂y it writes (or scales in place) ∂L/∂x. No weight gradients.
// The fast paths reuse the forward engine (a 1×1 conv's backward is a 1×1 conv with the transposed
// weight; a stride-1 depth-wise conv's backward is a depth-wise conv with the flipped kernel);
// these free functions cover the rest and are checked against finite differences in the tests.

/// ReLU backward in place: g[i] = 0 where the forward output y[i] ≤ 0 (PyTorch's
/// `threshold_backward(g, y, 0)`: a NaN output passes its gradient, as in PyTorch).
public func reluBackward(_ grad: UnsafeMutablePointer<Float>, output: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count {
        let y = UnsafeRawPointer(output + i).loadUnaligned(as: SIMD16<Float>.self)
        var g = UnsafeRawPointer(grad + i).loadUnaligned(as: SIMD16<Float>.self)
        g.replace(with: 0, where: y .<= 0)
        UnsafeMutableRawPointer(grad + i).storeBytes(of: g, as: SIMD16<Float>.self)
        i += 16
    }
    while i < count {
        if output[i] <= 0 { grad[i] = 0 }
        i += 1
    }
}

/// The ReLU mask of a forward output, one byte per value: 0 where y[i] ≤ 0, else 1 (NaN too, as
/// `threshold_backward`); what the backward keeps instead of the float output, a quarter of the memory.
public func reluMask(_ output: UnsafePointer<Float>, into mask: UnsafeMutablePointer<UInt8>, count: Int) {
    for i in 0..<count { mask[i] = output[i] <= 0 ? 0 : 1 }
}

/// ReLU backward in place from a `reluMask`: g[i] = 0 where mask[i] is 0.
public func reluBackward(_ grad: UnsafeMutablePointer<Float>, mask: UnsafePointer<UInt8>, count: Int) {
    for i in 0..<count { grad[i] = mask[i] != 0 ? grad[i] : 0 }
}

/// e^x for x ≤ 0 on 16 lanes (Cephes expf: x = n·ln2 + r, a degree-5 polynomial in r, 2^n from
/// the exponent bits; n rounded with the 1.5·2²³ trick, so no lane converts to an integer and a
/// NaN lane cannot trap); within 2 ulp of expf, clamped at −87.
@inline(__always)
func expNonPositive16(_ xIn: SIMD16<Float>) -> SIMD16<Float> {
    let x = xIn.replacing(with: -87, where: xIn .< -87)
    let magic: Float = 12582912                                   // 1.5·2²³
    let shifted = x * 1.44269504088896341 + magic
    let n = shifted - magic                                        // round(x·log2 e)
    var r = x - n * 0.693359375
    r = r - n * -2.12194440e-4
    var p = SIMD16<Float>(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let e = p * (r * r) + r + 1
    let nBits = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- Int32(bitPattern: magic.bitPattern)
    let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: SIMD16<Float>.self)
    return e * scale
}

/// Exact-erf GELU backward in place: g[i] ·= Φ(x) + x·φ(x), x the forward input (pre-activation),
/// as PyTorch's `gelu_backward(approximate='none')`. Vectorised: erf by Abramowitz–Stegun 7.1.26
/// (absolute error ≤ 1.5e-7), which shares its e^(−x²/2) with φ; the tail as libm.
public func geluBackward(_ grad: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    let invSqrt2: Float = 0.70710678118654752
    let invSqrt2Pi: Float = 0.39894228040143268
    var i = 0
    while i + 16 <= count {
        let x = UnsafeRawPointer(input + i).loadUnaligned(as: SIMD16<Float>.self)
        var g = UnsafeRawPointer(grad + i).loadUnaligned(as: SIMD16<Float>.self)
        let z = x * invSqrt2
        var a = z
        a.replace(with: -z, where: z .< 0)                   // |z|
        let e = expNonPositive16(-(a * a))                   // e^(−z²) = e^(−x²/2)
        let t = 1 / (1 + 0.3275911 * a)
        var poly = SIMD16<Float>(repeating: 1.061405429)
        poly = poly * t - 1.453152027
        poly = poly * t + 1.421413741
        poly = poly * t - 0.284496736
        poly = poly * t + 0.254829592
        var erfAbs = 1 - poly * t * e
        erfAbs.replace(with: 0, where: a .== 0)
        var erfZ = erfAbs
        erfZ.replace(with: -erfAbs, where: z .< 0)
        let cdf = 0.5 * (1 + erfZ)
        let pdf = e * invSqrt2Pi
        g *= cdf + x * pdf
        UnsafeMutableRawPointer(grad + i).storeBytes(of: g, as: SIMD16<Float>.self)
        i += 16
    }
    while i < count {
        let x = input[i]
        let cdf = 0.5 * (1 + erff(x * invSqrt2))
        let pdf = expf(-0.5 * x * x) * invSqrt2Pi
        grad[i] *= cdf + x * pdf
        i += 1
    }
}

/// Per-channel scale backward in place (an un-folded BatchNorm y = x·scale[c] + shift[c]):
/// g[p, c] ·= scale[c] over `pixels` rows of `channels` values.
public func channelScaleBackward(_ grad: UnsafeMutablePointer<Float>, pixels: Int, channels: Int, scale: UnsafePointer<Float>) {
    for p in 0..<pixels {
        let row = grad + p * channels
        for c in 0..<channels { row[c] *= scale[c] }
    }
}

/// The shape of a 2-D convolution's input and output maps, for the backward kernels.
public struct ConvGeometry: Equatable, Sendable {
    /// The input map.
    public var height: Int, width: Int
    /// The output map.
    public var outHeight: Int, outWidth: Int
    /// Square kernel side, stride and zero padding.
    public var kernel: Int, stride: Int, padding: Int

    /// Output size as PyTorch computes it: ⌊(H + 2p − k) / s⌋ + 1.
    public init(height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
        self.height = height; self.width = width
        self.kernel = kernel; self.stride = stride; self.padding = padding
        outHeight = (height + 2 * padding - kernel) / stride + 1
        outWidth = (width + 2 * padding - kernel) / stride + 1
    }
}

/// Depth-wise conv backward for any kernel size and stride, one image, rows `row0..<row1` of ∂L/∂x:
/// dx[iy, ix, c] = Σ_{ky,kx} w[c, ky, kx] · dy[(iy + p − ky)/s, (ix + p − kx)/s, c] over the taps
/// whose output index is whole and inside the map (correlation with the flipped kernel; kernels
/// larger than the map included). `weight` is (C, k, k); `dx` rows are overwritten.
public func depthwiseConvBackwardInput(_ dy: UnsafePointer<Float>, _ g: ConvGeometry, channels C: Int,
                                       weight: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                       rows row0: Int, _ row1: Int) {
    let k = g.kernel, s = g.stride, p = g.padding
    for iy in row0..<row1 {
        let rowOut = dx + iy * g.width * C
        rowOut.update(repeating: 0, count: g.width * C)
        for ky in 0..<k {
            let ny = iy + p - ky
            guard ny >= 0, ny % s == 0 else { continue }
            let oy = ny / s
            guard oy < g.outHeight else { continue }
            for ix in 0..<g.width {
                let acc = rowOut + ix * C
                for kx in 0..<k {
                    let nx = ix + p - kx
                    guard nx >= 0, nx % s == 0 else { continue }
                    let ox = nx / s
                    guard ox < g.outWidth else { continue }
                    let src = dy + (oy * g.outWidth + ox) * C
                    let tap = ky * k + kx
                    for c in 0..<C { acc[c] += weight[c * k * k + tap] * src[c] }
                }
            }
        }
    }
}

/// The scatter half of a dense conv's backward (col2im), one image, rows `row0..<row1` of ∂L/∂x:
/// `cols` holds, per output pixel, Σ_o W[o, ci, ky, kx]·dy[o] in (ci, ky, kx) order (a GEMM of dy
/// with the transposed weight); each is added to the input pixel that tap read. `dx` (H, W, Cin)
/// rows are overwritten.
public func col2imBackwardInput(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, inChannels cin: Int,
                                _ dx: UnsafeMutablePointer<Float>, rows row0: Int, _ row1: Int) {
    let k = g.kernel, s = g.stride, p = g.padding
    let per = cin * k * k
    for iy in row0..<row1 {
        let rowOut = dx + iy * g.width * cin
        rowOut.update(repeating: 0, count: g.width * cin)
        for ky in 0..<k {
            let ny = iy + p - ky
            guard ny >= 0, ny % s == 0 else { continue }
            let oy = ny / s
            guard oy < g.outHeight else { continue }
            for ix in 0..<g.width {
                let acc = rowOut + ix * cin
                for kx in 0..<k {
                    let nx = ix + p - kx
                    guard nx >= 0, nx % s == 0 else { continue }
                    let ox = nx / s
                    guard ox < g.outWidth else { continue }
                    let src = cols + (oy * g.outWidth + ox) * per
                    for c in 0..<cin { acc[c] += src[(c * k + ky) * k + kx] }
                }
            }
        }
    }
}

/// Transposes a (O, I) matrix (a 1×1 conv's weight) to (I, O): the weight whose 1×1 conv is the
/// backward of the original.
public func transposedWeight(_ w: [Float], out o: Int, in i: Int) -> [Float] {
    precondition(w.count == o * i, "weight has \(w.count) values, expected \(o)×\(i)")
    var t = [Float](repeating: 0, count: w.count)
    for a in 0..<o { for b in 0..<i { t[b * o + a] = w[a * i + b] } }
    return t
}

/// Flips each (k × k) kernel of a depth-wise (C, 1, k, k) weight by 180°: a stride-1 "same"
/// depth-wise conv's backward is the conv with the flipped kernel and the same padding.
public func flippedDepthwiseWeight(_ w: [Float], channels c: Int, kernel k: Int) -> [Float] {
    precondition(w.count == c * k * k, "weight has \(w.count) values, expected \(c)×\(k)×\(k)")
    var f = [Float](repeating: 0, count: w.count)
    for ch in 0..<c {
        for y in 0..<k { for x in 0..<k { f[(ch * k + k - 1 - y) * k + k - 1 - x] = w[(ch * k + y) * k + x] } }
    }
    return f
}

/// A dense (C_out, C_in, k, k) weight as the (C_in·k·k, C_out) matrix whose 1×1 conv over ∂L/∂y
/// gives `col2imBackwardInput`'s columns.
public func columnsWeight(_ w: [Float], out o: Int, in i: Int, kernel k: Int) -> [Float] {
    precondition(w.count == o * i * k * k, "weight has \(w.count) values, expected \(o)×\(i)×\(k)×\(k)")
    return transposedWeight(w, out: o, in: i * k * k)
}
