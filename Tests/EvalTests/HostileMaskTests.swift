import Foundation
import XCTest
import RepLKEval

/// Polygons, boxes and RLEs with huge or non-finite numbers: pycocotools' number where its C code
/// gives one, a clear error where that code is undefined, and bounded memory either way.
final class HostileMaskTests: XCTestCase {
    /// pycocotools' `rleFrPoly` transcribed with its per-point arrays (the rasteriser before it
    /// learned to skip points): the reference for polygons small enough to walk point by point.
    func denseFrPoly(_ xy: [Double], h: Int, w: Int) -> [UInt32] {
        let k = xy.count / 2
        var x = [Int32](repeating: 0, count: k + 1), y = [Int32](repeating: 0, count: k + 1)
        for j in 0..<k {
            x[j] = Int32(Int64((5 * xy[2 * j] + 0.5).rounded(.towardZero)))
            y[j] = Int32(Int64((5 * xy[2 * j + 1] + 0.5).rounded(.towardZero)))
        }
        if k > 0 { x[k] = x[0]; y[k] = y[0] }
        var u = [Int32](), v = [Int32]()
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
                    v.append(dx == 0 ? ys : Int32(Int64((Double(ys) + s * Double(t) + 0.5).rounded(.towardZero))))
                }
            } else {
                let s = Double(Int(xe) - Int(xs)) / Double(dy)
                for d in 0...dy {
                    let t = flip ? dy - d : d
                    v.append(Int32(t) + ys)
                    u.append(Int32(Int64((Double(xs) + s * Double(t) + 0.5).rounded(.towardZero))))
                }
            }
        }
        var a = [Int]()
        if u.count > 1 {
            for j in 1..<u.count where u[j] != u[j - 1] {
                var xd = Double(u[j] < u[j - 1] ? u[j] : u[j] - 1)
                xd = (xd + 0.5) / 5 - 0.5
                if floor(xd) != xd || xd < 0 || xd > Double(w - 1) { continue }
                var yd = Double(v[j] < v[j - 1] ? v[j] : v[j - 1])
                yd = (yd + 0.5) / 5 - 0.5
                if yd < 0 { yd = 0 } else if yd > Double(h) { yd = Double(h) }
                yd = ceil(yd)
                a.append(Int(xd) * h + Int(yd))
            }
        }
        a.append(h * w)
        a.sort()
        var prev = 0
        for j in 0..<a.count { let t = a[j]; a[j] -= prev; prev = t }
        var b = [UInt32(a[0])]
        var j = 1
        while j < a.count {
            if a[j] > 0 { b.append(UInt32(a[j])); j += 1 } else { j += 1; if j < a.count { b[b.count - 1] += UInt32(a[j]); j += 1 } }
        }
        return b
    }

    func testPolygonRasterisationEqualsThePointByPointWalkOnRandomRings() throws {
        var g = LCG(seed: 20251207)
        for n in 0..<3000 {
            let h = 1 + Int(g.next() % 40), w = 1 + Int(g.next() % 40)
            let points = 1 + Int(g.next() % 7)
            // Mostly around the image, some far outside it, some negative, some repeated vertices.
            let spread = [1.2, 3.0, 60.0][n % 3]
            var xy = [Double]()
            for p in 0..<points {
                if p > 0 && g.next() % 8 == 0 { xy += [xy[xy.count - 2], xy[xy.count - 1]]; continue }
                xy.append((g.unit() * spread - (spread - 1) / 2) * Double(w))
                xy.append((g.unit() * spread - (spread - 1) / 2) * Double(h))
            }
            if n % 5 == 0 { xy = xy.map { ($0 * 2).rounded() / 2 } }   // coordinates on the 0.5 grid: ties everywhere
            let got = try RLE.polygon(xy, height: h, width: w)
            XCTAssertEqual(got.counts, denseFrPoly(xy, h: h, w: w), "case \(n): \(xy) in \(h)×\(w)")
        }
    }

    func testPolygonFarOutsideTheImageIsClippedAsPycocotoolsDoes() throws {
        // The same square to 1e5 (walkable point by point) and to 4e8, where the walk was 2·10⁹
        // points per edge (16 GB): both cover the whole image.
        for r in [1e5, 4e8] {
            let square = [-10, -10, r, -10, r, r, -10, r]
            let start = Date()
            let m = try RLE.polygon(square, height: 480, width: 640)
            XCTAssertLessThan(Date().timeIntervalSince(start), 1)
            XCTAssertEqual(m.area, 480 * 640)
            if r == 1e5 { XCTAssertEqual(m.counts, denseFrPoly(square, h: 480, w: 640)) }
        }
        // A thin sliver from far left to far right through row 10..<12, and one ending inside.
        let sliver = [-2e8, 10, 2e8, 10, 2e8, 12, -2e8, 12]
        XCTAssertEqual(try RLE.polygon(sliver, height: 30, width: 20).area, 2 * 20)
        let inside = [-1e5, 10.0, 7, 10, 7, 12, -1e5, 12]
        XCTAssertEqual(try RLE.polygon(inside, height: 30, width: 20).counts, denseFrPoly(inside, h: 30, w: 20))
        XCTAssertEqual(try RLE.box([-10, -10, 4e8, 4e8], height: 48, width: 64).area, 48 * 64)
    }

    func testNonFiniteAndOverflowingCoordinatesAreErrors() {
        // Int64(Double) of these trapped; pycocotools' (int) cast of them is undefined in C.
        for bad in [Double.nan, .infinity, -.infinity, 1e300, -1e300, 429_496_730, -429_496_730] {
            func isBad(_ e: Error) -> Bool {
                if case let .coordinate(x)? = e as? MaskError { return x.bitPattern == bad.bitPattern }
                return false
            }
            XCTAssertThrowsError(try RLE.polygon([0, 0, bad, 0, 5, 5], height: 10, width: 10)) {
                XCTAssertTrue(isBad($0), "\($0)")
                XCTAssertTrue("\($0)".hasPrefix("polygon coordinate \(bad) cannot be rasterised"), "\($0)")
            }
            XCTAssertThrowsError(try RLE.box([0, 0, bad, 10], height: 10, width: 10)) { XCTAssertTrue(isBad($0), "\($0)") }
        }
        // The largest coordinates C still casts, but whose difference overflows an int.
        XCTAssertThrowsError(try RLE.polygon([-4e8, 0, 4e8, 0, 0, 5], height: 10, width: 10)) {
            XCTAssertEqual($0 as? MaskError, .edgeTooLong(from: [-4e8, 0], to: [4e8, 0]))
        }
        XCTAssertThrowsError(try RLE.box([0, 0, 10], height: 10, width: 10)) { XCTAssertEqual($0 as? MaskError, .box(count: 3)) }
    }

    func testHugeMaskSizesAreErrorsNotOverflows() {
        // h·w overflowed Int (a trap) or pycocotools' 32-bit positions.
        for (h, w) in [(1 << 40, 1 << 40), (50_000, 50_000), (-1, 10), (0, 10)] {
            XCTAssertThrowsError(try RLE.polygon([0, 0, 5, 0, 5, 5], height: h, width: w)) {
                XCTAssertEqual($0 as? MaskError, .size(height: h, width: w))
            }
        }
        XCTAssertNoThrow(try RLE.polygon([0, 0, 5, 0, 5, 5], height: 1, width: Int(Int32.max)))
        XCTAssertNil(RLE(compressed: "", height: 1 << 40, width: 1 << 40))
        XCTAssertNil(RLE(compressed: "0", height: -1, width: -1))
    }

    func testCrossingsAreBoundedBeforeAllocating() {
        // One edge across a 1 × 2^31−1 image crosses 4·10⁸ columns: pycocotools would allocate
        // 2·10⁹ points (16 GB) and we would keep 4·10⁸ positions; refused before either.
        XCTAssertThrowsError(try RLE.polygon([0, 0, 4e8, 0, 4e8, 1], height: 1, width: Int(Int32.max))) {
            XCTAssertEqual($0 as? MaskError, .tooManyCrossings(limit: RLE.maxCrossings))
            XCTAssertEqual("\($0)", "polygon outline crosses more than 33554432 pixel-column boundaries inside the image")
        }
        // The budget covers all rings of one segmentation.
        let ring = [0, 0, 1e7, 0, 1e7, 0.5]
        XCTAssertNoThrow(try RLE.polygons([ring], height: 1, width: 40_000_000))
        XCTAssertThrowsError(try RLE.polygons([ring, ring], height: 1, width: 40_000_000))
    }

    func testRunLengthsOutsideUInt32AreRejected() {
        // 2^32 as one compressed value: pycocotools' (uint) cast would wrap it to 0.
        var big = [UInt8]()
        var x: Int64 = 1 << 32
        repeat {
            var c = UInt8(x & 0x1f); x >>= 5
            let more = (c & 0x10) != 0 ? x != -1 : x != 0
            if more { c |= 0x20 }
            big.append(c + 48)
            if !more { break }
        } while true
        XCTAssertNil(big.withUnsafeBufferPointer { RLE(compressedCounts: $0, height: 1 << 16, width: 1 << 16) })
        // A 13-character value, a byte outside '0'...'o', a value cut off.
        XCTAssertNil(RLE(compressed: String(repeating: "o", count: 12) + "0", height: 1, width: 1))
        XCTAssertNil(RLE(compressed: "p", height: 1, width: 1))
        XCTAssertNil(RLE(compressed: "`", height: 1, width: 1))
    }

    func testMergeAndIoUOfMasksAboveTwoToThe32PixelsDoNotTrap() {
        // 70000² pixels in runs that fit UInt32; adding two of them overflowed UInt32 (a trap).
        let a = RLE(height: 70_000, width: 70_000, counts: [0, 2_450_000_000, 2_450_000_000])
        let b = RLE(height: 70_000, width: 70_000, counts: [2_450_000_000, 2_450_000_000])
        XCTAssertEqual(maskIoU(a, dBox: [0, 0, 70_000, 70_000], b, gBox: [0, 0, 70_000, 70_000], crowd: false), 0)
        // Runs longer than 2^32 − 1 are split by a zero-length run of the other value.
        let union = RLE.merge([a, b])
        XCTAssertEqual(union.counts, [0, UInt32.max, 0, 605_032_705])
        XCTAssertEqual(union.area, 70_000 * 70_000)
        XCTAssertEqual(RLE.merge([a, b], intersect: true).counts, [UInt32.max, 0, 605_032_705])
    }

    func testBoxIoUPassesOverNaNLikeCsFminAndFmax() {
        // bbIou's fmin(NaN + 10, 10) is 10 and fmax(NaN, 0) is 0: a full overlap, IoU 1. Swift's
        // min/max returned the NaN, and a NaN IoU "matches" every threshold in pycocotools' loop.
        XCTAssertEqual(boxIoU([.nan, 0, 10, 10], [0, 0, 10, 10], crowd: false), 1)
        XCTAssertEqual(boxIoU([0, 0, 10, 10], [.nan, 0, 10, 10], crowd: false), 1)
        XCTAssertTrue(boxIoU([0, 0, .nan, 10], [0, 0, 10, 10], crowd: false).isNaN)   // NaN area: NaN there too
    }
}

/// A small deterministic generator for randomised cases.
struct LCG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 33
    }
    mutating func unit() -> Double { Double(next() % 1_000_000) / 1_000_000 }
}
