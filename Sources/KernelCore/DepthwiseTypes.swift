/// Geometry of a depth-wise convolution over NHWC tensors (one filter per channel).
public struct DepthwiseGeometry {
    public var batch, height, width, channels: Int
    public var kernelH, kernelW, strideH, strideW, padTop, padLeft, dilationH, dilationW: Int
    public var outHeight, outWidth: Int

    public init(batch: Int, height: Int, width: Int, channels: Int, kernelH: Int, kernelW: Int,
                strideH: Int, strideW: Int, padTop: Int, padLeft: Int, dilationH: Int, dilationW: Int,
                outHeight: Int, outWidth: Int) {
        self.batch = batch; self.height = height; self.width = width; self.channels = channels
        self.kernelH = kernelH; self.kernelW = kernelW; self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padLeft = padLeft; self.dilationH = dilationH; self.dilationW = dilationW
        self.outHeight = outHeight; self.outWidth = outWidth
    }
}

/// Tile width for a row of `w` outputs: the one of 16, 14, 8 that wastes the fewest lanes.
public func depthwiseTileWidth(_ w: Int) -> Int {
    [16, 14, 8].min { a, b in
        let wa = (w + a - 1) / a * a - w, wb = (w + b - 1) / b * b - w
        return wa < wb || (wa == wb && a > b)
    }!
}

/// Layout of the channel-blocked, column-padded copy of a depth-wise conv input:
/// `[batch][C/16][H][padLeft + W + padRight + slack][16]`.
public struct BlockedDepthwiseInput {
    public let blocks: Int
    public let rowLength: Int   // padded pixels per row
    public let height: Int
    public let batch: Int

    public init(_ g: DepthwiseGeometry) {
        blocks = (g.channels + 15) / 16
        // The kernels run only taps that reach the map for the first output of a tile, so a tile
        // starting at ox0 reads padded columns up to ox0 + (T − 1) + (W + padLeft − ox0 − 1): a
        // right margin of one tile width (the widest of both builds) covers every read.
        rowLength = g.padLeft + g.width + depthwiseTileWidth(g.outWidth)
        height = g.height
        batch = g.batch
    }

    public var count: Int { batch * blocks * height * rowLength * 16 }
}

/// Blocked weights `[C/16][kH][kW][16]` (zero-filled past the last channel) from tap-major `[kH·kW][C]`.
public func blockDepthwiseWeights(_ w: UnsafePointer<Float>, channels C: Int, taps: Int, into p: UnsafeMutablePointer<Float>) {
    let blocks = (C + 15) / 16
    for cb in 0..<blocks {
        for t in 0..<taps {
            for l in 0..<16 {
                let c = cb * 16 + l
                p[(cb * taps + t) * 16 + l] = c < C ? w[t * C + c] : 0
            }
        }
    }
}
