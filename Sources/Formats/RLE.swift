#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A binary mask as COCO run-length encoding: column-major (index = x·h + y) runs that alternate
/// 0s and 1s, starting with 0s. The algorithms follow pycocotools' C mask API exactly (coco-eval.md §7).
public struct RLE: Equatable, Sendable {
    /// Mask height in pixels (rows).
    public var height: Int
    /// Mask width in pixels (columns).
    public var width: Int
    /// Run lengths in column-major order, alternately 0s and 1s, starting with 0s (a mask whose first
    /// pixel is set starts with a 0-length run).
    public var counts: [UInt32]

    /// An RLE from uncompressed counts, as given (not checked to cover `height × width` pixels).
    public init(height: Int, width: Int, counts: [UInt32]) {
        self.height = height; self.width = width; self.counts = counts
    }

    /// Encodes a row-major mask (non-zero = set) of `height × width`.
    public init(mask: [UInt8], height: Int, width: Int) {
        precondition(mask.count == height * width, "mask size mismatch")
        self.height = height; self.width = width
        var counts = [UInt32]()
        var prev: UInt8 = 0
        var run: UInt32 = 0
        for x in 0..<width {
            for y in 0..<height {
                let v: UInt8 = mask[y * width + x] != 0 ? 1 : 0
                if v != prev { counts.append(run); run = 0; prev = v }
                run += 1
            }
        }
        counts.append(run)
        self.counts = counts
    }

    /// The row-major mask (1 = set). Allocates height × width bytes; runs beyond them are ignored.
    public func decode() -> [UInt8] {
        let (n, overflow) = height.multipliedReportingOverflow(by: width)
        guard height > 0, width > 0, !overflow else { return [] }
        var out = [UInt8](repeating: 0, count: n)
        var pos = 0
        var v: UInt8 = 0
        for c in counts {
            let end = min(n, pos + Int(c))
            if v == 1 && pos < end {
                for p in pos..<end { out[(p % height) * width + p / height] = 1 }
            }
            pos = end
            v ^= 1
        }
        return out
    }

    /// Number of set pixels.
    public var area: Int {
        var a = 0
        var i = 1
        while i < counts.count { a += Int(counts[i]); i += 2 }
        return a
    }

    /// Tight box [x, y, w, h] (pycocotools ≥ 2.0.7 `toBbox`). A mask whose runs are all empty
    /// (counts such as `[n, 0]`, which only a file can hold) keeps the start values, and its width
    /// and height wrap as pycocotools' `uint` arithmetic does: `[w, h, 2³²+1−w, 2³²+1−h]`.
    public var boundingBox: [Double] {
        let m = counts.count & ~1
        if m == 0 { return [0, 0, 0, 0] }
        // A zero-height mask has only empty runs (they add up to h·w = 0); none is divided by h.
        let h = max(height, 1)
        var xs = width, ys = height, xe = 0, ye = 0
        var cc = 0
        var j = 0
        while j < m {
            cc += Int(counts[j])
            let t = cc
            cc += Int(counts[j + 1])
            if counts[j + 1] == 0 { j += 2; continue }
            let s = t, e = cc - 1
            let xS = s / h, yS = s % h, xE = e / h, yE = e % h
            if xS < xs { xs = xS }
            if xE > xe { xe = xE }
            if xS < xE {
                ys = 0; ye = h - 1
            } else {
                if yS < ys { ys = yS }
                if yE > ye { ye = yE }
            }
            j += 2
        }
        return [Double(xs), Double(ys),
                Double(UInt32(truncatingIfNeeded: xe - xs + 1)), Double(UInt32(truncatingIfNeeded: ye - ys + 1))]
    }

    // MARK: compressed strings

    /// pycocotools' compressed `counts` string (6 bits per char, deltas from index 3 on).
    public var compressedString: String {
        var bytes = [UInt8]()
        for i in 0..<counts.count {
            var x = Int64(counts[i])
            if i > 2 { x -= Int64(counts[i - 2]) }
            var more = true
            while more {
                var c = UInt8(truncatingIfNeeded: x & 0x1f)
                x >>= 5
                more = (c & 0x10) != 0 ? x != -1 : x != 0
                if more { c |= 0x20 }
                bytes.append(c + 48)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes a compressed `counts` string; nil when it is malformed or its runs do not add up to h·w.
    public init?(compressed s: String, height: Int, width: Int) {
        var s = s
        guard let r = s.withUTF8({ RLE(compressedCounts: $0, height: height, width: width) }) else { return nil }
        self = r
    }

    /// Decodes the bytes of a compressed `counts` string (pycocotools `rleFrString`, coco-eval.md §7.2);
    /// nil when a byte is outside '0'...'o', a value runs past 12 characters or the end, a count leaves
    /// 0...2^32−1, the size is negative, or the runs do not add up to height × width.
    public init?(compressedCounts bytes: UnsafeBufferPointer<UInt8>, height: Int, width: Int) {
        guard height >= 0, width >= 0 else { return nil }
        let (pixels, overflow) = height.multipliedReportingOverflow(by: width)
        guard !overflow else { return nil }
        var counts = [UInt32]()
        var p = 0
        var total = 0
        while p < bytes.count {
            var x: Int64 = 0
            var k: Int64 = 0
            var more = true
            while more {
                guard p < bytes.count else { return nil }
                let c = Int64(bytes[p]) - 48
                guard c >= 0 && c < 64 else { return nil }
                x |= (c & 0x1f) << (5 * k)
                more = (c & 0x20) != 0
                p += 1
                k += 1
                if !more && (c & 0x10) != 0 { x |= -1 << (5 * k) }
                guard k < 13 else { return nil }
            }
            if counts.count > 2 { x += Int64(counts[counts.count - 2]) }
            guard x >= 0 && x <= Int64(UInt32.max) else { return nil }
            counts.append(UInt32(x))
            total += Int(x)
            // More pixels than the size holds: stop before reading (and storing) the rest.
            guard total <= pixels else { return nil }
        }
        guard total == pixels else { return nil }
        self.init(height: height, width: width, counts: counts)
    }

    // MARK: construction from shapes

    /// Masks up to this many pixels are rasterised, merged and compared exactly as pycocotools does:
    /// its C code holds pixel positions in 32-bit `int`s (`x·h + y` in `rleFrPoly`) and sums runs in
    /// 32-bit `uint`s, so larger masks overflow there and its numbers mean nothing.
    public static let maxPixels = Int(Int32.max)

    /// At most this many column-boundary crossings are kept for one segmentation (all its rings), so
    /// that a polygon cannot make rasterising allocate more than ~128 MB.
    public static let maxCrossings = 1 << 25

    /// Rasterises one polygon ring `[x1, y1, x2, y2, …]` (pycocotools `frPoly`).
    ///
    /// Traps on input that `RLE.polygon(_:height:width:)` refuses; use that for data from files.
    public init(polygon xy: [Double], height h: Int, width w: Int) {
        do { self = try RLE.polygon(xy, height: h, width: w) } catch { preconditionFailure("\(error)") }
    }

    /// A box [x, y, w, h] as a mask (pycocotools `frBbox`: the box polygon through `frPoly`).
    ///
    /// Traps on input that `RLE.box(_:height:width:)` refuses; use that for data from files.
    public init(box b: [Double], height: Int, width: Int) {
        do { self = try RLE.box(b, height: height, width: width) } catch { preconditionFailure("\(error)") }
    }

    /// Rasterises one polygon ring `[x1, y1, x2, y2, …]` exactly as pycocotools' `rleFrPoly` does
    /// (coco-eval.md §7.3), including coordinates far outside the image, without its per-point arrays:
    /// only the boundary crossings that land in the image are generated. Throws where pycocotools' C
    /// code is undefined (a coordinate whose `(int)(5·x + 0.5)` overflows, NaN or ±inf; an edge longer
    /// than an `int`) or would use unbounded memory (`maxCrossings`), and for masks above `maxPixels`.
    public static func polygon(_ xy: [Double], height h: Int, width w: Int) throws -> RLE {
        var budget = maxCrossings
        return try rasterize(xy, height: h, width: w, budget: &budget)
    }

    /// The rings of one polygon segmentation, rasterised and OR-merged (what pycocotools' `annToRLE`
    /// does); `maxCrossings` bounds all rings together.
    public static func polygons(_ rings: [[Double]], height h: Int, width w: Int) throws -> RLE {
        var budget = maxCrossings
        return merge(try rings.map { try rasterize($0, height: h, width: w, budget: &budget) })
    }

    /// A box [x, y, w, h] as a mask (pycocotools `frBbox`), with `polygon`'s checks.
    public static func box(_ b: [Double], height: Int, width: Int) throws -> RLE {
        guard b.count == 4 else { throw MaskError.box(count: b.count) }
        let (x0, y0, x1, y1) = (b[0], b[1], b[0] + b[2], b[1] + b[3])
        return try polygon([x0, y0, x0, y1, x1, y1, x1, y0], height: height, width: width)
    }

    /// Throws unless a mask of `h × w` is within `maxPixels`.
    public static func checkSize(height h: Int, width w: Int) throws {
        let (n, overflow) = h.multipliedReportingOverflow(by: w)
        guard h >= 0, w >= 0, !overflow, n <= maxPixels else { throw MaskError.size(height: h, width: w) }
    }

    /// C's `(int)d` where C defines it (the truncated value fits an `int`); nil for NaN, ±inf and overflow.
    @inline(__always) static func cInt(_ d: Double) -> Int32? {
        let t = d.rounded(.towardZero)
        return t >= -2147483648.0 && t <= 2147483647.0 ? Int32(t) : nil
    }

    /// One edge of an upsampled ring as `rleFrPoly` walks it: after its flip, points t = 0...length,
    /// emitted in the order t = length...0 when flipped.
    private struct Edge {
        var xs: Int32, ys: Int32, xe: Int32, ye: Int32
        var dx: Int, dy: Int
        var flip: Bool
        var s: Double

        var shallow: Bool { dx >= dy }
        var length: Int { shallow ? dx : dy }

        init(_ x0: Int32, _ y0: Int32, _ x1: Int32, _ y1: Int32) {
            xs = x0; ys = y0; xe = x1; ye = y1
            dx = abs(Int(xe) - Int(xs)); dy = abs(Int(ys) - Int(ye))
            flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye)
            if flip { swap(&xs, &xe); swap(&ys, &ye) }
            s = dx >= dy ? Double(Int(ye) - Int(ys)) / Double(dx) : Double(Int(xe) - Int(xs)) / Double(dy)
        }

        /// The point at parameter t: `u = t + xs, v = (int)(ys + s·t + .5)` or the transpose. The
        /// casts stay within `int` (the values lie between the edge's ends); a zero-length edge has
        /// s = 0/0 and x86 turns `(int)NaN` into INT_MIN.
        func point(_ t: Int) -> (u: Int32, v: Int32) {
            if shallow {
                let v = dx == 0 ? Int32.min : RLE.cInt(Double(ys) + s * Double(t) + 0.5) ?? Int32.min
                return (Int32(truncatingIfNeeded: t + Int(xs)), v)
            }
            return (RLE.cInt(Double(xs) + s * Double(t) + 0.5) ?? Int32.min, Int32(truncatingIfNeeded: t + Int(ys)))
        }

        /// Points in emission order.
        var first: (u: Int32, v: Int32) { point(flip ? length : 0) }
        var last: (u: Int32, v: Int32) { point(flip ? 0 : length) }

        /// The consecutive pair (t, t + 1) as (previous, current) in emission order.
        func pair(_ t: Int) -> (prev: (u: Int32, v: Int32), cur: (u: Int32, v: Int32)) {
            flip ? (point(t + 1), point(t)) : (point(t), point(t + 1))
        }
    }

    private static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
    private static func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }

    /// The columns c (x = 5c + 2 in upsampled units, 0 ≤ c < w) whose crossing lies in [lo, hi − 1].
    private static func columns(_ lo: Int, _ hi: Int, width w: Int) -> ClosedRange<Int>? {
        let cLo = max(0, ceilDiv(lo - 2, 5)), cHi = min(w - 1, floorDiv(hi - 1 - 2, 5))
        return cLo <= cHi ? cLo...cHi : nil
    }

    private static func rasterize(_ xy: [Double], height h: Int, width w: Int, budget: inout Int) throws -> RLE {
        try checkSize(height: h, width: w)
        guard h > 0, w > 0 else { throw MaskError.size(height: h, width: w) }
        let k = xy.count / 2
        var x = [Int32](repeating: 0, count: k + 1), y = [Int32](repeating: 0, count: k + 1)
        for j in 0..<k {
            guard let X = cInt(5 * xy[2 * j] + 0.5) else { throw MaskError.coordinate(xy[2 * j]) }
            guard let Y = cInt(5 * xy[2 * j + 1] + 0.5) else { throw MaskError.coordinate(xy[2 * j + 1]) }
            x[j] = X; y[j] = Y
        }
        if k > 0 { x[k] = x[0]; y[k] = y[0] }
        var edges = [Edge]()
        edges.reserveCapacity(k)
        for j in 0..<k {
            // C subtracts the ends as ints; past Int32 that is undefined (and its point arrays huge).
            guard abs(Int(x[j + 1]) - Int(x[j])) <= Int(Int32.max), abs(Int(y[j + 1]) - Int(y[j])) <= Int(Int32.max) else {
                throw MaskError.edgeTooLong(from: [xy[2 * j], xy[2 * j + 1]], to: [xy[(2 * j + 2) % (2 * k)], xy[(2 * j + 3) % (2 * k)]])
            }
            edges.append(Edge(x[j], y[j], x[j + 1], y[j + 1]))
        }
        // Count the crossings first (one per edge joint, at most one per image column per edge),
        // so that memory is bounded before anything is generated.
        var ranges = [ClosedRange<Int>?]()
        ranges.reserveCapacity(k)
        var needed = max(0, k - 1)
        for e in edges {
            var r: ClosedRange<Int>?
            if e.shallow {
                if e.dx > 0 { r = columns(Int(e.xs), Int(e.xs) + e.dx, width: w) }
            } else {
                let u0 = Int(e.point(0).u), u1 = Int(e.point(e.dy).u)
                if u0 != u1 { r = columns(min(u0, u1), max(u0, u1), width: w) }
            }
            ranges.append(r)
            needed += r?.count ?? 0
        }
        guard needed <= budget else { throw MaskError.tooManyCrossings(limit: maxCrossings) }
        budget -= needed

        var a = [UInt32]()
        a.reserveCapacity(needed + 1)
        func record(_ prev: (u: Int32, v: Int32), _ cur: (u: Int32, v: Int32)) {
            guard cur.u != prev.u else { return }
            var xd = Double(cur.u < prev.u ? cur.u : cur.u - 1)
            xd = (xd + 0.5) / 5 - 0.5
            if floor(xd) != xd || xd < 0 || xd > Double(w - 1) { return }
            var yd = Double(cur.v < prev.v ? cur.v : prev.v)
            yd = (yd + 0.5) / 5 - 0.5
            if yd < 0 { yd = 0 } else if yd > Double(h) { yd = Double(h) }
            yd = ceil(yd)
            a.append(UInt32(Int(xd) * h + Int(yd)))
        }
        for (j, e) in edges.enumerated() {
            if j > 0 { record(edges[j - 1].last, e.first) }
            guard let cols = ranges[j] else { continue }
            if e.shallow {
                // u = xs + t steps by one: the pair (t, t + 1) crosses at xs + t.
                for c in cols { let p = e.pair(5 * c + 2 - Int(e.xs)); record(p.prev, p.cur) }
            } else {
                // u(t) is monotone (each floating-point step is); find the pair that crosses 5c + 2.
                let rising = e.point(e.dy).u > e.point(0).u
                var previous = -1
                for c in cols {
                    let x = Int32(5 * c + 2)
                    var lo = 1, hi = e.dy
                    while lo < hi {
                        let mid = (lo + hi) / 2
                        let u = e.point(mid).u
                        if rising ? u > x : u <= x { hi = mid } else { lo = mid + 1 }
                    }
                    let t = lo - 1
                    if t == previous { continue }
                    previous = t
                    let p = e.pair(t)
                    record(p.prev, p.cur)
                }
            }
        }
        a.append(UInt32(h * w))
        a.sort()
        var prev: UInt32 = 0
        for j in 0..<a.count { let t = a[j]; a[j] -= prev; prev = t }
        // Two crossings at one position cancel: the zero run and the next merge into the last.
        var b = [UInt32]()
        b.reserveCapacity(a.count)
        b.append(a[0])
        var j = 1
        while j < a.count {
            if a[j] > 0 {
                b.append(a[j]); j += 1
            } else {
                j += 1
                if j < a.count { b[b.count - 1] += a[j]; j += 1 }
            }
        }
        return RLE(height: h, width: w, counts: b)
    }

    /// Union (`intersect: false`) or intersection of masks of one size; an empty 0×0 RLE when sizes differ.
    /// pycocotools' `rleMerge`, in wide integers (a run longer than 2^32 − 1, possible only above
    /// `maxPixels`, is split by a zero-length run of the other value).
    public static func merge(_ rles: [RLE], intersect: Bool = false) -> RLE {
        guard let first = rles.first else { return RLE(height: 0, width: 0, counts: []) }
        if rles.count == 1 { return first }
        let h = first.height, w = first.width
        var cnts = first.counts
        for r in rles.dropFirst() {
            guard r.height == h && r.width == w else { return RLE(height: 0, width: 0, counts: []) }
            let A = cnts, B = r.counts
            var out = [UInt32]()
            var ca = Int(A.first ?? 0), cb = Int(B.first ?? 0)
            var va = false, vb = false, v = false
            var a = 1, b = 1
            var cc = 0
            var ct = 1
            while ct > 0 {
                let c = min(ca, cb)
                cc += c
                ct = 0
                ca -= c
                if ca == 0 && a < A.count { ca = Int(A[a]); a += 1; va.toggle() }
                ct += ca
                cb -= c
                if cb == 0 && b < B.count { cb = Int(B[b]); b += 1; vb.toggle() }
                ct += cb
                let vp = v
                v = intersect ? (va && vb) : (va || vb)
                if v != vp || ct == 0 {
                    while cc > Int(UInt32.max) { out.append(UInt32.max); out.append(0); cc -= Int(UInt32.max) }
                    out.append(UInt32(cc)); cc = 0
                }
            }
            cnts = out
        }
        return RLE(height: h, width: w, counts: cnts)
    }

    /// Pixels set in both masks, for masks of equal size.
    static func intersection(_ d: RLE, _ g: RLE) -> (inter: Int, union: Int) {
        var ca = Int(d.counts.first ?? 0), cb = Int(g.counts.first ?? 0)
        var va = false, vb = false
        var a = 1, b = 1
        var i = 0, u = 0
        var ct = 1
        while ct > 0 {
            let c = min(ca, cb)
            if va || vb { u += c; if va && vb { i += c } }
            ct = 0
            ca -= c
            if ca == 0 && a < d.counts.count { ca = Int(d.counts[a]); a += 1; va.toggle() }
            ct += ca
            cb -= c
            if cb == 0 && b < g.counts.count { cb = Int(g.counts[b]); b += 1; vb.toggle() }
            ct += cb
        }
        return (i, u)
    }
}

/// Why a segmentation cannot be made into a mask the way pycocotools makes it.
public enum MaskError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A polygon coordinate x whose `(int)(5·x + 0.5)` is undefined in C: NaN, ±inf or |x| ≳ 4.29e8.
    case coordinate(Double)
    /// Consecutive vertices further apart than pycocotools' `int` arithmetic holds (upsampled by 5).
    case edgeTooLong(from: [Double], to: [Double])
    /// A mask size that is negative or above `RLE.maxPixels` (or zero, for a polygon's image).
    case size(height: Int, width: Int)
    /// A polygon whose outline would cross more than `RLE.maxCrossings` pixel-column boundaries.
    case tooManyCrossings(limit: Int)
    /// A box that is not [x, y, w, h].
    case box(count: Int)

    /// A one-line message for the user, naming the limit where there is one.
    public var description: String {
        switch self {
        case let .coordinate(x):
            return "polygon coordinate \(x) cannot be rasterised (pycocotools casts 5·x + 0.5 to a 32-bit int: x must be finite and within ±429496729)"
        case let .edgeTooLong(from, to):
            return "polygon edge from \(from) to \(to) is too long for pycocotools' 32-bit arithmetic"
        case let .size(h, w):
            return "mask size \(h)×\(w) is not between 1 and \(RLE.maxPixels) pixels (pycocotools' 32-bit mask arithmetic)"
        case let .tooManyCrossings(limit):
            return "polygon outline crosses more than \(limit) pixel-column boundaries inside the image"
        case let .box(n):
            return "box has \(n) numbers, not 4"
        }
    }
}

/// IoU of boxes [x, y, w, h] as pycocotools' `bbIou` (crowd: the detection's own area as the union).
/// C's `fmin`/`fmax` pass over a NaN (Swift's `min`/`max` would return it), so boxes with NaN
/// coordinates overlap as they do there.
@inline(__always)
public func boxIoU(_ d: [Double], _ g: [Double], crowd: Bool) -> Double {
    let w = Double.minimum(d[2] + d[0], g[2] + g[0]) - Double.maximum(d[0], g[0])
    if w <= 0 { return 0 }
    let h = Double.minimum(d[3] + d[1], g[3] + g[1]) - Double.maximum(d[1], g[1])
    if h <= 0 { return 0 }
    let i = w * h
    let da = d[2] * d[3]
    let u = crowd ? da : (da + g[2] * g[3]) - i
    return i / u
}

/// IoU of masks as pycocotools' `rleIou`: box prefilter, −1 for different sizes.
public func maskIoU(_ d: RLE, dBox: [Double], _ g: RLE, gBox: [Double], crowd: Bool) -> Double {
    if boxIoU(dBox, gBox, crowd: crowd) <= 0 { return 0 }
    if d.height != g.height || d.width != g.width { return -1 }
    let (i, u) = RLE.intersection(d, g)
    if i == 0 { return 0 }
    return Double(i) / Double(crowd ? d.area : u)
}
