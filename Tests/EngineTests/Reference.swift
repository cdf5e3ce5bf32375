import Foundation
import RepLKEngine

/// Deterministic test data (SplitMix64).
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func uniform(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
    mutating func array(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<n).map { _ in uniform(lo, hi) }
    }
}

/// Naive NHWC convolution with a PyTorch-layout OIHW weight: the reference the kernels are checked against.
func referenceConv(_ x: [Float], n: Int, h: Int, w: Int, cin: Int, weight: [Float], bias: [Float]?,
                   cout: Int, kh: Int, kw: Int, stride: (Int, Int), pad: (Int, Int), dilation: (Int, Int),
                   groups: Int) -> (values: [Float], oh: Int, ow: Int) {
    let oh = (h + 2 * pad.0 - dilation.0 * (kh - 1) - 1) / stride.0 + 1
    let ow = (w + 2 * pad.1 - dilation.1 * (kw - 1) - 1) / stride.1 + 1
    let cinG = cin / groups, coutG = cout / groups
    var y = [Float](repeating: 0, count: n * oh * ow * cout)
    for b in 0..<n {
        for oy in 0..<oh {
            for ox in 0..<ow {
                for o in 0..<cout {
                    let g = o / coutG
                    var acc = Double(bias?[o] ?? 0)
                    for ci in 0..<cinG {
                        for ky in 0..<kh {
                            let iy = oy * stride.0 - pad.0 + ky * dilation.0
                            if iy < 0 || iy >= h { continue }
                            for kx in 0..<kw {
                                let ix = ox * stride.1 - pad.1 + kx * dilation.1
                                if ix < 0 || ix >= w { continue }
                                let xv = x[((b * h + iy) * w + ix) * cin + g * cinG + ci]
                                let wv = weight[((o * cinG + ci) * kh + ky) * kw + kx]
                                acc += Double(xv) * Double(wv)
                            }
                        }
                    }
                    y[((b * oh + oy) * ow + ox) * cout + o] = Float(acc)
                }
            }
        }
    }
    return (y, oh, ow)
}

/// `v` after `activation`, as the kernels' epilogues apply it.
func referenceActivation(_ v: Float, _ activation: Activation) -> Float {
    switch activation {
    case .none: return v
    case .relu: return max(v, 0)
    case .gelu: return referenceGELU(v)
    }
}

func referenceGELU(_ x: Float) -> Float { Float(0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))) }

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
    var m: Float = 0
    for (x, y) in zip(a, b) { m = max(m, abs(x - y)); if x.isNaN != y.isNaN { return .infinity } }
    return m
}

import RepLKKernels
import XCTest

/// Runs `body` once with every kernel build this CPU supports (AVX-512 and AVX2 on an AVX-512
/// machine), then restores the default one. Failing assertions name the build.
func forEachKernelVariant(_ body: (KernelVariant) throws -> Void) rethrows {
    let saved = kernelVariant
    defer { if let saved { selectKernelVariant(saved) } }
    let variants = KernelVariant.allCases.filter(\.isSupported)
    XCTAssertFalse(variants.isEmpty, "this CPU runs no kernel build")
    for v in variants {
        selectKernelVariant(v)
        try body(v)
    }
}
