/// numpy's pairwise summation (`np.add.reduce` on a contiguous array): blocks of up to 128 values
/// summed with 8 interleaved accumulators, larger arrays split in halves (multiples of 8). Every
/// addition is rounded to `T`, so float32 and float64 give numpy's FLOAT and DOUBLE results.
public func pairwiseSum<T: BinaryFloatingPoint>(_ a: ArraySlice<T>) -> T {
    let n = a.count
    let base = a.startIndex
    if n < 8 {
        var s: T = 0
        for x in a { s += x }
        return s
    }
    if n <= 128 {
        var r = [T](a[base..<(base + 8)])
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

/// `pairwiseSum` of `count` values taken in order from `next`, without storing them: the same
/// tree of additions (leaves of up to 128 values, halves at multiples of 8), so the same bits.
public func pairwiseSum(count n: Int, _ next: () -> Double) -> Double {
    if n < 8 {
        var s = 0.0
        for _ in 0..<n { s += next() }
        return s
    }
    if n <= 128 {
        var r0 = next(), r1 = next(), r2 = next(), r3 = next(), r4 = next(), r5 = next(), r6 = next(), r7 = next()
        var i = 8
        while i < n - n % 8 {
            r0 += next(); r1 += next(); r2 += next(); r3 += next(); r4 += next(); r5 += next(); r6 += next(); r7 += next()
            i += 8
        }
        var s = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n { s += next(); i += 1 }
        return s
    }
    var h = n / 2
    h -= h % 8
    let left = pairwiseSum(count: h, next)
    return left + pairwiseSum(count: n - h, next)
}
