// The parts of the bf16 depth-wise conv that carry no vector code: its packed weight layout,
// packed once at load. The tiles (Sources/CKernelsBF16/depthwise_bf16.c) take taps in pairs along a
// kernel row through `vdpbf16ps`: per 16-channel block, kernel row and pair of taps, one 64-byte
// vector of pair words, each channel's (w[ky][2kp], w[ky][2kp + 1]).

/// Words (`UInt32`) of the bf16 pair weights of a depth-wise conv: `[⌈C/16⌉][kH][⌈kW/2⌉][16]`.
public func depthwiseBF16WeightCount(channels: Int, kernelH: Int, kernelW: Int) -> Int {
    (channels + 15) / 16 * kernelH * bf16Pairs(kernelW) * 16
}

/// Packs tap-major depth-wise weights (`w[(ky·kW + kx)·C + c]`, as `ConvKernel` keeps them) into
/// bf16 pair words `[⌈C/16⌉][kH][⌈kW/2⌉][16]`, rounded to nearest even: word (cb, ky, kp, l) holds
/// channel cb·16 + l's taps (ky, 2kp) and (ky, 2kp + 1), the first in the low half. An odd kernel
/// width gets a zero second half in the last pair (it meets the pixel right of the window: exact
/// for finite inputs, NaN where that pixel is infinite or NaN); channels past `C` are zero.
public func packDepthwiseBF16Weights(_ w: UnsafePointer<Float>, channels C: Int, kernelH: Int, kernelW: Int,
                                     into dst: UnsafeMutablePointer<UInt32>) {
    let pairs = bf16Pairs(kernelW)
    for cb in 0..<(C + 15) / 16 {
        for ky in 0..<kernelH {
            for kp in 0..<pairs {
                let row = dst + ((cb * kernelH + ky) * pairs + kp) * 16
                for l in 0..<16 {
                    let c = cb * 16 + l
                    if c >= C { row[l] = 0; continue }
                    let kx = 2 * kp
                    let first = w[(ky * kernelW + kx) * C + c]
                    let second: Float = kx + 1 < kernelW ? w[(ky * kernelW + kx + 1) * C + c] : 0
                    row[l] = bf16Pair(first, second)
                }
            }
        }
    }
}

/// The NHWC map a bf16 depth-wise conv reads: float32 (rounded as it is copied), or values a
/// previous bf16 conv left rounded already.
public enum DepthwiseBF16Input {
    case float(UnsafePointer<Float>)
    case bf16(UnsafePointer<UInt16>)
}

/// Where a bf16 depth-wise conv leaves its output: float32, or rounded to bf16 after the bias and
/// activation (for a map that only feeds bf16 1×1 convs).
public enum DepthwiseBF16Output {
    case float(UnsafeMutablePointer<Float>)
    case bf16(UnsafeMutablePointer<UInt16>)
}
