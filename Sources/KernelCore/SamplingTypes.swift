#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Source coordinate and weights of one output index of a bilinear resize, as PyTorch's
/// `upsample_bilinear2d` computes them (float32 arithmetic).
public struct LinearTap: Equatable {
    public var i0: Int, i1: Int
    public var w0: Float, w1: Float
}

/// Interpolation taps for resizing `inSize` → `outSize` with PyTorch's `align_corners` rule.
public func bilinearTaps(inSize: Int, outSize: Int, alignCorners: Bool) -> [LinearTap] {
    var taps = [LinearTap]()
    taps.reserveCapacity(outSize)
    let scale: Float
    if alignCorners {
        scale = outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0
    } else {
        scale = Float(inSize) / Float(outSize)
    }
    for d in 0..<outSize {
        let src: Float
        if alignCorners {
            src = scale * Float(d)
        } else {
            src = max(scale * (Float(d) + 0.5) - 0.5, 0)
        }
        let i0 = min(Int(src), inSize - 1)
        let i1 = i0 + (i0 < inSize - 1 ? 1 : 0)
        let l1 = src - Float(i0)
        taps.append(LinearTap(i0: i0, i1: i1, w0: 1 - l1, w1: l1))
    }
    return taps
}

/// Exact-erf GELU on one value (libm erf), for tails shorter than a vector.
@inline(__always)
public func geluScalar(_ x: Float) -> Float {
    0.5 * x * (1 + erff(x * 0.70710678118654752))
}
