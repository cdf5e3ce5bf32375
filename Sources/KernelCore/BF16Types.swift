// The parts of the bf16 GEMM that carry no vector code: the precision setting, the rounding (the
// same as the hardware's, for packing weights at load and for tests on every CPU) and the packed
// weight layout `vdpbf16ps` reads.

/// The arithmetic the heavy layers run in.
public enum Precision: String, CaseIterable, Sendable {
    /// float32 everywhere: the reference digits.
    case fp32
    /// bfloat16 operands with float32 accumulation for the 1×1 and dense convs, the linear layers
    /// and the depth-wise convs (AVX512_BF16 CPUs only); everything else stays float32.
    case bf16
}

/// The bf16 bit pattern nearest to `x` (round to nearest, ties to even), as `vcvtne2ps2bf16`
/// rounds: a denormal input reads as zero (keeping its sign), a NaN stays a (quiet) NaN, and a
/// value past the largest finite bf16 rounds to infinity.
@inline(__always)
public func bf16Bits(_ x: Float) -> UInt16 {
    let b = x.bitPattern
    if x.isNaN { return UInt16(truncatingIfNeeded: b >> 16) | 0x0040 }
    if b & 0x7F80_0000 == 0 { return UInt16(truncatingIfNeeded: (b & 0x8000_0000) >> 16) }
    let rounded = b &+ 0x7FFF &+ ((b >> 16) & 1)
    return UInt16(truncatingIfNeeded: rounded >> 16)
}

/// The float32 value of a bf16 bit pattern (exact).
@inline(__always)
public func bf16Value(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

/// `x` rounded to bf16 and back (`bf16Value(bf16Bits(x))`).
@inline(__always)
public func bf16Rounded(_ x: Float) -> Float { bf16Value(bf16Bits(x)) }

/// Two bf16 values of consecutive depth in one word, the first in the low half.
@inline(__always)
public func bf16Pair(_ first: Float, _ second: Float) -> UInt32 {
    UInt32(bf16Bits(first)) | UInt32(bf16Bits(second)) << 16
}

/// Pairs of depth a bf16 operand of depth `k` holds (an odd last depth is paired with zero).
@inline(__always) public func bf16Pairs(_ k: Int) -> Int { (k + 1) / 2 }

/// Words (`UInt32`) a bf16-packed K×N matrix occupies.
public func packedBF16BCount(k: Int, n: Int) -> Int { bf16Pairs(k) * roundUp(n, gemmNR) }

/// Packs B, where element (k, n) is `src[k*strideK + n*strideN]`, rounded to bf16, into `dst`
/// (`packedBF16BCount` words), the layout of `packB` with pairs of depth in place of single values:
/// `dst[p·P·NR + h·P·16 + kp·16 + j]` holds B(2kp, n) and B(2kp+1, n), n = p·NR + h·16 + j,
/// P = ⌈k/2⌉. Missing columns and the depth past `k` are zero.
public func packBBF16(_ src: UnsafePointer<Float>, k: Int, n: Int, strideK: Int, strideN: Int,
                      into dst: UnsafeMutablePointer<UInt32>) {
    let pairs = bf16Pairs(k)
    let panels = (n + gemmNR - 1) / gemmNR
    for p in 0..<panels {
        for h in 0..<2 {
            let base = dst + p * pairs * gemmNR + h * pairs * 16
            let n0 = p * gemmNR + h * 16
            let cols = max(0, min(16, n - n0))
            for kp in 0..<pairs {
                let row = base + kp * 16
                let k0 = 2 * kp
                for j in 0..<cols {
                    let first = src[k0 * strideK + (n0 + j) * strideN]
                    let second: Float = k0 + 1 < k ? src[(k0 + 1) * strideK + (n0 + j) * strideN] : 0
                    row[j] = bf16Pair(first, second)
                }
                for j in cols..<16 { row[j] = 0 }
            }
        }
    }
}

/// Words `packAPanelsBF16` writes for an M × K operand.
public func packedBF16ACount(m: Int, k: Int) -> Int { roundUp(m, gemmMR) * bf16Pairs(k) }

/// Floats of scratch one `gemmBlockBF16` call needs: its bf16 A block of `mc` rows, and one
/// float32 micro-panel it is gathered through.
public func gemmBF16ScratchCount(mc: Int) -> Int { roundUp(mc, gemmMR) * gemmKC / 2 + gemmMR * gemmKC }
