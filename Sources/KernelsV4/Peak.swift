import RepLKKernelCore

#if REPLK_V4 || !arch(x86_64)
/// One native vector: 16 lanes in a zmm register.
typealias PeakVector = SIMD16<Float>
#else
/// One native vector: 8 lanes in a ymm register (12 chains use 12 of the 16).
typealias PeakVector = SIMD8<Float>
#endif

/// A loop of independent FMAs on native vectors (12 chains, enough to cover FMA latency on two
/// ports), for measuring the machine's float32 peak. Returns a value that depends on every chain so
/// the loop is not optimised away.
@inline(never)
package func fmaPeakLoop(iterations: Int, seed: Float) -> Float {
    let m = PeakVector(repeating: 0.999999), a = PeakVector(repeating: 1e-7)
    var c0 = PeakVector(repeating: seed), c1 = c0 + 1, c2 = c0 + 2, c3 = c0 + 3, c4 = c0 + 4, c5 = c0 + 5
    var c6 = c0 + 6, c7 = c0 + 7, c8 = c0 + 8, c9 = c0 + 9, c10 = c0 + 10, c11 = c0 + 11
    for _ in 0..<iterations {
        c0 = a.addingProduct(c0, m); c1 = a.addingProduct(c1, m); c2 = a.addingProduct(c2, m); c3 = a.addingProduct(c3, m)
        c4 = a.addingProduct(c4, m); c5 = a.addingProduct(c5, m); c6 = a.addingProduct(c6, m); c7 = a.addingProduct(c7, m)
        c8 = a.addingProduct(c8, m); c9 = a.addingProduct(c9, m); c10 = a.addingProduct(c10, m); c11 = a.addingProduct(c11, m)
    }
    let s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
    return s.sum()
}

/// FLOPs one iteration of `fmaPeakLoop` performs.
package let fmaPeakFlopsPerIteration = 2 * PeakVector.scalarCount * 12
