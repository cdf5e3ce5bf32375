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

extension DepthwiseGeometry {
    /// Whether every output's window spans the whole input row (stride and dilation 1 across,
    /// `padLeft ≥ outWidth − 1` and `padLeft + width ≤ kernelW`): a large kernel on a small map, as
    /// in RepLKNet's last stages (27×27 on 14², 13×13 on 7² at 224). A row of outputs is then the
    /// full correlation of the input row with the kernel row, and the band kernel runs it with the
    /// roles of input and weights swapped, so that it computes no tap that falls in the padding
    /// (the plain tiles compute about three in four of them there).
    public var windowCoversRow: Bool {
        strideW == 1 && dilationW == 1 && padLeft >= outWidth - 1 && padLeft + width <= kernelW
    }

    /// Stride 1 down: the kernel rows whose input row lies in the map for output row `oy` (empty
    /// where the padding is taller than the kernel).
    @inlinable public func kernelRows(outputRow oy: Int) -> Range<Int> {
        let lo = max(0, padTop - oy)
        return lo..<max(lo, min(kernelH, height + padTop - oy))
    }

    /// Stride 1 across: the taps that land in the map for at least one of the `valid` outputs of a
    /// tile starting at output column `ox0`.
    @inlinable public func tileTaps(from ox0: Int, valid: Int) -> Range<Int> {
        let lo = max(0, padLeft - (ox0 + valid - 1))
        return lo..<max(lo, min(kernelW, width + padLeft - ox0))
    }

    /// The input pixels inside the map for a tile starting at output `ox0`, counted in padded
    /// columns from the tile's first (the range the AVX-512 tiles read; the rest they skip).
    @inlinable public func tileInputs(from ox0: Int) -> Range<Int> {
        (padLeft - ox0)..<(padLeft + width - ox0)
    }

    /// Padded pixels of one row of the bands' and strips' blocked scratch: `padLeft` pixels, the
    /// row, and a right margin. The kernels run only taps that reach the map for the first
    /// output of a tile, so a tile starting at ox0 addresses padded columns up to
    /// ox0 + (T − 1) + (W + padLeft − ox0 − 1): a margin of one tile width (the widest of both
    /// builds) covers every read. The AVX2 tiles read the columns outside the row, which are
    /// zero; the AVX-512 tiles skip them, and they are never written.
    public var scratchRowLength: Int { padLeft + width + depthwiseTileWidth(outWidth) }
}

/// Tile width for a row of `w` outputs: the one of 16, 14, 8 that wastes the fewest lanes.
public func depthwiseTileWidth(_ w: Int) -> Int {
    [16, 14, 8].min { a, b in
        let wa = (w + a - 1) / a * a - w, wb = (w + b - 1) / b * b - w
        return wa < wb || (wa == wb && a > b)
    }!
}

/// How a stride-1 depth-wise conv is split into tasks, and the scratch each task needs.
///
/// A task is one band of output rows of one 16-channel block of one image. It copies the input
/// rows the band reads into its own scratch, blocked `[row][padLeft + W + margin][16]` (the AVX2
/// build: two such planes of 8 lanes, with zero columns either side), just before the first output
/// row that needs each of them, so the copy is read back from cache instead of making a second
/// pass over memory.
public struct DepthwiseBands {
    public let blocks: Int
    /// Output rows per band (the last band may have fewer).
    public let bandRows: Int
    public let bandsPerPlane: Int
    /// Padded pixels per scratch row.
    public let rowLength: Int
    /// Input rows a band reads at most.
    public let inputRows: Int
    /// Taps of the kernel (kH · kW).
    public let kernelTaps: Int
    /// Whether the band hints the next input and output rows into the caches: only where a
    /// block's pixels are at least 1 KB apart (256 channels or more). Nearer together the hardware
    /// prefetchers follow them, and the hints only cost (7×7 stacks on one thread: 16 and 64
    /// channels about 10 % slower with them; 384 channels, 2 threads, 25 % faster).
    public let prefetchesRows: Bool

    /// Bands of about `bandRows` output rows (at least 1, at most the map).
    public init(_ g: DepthwiseGeometry, bandRows requested: Int) {
        blocks = (g.channels + 15) / 16
        let per = min(max(1, requested), g.outHeight)
        bandsPerPlane = (g.outHeight + per - 1) / per
        bandRows = (g.outHeight + bandsPerPlane - 1) / bandsPerPlane
        rowLength = g.scratchRowLength
        inputRows = min(g.height, bandRows + g.kernelH - 1)
        kernelTaps = g.kernelH * g.kernelW
        prefetchesRows = g.channels >= 256
    }

    /// Bands chosen so that `threads` threads get at least `tasksPerThread` tasks each, where the
    /// map allows; one band per plane when there are planes enough (no input row copied twice).
    public init(_ g: DepthwiseGeometry, threads: Int, tasksPerThread: Int = 4) {
        let planes = g.batch * ((g.channels + 15) / 16)
        let want = max(1, threads * tasksPerThread)
        let bands = planes >= want ? 1 : (want + planes - 1) / planes
        self.init(g, bandRows: (g.outHeight + bands - 1) / bands)
    }

    /// Tasks: batch × blocks × bands, numbered ((n·blocks + cb)·bandsPerPlane + band).
    public func taskCount(batch: Int) -> Int { batch * blocks * bandsPerPlane }

    /// Floats of one task's copied input rows (16 lanes per pixel, in whatever arrangement the
    /// kernel build uses).
    public var inputScratchCount: Int { inputRows * rowLength * 16 }

    /// Floats of scratch one task needs: its input rows, then room for one channel block's weights
    /// (the AVX2 build rearranges them into 8-lane halves there; the mirrored band of
    /// `DepthwiseGeometry.windowCoversRow` copies them there, followed by 16 zero pixels that its
    /// tiles read past the last kernel row for outputs they do not store).
    public var scratchCount: Int { inputScratchCount + (kernelTaps + 16) * 16 }
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

/// How a stride-1 depth-wise conv is split into strips: a task is one band of output rows of one
/// group of 16-channel blocks of one image, taken row by row with every block of the group, so
/// that it reads each input row once, `groupBlocks · 64` bytes at a time from each pixel (all of
/// the row when the group holds every block), where a band of one block reads one 64-byte line
/// every `C · 4` bytes. Its scratch holds, for each block of the group, a ring of the last
/// `ringRows` input rows in the channel-blocked, column-padded layout of `DepthwiseBands`.
///
/// This is the better split where the blocks' planes do not stay in L2 (384 channels at 64² on two
/// threads: the per-block bands then wait on one cache miss per pixel and are memory-bound at
/// small kernels).
public struct DepthwiseStrips {
    public let blocks: Int
    public let groupBlocks: Int
    public let groups: Int
    /// Output rows per band (the last band may have fewer).
    public let bandRows: Int
    public let bandsPerPlane: Int
    /// Padded pixels per scratch row.
    public let rowLength: Int
    /// Input rows each block's ring holds: as many as one output row reads.
    public let ringRows: Int
    /// Outputs per tile (see `depthwiseTileWidth`).
    public let tileWidth: Int

    /// Strips of `groupBlocks` blocks and bands of about `bandRows` output rows.
    public init(_ g: DepthwiseGeometry, bandRows requested: Int, groupBlocks requestedBlocks: Int) {
        blocks = (g.channels + 15) / 16
        groupBlocks = min(max(1, requestedBlocks), blocks)
        groups = (blocks + groupBlocks - 1) / groupBlocks
        let per = min(max(1, requested), g.outHeight)
        bandsPerPlane = (g.outHeight + per - 1) / per
        bandRows = (g.outHeight + bandsPerPlane - 1) / bandsPerPlane
        tileWidth = depthwiseTileWidth(g.outWidth)
        rowLength = g.scratchRowLength
        ringRows = min(g.kernelH, g.height)
    }

    /// Groups as large as `ringBudget` bytes of rings allow, and bands so that `threads` threads
    /// get about two tasks each (each band copies `kernelH − 1` rows more than it computes).
    public init(_ g: DepthwiseGeometry, threads: Int, ringBudget: Int = 768 << 10) {
        let blocks = (g.channels + 15) / 16
        let perBlock = min(g.kernelH, g.height) * g.scratchRowLength * 64
        // As few groups as the budget allows, the blocks spread evenly over them.
        let most = max(1, min(blocks, ringBudget / perBlock))
        let groups = (blocks + most - 1) / most
        let groupBlocks = (blocks + groups - 1) / groups
        let want = max(1, 2 * threads)
        let bands = g.batch * groups >= want ? 1 : (want + g.batch * groups - 1) / (g.batch * groups)
        self.init(g, bandRows: (g.outHeight + bands - 1) / bands, groupBlocks: groupBlocks)
    }

    /// Tasks: batch × bands × groups, numbered ((n·bandsPerPlane + band)·groups + group).
    public func taskCount(batch: Int) -> Int { batch * bandsPerPlane * groups }

    /// Floats of one task's rings.
    public var ringCount: Int { groupBlocks * ringRows * rowLength * 16 }

    /// Floats of scratch one task needs: its rings and the group's bias (16 lanes per block).
    public var scratchCount: Int { ringCount + groupBlocks * 16 }

    /// Whether strips beat per-block bands for `g` on `threads` threads: stride 1, no window
    /// covering a whole row (those have their own band kernel), and a map larger than `mapBytes`
    /// per thread. Below that each thread's blocks stay in its core's L2 from one layer to the
    /// next (the bands run affine: a thread gets the same blocks in every layer) and the bands'
    /// strided reads cost little; the strips copy more. The engine asks only on CPUs where strips
    /// were measured to pay (`depthwiseStripsPreferred`: Intel).
    public static func suit(_ g: DepthwiseGeometry, threads: Int, mapBytes: Int = 1 << 20) -> Bool {
        g.strideH == 1 && g.strideW == 1 && g.dilationH == 1 && g.dilationW == 1 && !g.windowCoversRow
            && g.height * g.width * g.channels * 4 > mapBytes * max(1, threads)
    }
}

/// How a stride-1 depth-wise conv with a large kernel runs as 2-D FFTs (overlap-save over tiles of
/// 64 × 64): a task is one pair of 16-channel blocks of one image (the first block as the real
/// part, the second as the imaginary part of one complex transform, one channel per lane) and a
/// band of its tiles. Each tile's output is the tile's `tileHeight × tileWidth` outputs, the
/// correlation lags of a 64 × 64 window of the input that need no wrap-around.
public struct DepthwiseFFT {
    /// Points of each transform, in both directions.
    public static let size = 64
    /// Floats of one complex point: 16 lanes of real parts, then 16 of imaginary parts.
    public static let pointFloats = 32
    /// Floats between rows of the tasks' buffers: 65 points, so that the points of one column are
    /// not all 8 KB apart (one L1 set).
    public static let rowFloats = 65 * 32

    public let blocks: Int
    /// Pairs of channel blocks (the last one may have only its first block).
    public let pairs: Int
    /// Outputs of a tile down and across (the last tiles may have fewer).
    public let tileHeight: Int, tileWidth: Int
    public let tilesDown: Int, tilesAcross: Int
    /// Tile rows per band, and bands per plane.
    public let bandTiles: Int
    public let bandsPerPlane: Int
    /// Rows of the data buffer: the input rows a tile reads or the outputs it writes, whichever is more.
    public let dataRows: Int
    public let kernelH: Int

    /// Nil where the FFT cannot run `g`: stride or dilation other than 1, or a kernel too large
    /// for 64-point transforms to leave a tile of at least 8 × 8 outputs.
    public init?(_ g: DepthwiseGeometry, bandTiles requested: Int) {
        let n = DepthwiseFFT.size
        guard g.strideH == 1, g.strideW == 1, g.dilationH == 1, g.dilationW == 1,
              g.kernelH <= n - 7, g.kernelW <= n - 7, g.outHeight > 0, g.outWidth > 0 else { return nil }
        blocks = (g.channels + 15) / 16
        pairs = (blocks + 1) / 2
        tileHeight = min(g.outHeight, n - g.kernelH + 1)
        tileWidth = min(g.outWidth, n - g.kernelW + 1)
        tilesDown = (g.outHeight + tileHeight - 1) / tileHeight
        tilesAcross = (g.outWidth + tileWidth - 1) / tileWidth
        let per = min(max(1, requested), tilesDown)
        bandsPerPlane = (tilesDown + per - 1) / per
        bandTiles = (tilesDown + bandsPerPlane - 1) / bandsPerPlane
        dataRows = max(tileHeight, min(n, g.height))
        kernelH = g.kernelH
    }

    /// Bands so that `threads` threads get at least two tasks each where the tiles allow.
    public init?(_ g: DepthwiseGeometry, threads: Int) {
        guard let whole = DepthwiseFFT(g, bandTiles: Int.max) else { return nil }
        let planes = g.batch * whole.pairs
        let want = 2 * max(1, threads)
        let bands = planes >= want ? 1 : (want + planes - 1) / planes
        self.init(g, bandTiles: (whole.tilesDown + bands - 1) / bands)
    }

    /// Tasks: batch × pairs × bands, numbered ((n·pairs + pair)·bandsPerPlane + band).
    public func taskCount(batch: Int) -> Int { batch * pairs * bandsPerPlane }

    /// Floats of one task's scratch: the kernel's row transforms, the tile's data rows, and four
    /// columns (two of data, two of kernel).
    public var scratchCount: Int {
        (kernelH + dataRows) * DepthwiseFFT.rowFloats + 4 * DepthwiseFFT.size * DepthwiseFFT.pointFloats
    }

    /// Direct MACs (one channel, one tap) that cost as much as one 64-point transform of 16
    /// complex lanes, and how much cheaper the transforms must come out to be chosen. Measured on one
    /// thread of an AMD Zen 4 (AVX-512), 24-layer stacks of 384 channels: the direct tiles ran
    /// 19–20 ps per useful MAC and a tile of the FFT about 0.45–0.55 µs per transform. With these
    /// the estimate put the FFT's gain at 0.74× (7×7 … 13×13 on 64²), 1.02× (17×17 on 32²), 2.05×
    /// (27×27 on 32²) and 2.46× (31×31 on 32²), where the stacks ran 0.73×, 1.11×, 2.09× and 2.5×.
    public static let macsPerTransform = 25_600.0
    public static let margin = 1.3

    /// Whether the FFT is expected to beat the direct tiles on `g` by `margin`: the direct cost
    /// is the useful MACs of a pair of blocks (only taps inside the map); the FFT's, per tile, the
    /// row transforms of its input rows in the map and of its output rows, three column transforms
    /// of every column (data, kernel, inverse), and per task the kernel's row transforms.
    public static func pays(_ g: DepthwiseGeometry) -> Bool {
        guard let plan = DepthwiseFFT(g, bandTiles: Int.max), !g.windowCoversRow else { return false }
        func valid(_ out: Int, _ size: Int, _ pad: Int, _ k: Int) -> Int {
            (0..<out).reduce(0) { $0 + max(0, min(size, $1 - pad + k) - max(0, $1 - pad)) }
        }
        let direct = 32 * Double(valid(g.outHeight, g.height, g.padTop, g.kernelH))
            * Double(valid(g.outWidth, g.width, g.padLeft, g.kernelW))
        var transforms = Double(g.kernelH)
        for tr in 0..<plan.tilesDown {
            let oy0 = tr * plan.tileHeight, iy0 = oy0 - g.padTop
            let inRows = max(0, min(size, g.height - iy0) - max(0, -iy0))
            let outRows = min(plan.tileHeight, g.outHeight - oy0)
            transforms += Double(plan.tilesAcross * (inRows + outRows + 3 * size))
        }
        return direct > margin * macsPerTransform * transforms
    }
}
