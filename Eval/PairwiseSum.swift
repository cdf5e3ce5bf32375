/// numpy's pairwise summation (`np.add.reduce` on a contiguous float64 array): blocks of up to 128
/// values summed with 8 interleaved accumulators, larger arrays split in halves (multiples of 8).
public func pairwiseSum(_ a: ArraySlice<Double>) -> Double {
    let n = a.count
    let base = a.startIndex
    if n < 8 {
        var s = 0.0
        for x in a { s += x }
        return s
    }
    if n <= 128 {
        var r = [Double](a[base..<(base + 8)])
        var i = 8
        while i < n - n % 8 {
            for j in 0..<8 { r[j] += a[base + i + j] }
            i += 8
        }
        var s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n { s += a[base + i]; i += 1 }
        return s
    }
    var h = n / 2
    h -= h % 8
    return pairwiseSum(a[base..<(base + h)]) + pairwiseSum(a[(base + h)...])
}

/// The same scheme in float32 (numpy's FLOAT pairwise sum: every addition rounded to float32).
public func pairwiseSum(_ a: ArraySlice<Float>) -> Float {
    let n = a.count
    let base = a.startIndex
    if n < 8 {
        var s: Float = 0
        for x in a { s += x }
        return s
    }
    if n <= 128 {
        var r = [Float](a[base..<(base + 8)])
        var i = 8
        while i < n - n % 8 {
            for j in 0..<8 { r[j] += a[base + i + j] }
            i += 8
        }
        var s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n { s += a[base + i]; i += 1 }
        return s
    }
    var h = n / 2
    h -= h % 8
    return pairwiseSum(a[base..<(base + h)]) + pairwiseSum(a[(base + h)...])
}

/// numpy `mean` of a float64 array: (0 + pairwise sum) / n.
public func numpyMean(_ a: [Double]) -> Double {
    (0.0 + pairwiseSum(a[...])) / Double(a.count)
}
