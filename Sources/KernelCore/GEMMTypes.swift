// The parts of the GEMM that carry no vector code: tile sizes, epilogue description, weight packing
// (done once at load) and the description of the A operand. Shared by every kernel build.

/// Rows of A (output pixels) per micro-tile.
public let gemmMR = 12
/// Columns of B (output channels) per micro-tile and per packed panel.
public let gemmNR = 32
/// Depth of one K block: an A block of MC×KC floats stays in L1/L2 while it meets every B panel.
public let gemmKC = 384

@inline(__always) public func roundUp(_ x: Int, _ m: Int) -> Int { (x + m - 1) / m * m }

/// Non-linearity applied in a fused epilogue.
public enum Activation: Sendable, Equatable {
    case none
    case relu
    /// Exact (erf) GELU, as `torch.nn.GELU()`.
    case gelu
}

/// What happens to each output value after the product: `out = act(acc + bias[col]) + residual[row, col]`.
public struct Epilogue {
    public var bias: UnsafePointer<Float>?
    public var activation: Activation
    /// Added after the activation; indexed like C, with its own row stride.
    public var residual: UnsafePointer<Float>?
    public var residualStride: Int

    public init(bias: UnsafePointer<Float>? = nil, activation: Activation = .none,
                residual: UnsafePointer<Float>? = nil, residualStride: Int = 0) {
        self.bias = bias
        self.activation = activation
        self.residual = residual
        self.residualStride = residualStride
    }

    /// Whether the epilogue changes anything.
    public var isIdentity: Bool { bias == nil && activation == .none && residual == nil }
}

/// Number of floats a packed K×N matrix occupies.
public func packedBCount(k: Int, n: Int) -> Int { k * roundUp(n, gemmNR) }

/// Packs B, where element (k, n) is `src[k*strideK + n*strideN]`, into `dst` (`packedBCount` floats).
/// Panel p (columns p·NR ..< p·NR+NR) is two halves of 16 columns, each k-major and contiguous:
/// `dst[p·k·NR + h·k·16 + kk·16 + j]` = B(kk, p·NR + h·16 + j). Missing columns are zero. Each half
/// is one sequential stream for the micro-kernels (AVX-512 reads both halves per k, AVX2 one half
/// at a time, which then fills exactly the cache lines it uses).
public func packB(_ src: UnsafePointer<Float>, k: Int, n: Int, strideK: Int, strideN: Int,
                  into dst: UnsafeMutablePointer<Float>) {
    let panels = (n + gemmNR - 1) / gemmNR
    for p in 0..<panels {
        for h in 0..<2 {
            let base = dst + p * k * gemmNR + h * k * 16
            let n0 = p * gemmNR + h * 16
            let cols = max(0, min(16, n - n0))
            for kk in 0..<k {
                let row = base + kk * 16
                for j in 0..<cols { row[j] = src[kk * strideK + (n0 + j) * strideN] }
                for j in cols..<16 { row[j] = 0 }
            }
        }
    }
}

/// Geometry of a dense convolution seen as a GEMM over an NHWC input: row = output pixel
/// (n, oy, ox), column of A = (ky, kx, ci) with ci fastest.
public struct Im2ColGeometry {
    public var batch, height, width, channels: Int
    /// First input channel of this group, and input channels per group.
    public var channelOffset, groupChannels: Int
    public var kernelH, kernelW, strideH, strideW, padTop, padLeft, dilationH, dilationW: Int
    public var outHeight, outWidth: Int

    public init(batch: Int, height: Int, width: Int, channels: Int, channelOffset: Int, groupChannels: Int,
                kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, padTop: Int, padLeft: Int,
                dilationH: Int, dilationW: Int, outHeight: Int, outWidth: Int) {
        self.batch = batch; self.height = height; self.width = width; self.channels = channels
        self.channelOffset = channelOffset; self.groupChannels = groupChannels
        self.kernelH = kernelH; self.kernelW = kernelW; self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padLeft = padLeft; self.dilationH = dilationH; self.dilationW = dilationW
        self.outHeight = outHeight; self.outWidth = outWidth
    }

    public var rows: Int { batch * outHeight * outWidth }
    public var depth: Int { kernelH * kernelW * groupChannels }
}

/// The A operand of a GEMM.
public enum GEMMInput {
    /// Row-major M×K matrix with row stride `ld` (a 1×1 conv over NHWC pixels, a linear layer).
    case rows(UnsafePointer<Float>, ld: Int)
    /// Conv windows gathered from an NHWC tensor.
    case im2col(UnsafePointer<Float>, Im2ColGeometry)
    /// Already packed over the whole depth by `packAPanels`: element (row, kk) at
    /// `p[(row / MR)·K·MR + kk·MR + row % MR]`, rows past M zero. The GEMM reads it in place.
    case packed(UnsafePointer<Float>)
    /// Row-major M×K matrix of bf16 values (row stride `ld` values): activations a bf16 conv left
    /// rounded for the next one (`BF16Activations`). Only the bf16 GEMM reads it.
    case bf16Rows(UnsafePointer<UInt16>, ld: Int)
}

/// Floats `packAPanels` writes for an M × K operand.
public func packedACount(m: Int, k: Int) -> Int { roundUp(m, gemmMR) * k }

/// Floats of scratch one `gemmBlock` call needs for its packed A block of `mc` rows.
public func gemmScratchCount(mc: Int) -> Int { roundUp(mc, gemmMR) * gemmKC }
