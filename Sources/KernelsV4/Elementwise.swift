#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RepLKKernelCore

// erf on [-4, 4] as x·P(x²)/Q(x²), a rational minimax fit (|error| < 5e-7). Beyond ±4 erf is ±1
// in float32. GELU built on it stays within 2 ulp of torch's exact-erf GELU.
private let erfP: (Float, Float, Float, Float, Float, Float, Float) = (
    -2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
    -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)
private let erfQ: (Float, Float, Float, Float, Float) = (
    -1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
    -1.42647390514189e-02)

// Concrete vector types only: a generic version over `SIMD` is specialised without vectorising the
// compare-and-select, which made it 35× slower on AVX2.
@inline(__always)
func erf16(_ xIn: V16) -> V16 {
    // Explicit compare-and-select: the generic `clamped` is not inlined.
    var x = xIn.replacing(with: 4, where: xIn .> 4)
    x = x.replacing(with: -4, where: x .< -4)
    let x2 = x * x
    var p = V16(repeating: erfP.0)
    p = V16(repeating: erfP.1).addingProduct(p, x2)
    p = V16(repeating: erfP.2).addingProduct(p, x2)
    p = V16(repeating: erfP.3).addingProduct(p, x2)
    p = V16(repeating: erfP.4).addingProduct(p, x2)
    p = V16(repeating: erfP.5).addingProduct(p, x2)
    p = V16(repeating: erfP.6).addingProduct(p, x2)
    p *= x
    var q = V16(repeating: erfQ.0)
    q = V16(repeating: erfQ.1).addingProduct(q, x2)
    q = V16(repeating: erfQ.2).addingProduct(q, x2)
    q = V16(repeating: erfQ.3).addingProduct(q, x2)
    q = V16(repeating: erfQ.4).addingProduct(q, x2)
    return p / q
}

/// Exact-erf GELU, 0.5·x·(1 + erf(x/√2)), on 16 lanes.
@inline(__always)
func gelu16(_ x: V16) -> V16 {
    let e = erf16(x * V16(repeating: 0.70710678118654752))
    return V16(repeating: 0.5) * x * (V16(repeating: 1) + e)
}

/// Exact-erf GELU on 8 lanes (the AVX2 depth-wise tiles; rare enough to run through 16 lanes).
@inline(__always)
func gelu8(_ x: SIMD8<Float>) -> SIMD8<Float> { gelu16(V16(lowHalf: x, highHalf: x)).lowHalf }

/// y[i] = act(x[i]) in place, for `count` values.
package func activate(_ p: UnsafeMutablePointer<Float>, count: Int, _ act: Activation) {
    switch act {
    case .none: return
    case .relu:
        var i = 0
        while i + 16 <= count { let v = load16(p + i); store16(v.replacing(with: 0, where: v .< 0), p + i); i += 16 }
        while i < count { p[i] = max(p[i], 0); i += 1 }
    case .gelu:
        var i = 0
        while i + 16 <= count { store16(gelu16(load16(p + i)), p + i); i += 16 }
        while i < count { p[i] = geluScalar(p[i]); i += 1 }
    }
}

/// Per-channel affine map over `pixels` rows of `channels` values: y = x·scale[c] + shift[c]
/// (an un-folded BatchNorm at inference).
package func channelAffine(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pixels: Int, channels: Int,
                          scale: UnsafePointer<Float>, shift: UnsafePointer<Float>) {
    for p in 0..<pixels {
        let xs = x + p * channels, ys = y + p * channels
        var c = 0
        while c + 16 <= channels {
            store16(load16(xs + c) * load16(scale + c) + load16(shift + c), ys + c)
            c += 16
        }
        while c < channels { ys[c] = xs[c] * scale[c] + shift[c]; c += 1 }
    }
}

/// z = x + y for `count` values.
package func addArrays(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count { store16(load16(x + i) + load16(y + i), z + i); i += 16 }
    while i < count { z[i] = x[i] + y[i]; i += 1 }
}
