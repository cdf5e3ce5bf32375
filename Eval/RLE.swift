#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A binary mask as COCO run-length encoding: column-major (index = x·h + y) runs that alternate
/// 0s and 1s, starting with 0s. The algorithms follow pycocotools' C mask API exactly (coco-eval.md §7).
public struct RLE: Equatable, Sendable {
    public var height: Int
    public var width: Int
    public var counts: [UInt32]

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

    /// The row-major mask (1 = set).
    public func decode() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: height * width)
        var pos = 0
        var v: UInt8 = 0
        for c in counts {
            if v == 1 {
                for p in pos..<(pos + Int(c)) { out[(p % height) * width + p / height] = 1 }
            }
            pos += Int(c)
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

    /// Tight box [x, y, w, h] (pycocotools ≥ 2.0.7 `toBbox`).
    public var boundingBox: [Double] {
        let m = counts.count & ~1
        if m == 0 { return [0, 0, 0, 0] }
        let h = height
        var xs = width, ys = h, xe = 0, ye = 0
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
        return [Double(xs), Double(ys), Double(xe - xs + 1), Double(ye - ys + 1)]
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
        var counts = [UInt32]()
        let bytes = Array(s.utf8)
        var p = 0
        var total: Int64 = 0
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
            total += x
        }
        guard total == Int64(height) * Int64(width) else { return nil }
        self.init(height: height, width: width, counts: counts)
    }

    // MARK: construction from shapes

    /// Rasterises one polygon ring `[x1, y1, x2, y2, …]` (pycocotools `frPoly`).
    public init(polygon xy: [Double], height h: Int, width w: Int) {
        let k = xy.count / 2
        var x = [Int32](repeating: 0, count: k + 1), y = [Int32](repeating: 0, count: k + 1)
        let scale = 5.0
        for j in 0..<k {
            x[j] = Int32(truncatingIfNeeded: Int64((scale * xy[2 * j] + 0.5).rounded(.towardZero)))
            y[j] = Int32(truncatingIfNeeded: Int64((scale * xy[2 * j + 1] + 0.5).rounded(.towardZero)))
        }
        if k > 0 { x[k] = x[0]; y[k] = y[0] }
        var u = [Int32](), v = [Int32]()
        if k > 0 {
            for j in 0..<k {
                var xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1]
                let dx = abs(Int(xe) - Int(xs)), dy = abs(Int(ys) - Int(ye))
                let flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye)
                if flip { swap(&xs, &xe); swap(&ys, &ye) }
                if dx >= dy {
                    let s = dx == 0 ? 0 : Double(Int(ye) - Int(ys)) / Double(dx)
                    for d in 0...dx {
                        let t = flip ? dx - d : d
                        u.append(Int32(t) + xs)
                        v.append(dx == 0 ? ys : Int32(truncatingIfNeeded: Int64((Double(ys) + s * Double(t) + 0.5).rounded(.towardZero))))
                    }
                } else {
                    let s = Double(Int(xe) - Int(xs)) / Double(dy)
                    for d in 0...dy {
                        let t = flip ? dy - d : d
                        v.append(Int32(t) + ys)
                        u.append(Int32(truncatingIfNeeded: Int64((Double(xs) + s * Double(t) + 0.5).rounded(.towardZero))))
                    }
                }
            }
        }
        // Keep only the points where x changes: each is a boundary crossing in one column.
        var a = [Int]()
        if u.count > 1 {
            for j in 1..<u.count where u[j] != u[j - 1] {
                var xd = Double(u[j] < u[j - 1] ? u[j] : u[j] - 1)
                xd = (xd + 0.5) / scale - 0.5
                if floor(xd) != xd || xd < 0 || xd > Double(w - 1) { continue }
                var yd = Double(v[j] < v[j - 1] ? v[j] : v[j - 1])
                yd = (yd + 0.5) / scale - 0.5
                if yd < 0 { yd = 0 } else if yd > Double(h) { yd = Double(h) }
                yd = ceil(yd)
                a.append(Int(xd) * h + Int(yd))
            }
        }
        a.append(h * w)
        a.sort()
        var prev = 0
        for j in 0..<a.count { let t = a[j]; a[j] -= prev; prev = t }
        var b = [UInt32]()
        var j = 0
        if !a.isEmpty { b.append(UInt32(a[0])); j = 1 }
        while j < a.count {
            if a[j] > 0 {
                b.append(UInt32(a[j])); j += 1
            } else {
                j += 1
                if j < a.count { b[b.count - 1] += UInt32(a[j]); j += 1 }
            }
        }
        self.init(height: h, width: w, counts: b)
    }

    /// A box [x, y, w, h] as a mask (pycocotools `frBbox`: the box polygon through `frPoly`).
    public init(box b: [Double], height: Int, width: Int) {
        let (x0, y0, x1, y1) = (b[0], b[1], b[0] + b[2], b[1] + b[3])
        self.init(polygon: [x0, y0, x0, y1, x1, y1, x1, y0], height: height, width: width)
    }

    /// Union (`intersect: false`) or intersection of masks of one size; an empty 0×0 RLE when sizes differ.
    public static func merge(_ rles: [RLE], intersect: Bool = false) -> RLE {
        guard let first = rles.first else { return RLE(height: 0, width: 0, counts: []) }
        if rles.count == 1 { return first }
        let h = first.height, w = first.width
        var cnts = first.counts
        for r in rles.dropFirst() {
            guard r.height == h && r.width == w else { return RLE(height: 0, width: 0, counts: []) }
            let A = cnts, B = r.counts
            var out = [UInt32]()
            var ca = A.first ?? 0, cb = B.first ?? 0
            var va = false, vb = false, v = false
            var a = 1, b = 1
            var cc: UInt32 = 0
            var ct: UInt32 = 1
            while ct > 0 {
                let c = min(ca, cb)
                cc += c
                ct = 0
                ca -= c
                if ca == 0 && a < A.count { ca = A[a]; a += 1; va.toggle() }
                ct += ca
                cb -= c
                if cb == 0 && b < B.count { cb = B[b]; b += 1; vb.toggle() }
                ct += cb
                let vp = v
                v = intersect ? (va && vb) : (va || vb)
                if v != vp || ct == 0 { out.append(cc); cc = 0 }
            }
            cnts = out
        }
        return RLE(height: h, width: w, counts: cnts)
    }

    /// Pixels set in both masks, for masks of equal size.
    static func intersection(_ d: RLE, _ g: RLE) -> (inter: Int, union: Int) {
        var ca = d.counts.first ?? 0, cb = g.counts.first ?? 0
        var va = false, vb = false
        var a = 1, b = 1
        var i = 0, u = 0
        var ct: UInt32 = 1
        while ct > 0 {
            let c = min(ca, cb)
            if va || vb { u += Int(c); if va && vb { i += Int(c) } }
            ct = 0
            ca -= c
            if ca == 0 && a < d.counts.count { ca = d.counts[a]; a += 1; va.toggle() }
            ct += ca
            cb -= c
            if cb == 0 && b < g.counts.count { cb = g.counts[b]; b += 1; vb.toggle() }
            ct += cb
        }
        return (i, u)
    }
}

/// IoU of boxes [x, y, w, h] as pycocotools' `bbIou` (crowd: the detection's own area as the union).
@inline(__always)
public func boxIoU(_ d: [Double], _ g: [Double], crowd: Bool) -> Double {
    let w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    if w <= 0 { return 0 }
    let h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
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
