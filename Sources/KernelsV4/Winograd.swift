import RepLKKernelCore

// The input and output transforms of Winograd F(4×4, 3×3) (see KernelCore/WinogradTypes.swift),
// eight channels per vector. The 36 GEMMs between them are the engine's.

private typealias W8 = SIMD8<Float>

@inline(__always) private func loadW8(_ p: UnsafePointer<Float>, _ lanes: Int) -> W8 {
    if lanes == 8 { return UnsafeRawPointer(p).loadUnaligned(as: W8.self) }
    var v = W8()
    for l in 0..<lanes { v[l] = p[l] }
    return v
}

@inline(__always) private func storeW8(_ v: W8, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
    if lanes == 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: W8.self); return }
    for l in 0..<lanes { p[l] = v[l] }
}

/// Bᵀ·d for one column of six values.
@inline(__always)
private func inputColumn(_ d0: W8, _ d1: W8, _ d2: W8, _ d3: W8, _ d4: W8, _ d5: W8)
    -> (W8, W8, W8, W8, W8, W8) {
    let four = W8(repeating: 4), five = W8(repeating: 5), two = W8(repeating: 2)
    let r0 = four * d0 - five * d2 + d4
    let r1 = d3 + d4 - four * (d1 + d2)
    let r2 = four * (d1 - d2) + d4 - d3
    let r3 = two * (d3 - d1) + d4 - d2
    let r4 = two * (d1 - d3) + d4 - d2
    let r5 = four * d1 - five * d3 + d5
    return (r0, r1, r2, r3, r4, r5)
}

/// Aᵀ·m for one column of six values.
@inline(__always)
private func outputColumn(_ m0: W8, _ m1: W8, _ m2: W8, _ m3: W8, _ m4: W8, _ m5: W8) -> (W8, W8, W8, W8) {
    let a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4
    return (m0 + a + c, b + W8(repeating: 2) * d, a + W8(repeating: 4) * c, b + W8(repeating: 8) * d + m5)
}

/// V = Bᵀ d B for tiles `t0 ..< t1` of `t`, all input channels: V[ξ][tile − first][ci] at
/// `v + (ξ·count + tile − first)·Cin + ci`, where `first ..< first + count` is the batch of tiles
/// the GEMMs run on (36 row-major `count × Cin` operands). Input outside the map is zero (the
/// conv's padding).
package func winogradInputTransform(_ x: UnsafePointer<Float>, _ t: WinogradTiling, tiles t0: Int, _ t1: Int,
                                   batchFirst first: Int, batchCount count: Int, into v: UnsafeMutablePointer<Float>) {
    winogradInputTransform(x, t, tiles: t0, t1, channels: 0..<t.inChannels, batchFirst: first, batchCount: count,
                           into: v, ld: t.inChannels)
}

/// `winogradInputTransform` of input channels `channels` only: V[ξ][tile − first][ci] at
/// `v + (ξ·count + tile − first)·ld + ci − channels.lowerBound`.
package func winogradInputTransform(_ x: UnsafePointer<Float>, _ t: WinogradTiling, tiles t0: Int, _ t1: Int,
                                   channels: Range<Int>, batchFirst first: Int, batchCount count: Int,
                                   into v: UnsafeMutablePointer<Float>, ld: Int) {
    let C = t.inChannels
    withUnsafeTemporaryAllocation(of: W8.self, capacity: 36) { buf in
        let s = buf.baseAddress!
        for tile in t0..<t1 {
            let (n, oy0, ox0) = t.origin(ofTile: tile)
            let iy0 = oy0 - t.padTop, ix0 = ox0 - t.padLeft
            let inside = iy0 >= 0 && ix0 >= 0 && iy0 + 6 <= t.height && ix0 + 6 <= t.width
            let image = x + n * t.height * t.width * C
            let out = v + (tile - first) * ld - channels.lowerBound
            var c0 = channels.lowerBound
            while c0 < channels.upperBound {
                let lanes = min(8, channels.upperBound - c0)
                @inline(__always) func d(_ i: Int, _ j: Int) -> W8 {
                    let iy = iy0 + i, ix = ix0 + j
                    if !inside && (iy < 0 || iy >= t.height || ix < 0 || ix >= t.width) { return W8() }
                    return loadW8(image + (iy * t.width + ix) * C + c0, lanes)
                }
                // Columns first: s[i·6 + j] = (Bᵀ d)[i][j].
                for j in 0..<6 {
                    let (r0, r1, r2, r3, r4, r5) = inputColumn(d(0, j), d(1, j), d(2, j), d(3, j), d(4, j), d(5, j))
                    s[j] = r0; s[6 + j] = r1; s[12 + j] = r2; s[18 + j] = r3; s[24 + j] = r4; s[30 + j] = r5
                }
                // Then rows: V[i][·] = (Bᵀ d)[i][·] B, one vector store per ξ.
                for i in 0..<6 {
                    let row = s + i * 6
                    let (v0, v1, v2, v3, v4, v5) = inputColumn(row[0], row[1], row[2], row[3], row[4], row[5])
                    let base = out + (i * 6) * count * ld + c0
                    storeW8(v0, base, lanes)
                    storeW8(v1, base + count * ld, lanes)
                    storeW8(v2, base + 2 * count * ld, lanes)
                    storeW8(v3, base + 3 * count * ld, lanes)
                    storeW8(v4, base + 4 * count * ld, lanes)
                    storeW8(v5, base + 5 * count * ld, lanes)
                }
                c0 += 8
            }
        }
    }
}

/// Y = Aᵀ M A for tiles `t0 ..< t1`, where M[ξ][tile − first][co] is at `m + (ξ·count + tile −
/// first)·Cout + co`; writes `act(Y + bias) + residual` to the NHWC output `y` (and its residual,
/// same shape), only the outputs inside the map.
package func winogradOutputTransform(_ m: UnsafePointer<Float>, _ t: WinogradTiling, tiles t0: Int, _ t1: Int,
                                    batchFirst first: Int, batchCount count: Int, bias: UnsafePointer<Float>?,
                                    activation: Activation, residual: UnsafePointer<Float>?,
                                    _ y: UnsafeMutablePointer<Float>) {
    let C = t.outChannels
    withUnsafeTemporaryAllocation(of: W8.self, capacity: 24) { buf in
        let s = buf.baseAddress!
        for tile in t0..<t1 {
            let (n, oy0, ox0) = t.origin(ofTile: tile)
            let rows = min(4, t.outHeight - oy0), cols = min(4, t.outWidth - ox0)
            let src = m + (tile - first) * C
            let image = (n * t.outHeight * t.outWidth) * C
            var c0 = 0
            while c0 < C {
                let lanes = min(8, C - c0)
                @inline(__always) func mv(_ xi: Int) -> W8 { loadW8(src + xi * count * C + c0, lanes) }
                // Columns first: s[i·6 + j] = (Aᵀ M)[i][j].
                for j in 0..<6 {
                    let (r0, r1, r2, r3) = outputColumn(mv(j), mv(6 + j), mv(12 + j), mv(18 + j), mv(24 + j), mv(30 + j))
                    s[j] = r0; s[6 + j] = r1; s[12 + j] = r2; s[18 + j] = r3
                }
                let b = bias.map { loadW8($0 + c0, lanes) } ?? W8()
                for i in 0..<rows {
                    let row = s + i * 6
                    let (y0, y1, y2, y3) = outputColumn(row[0], row[1], row[2], row[3], row[4], row[5])
                    let at = image + ((oy0 + i) * t.outWidth + ox0) * C + c0
                    @inline(__always) func put(_ value: W8, _ j: Int) {
                        var v = value + b
                        switch activation {
                        case .none: break
                        case .relu: v = v.replacing(with: 0, where: v .< 0)
                        case .gelu: v = gelu8(v)
                        }
                        if let residual { v += loadW8(residual + at + j * C, lanes) }
                        storeW8(v, y + at + j * C, lanes)
                    }
                    put(y0, 0)
                    if cols > 1 { put(y1, 1) }
                    if cols > 2 { put(y2, 2) }
                    if cols > 3 { put(y3, 3) }
                }
                c0 += 8
            }
        }
    }
}
