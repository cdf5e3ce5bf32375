import Foundation
import XCTest
import RepLKERF
import RepLKEngine
import RepLKLayers

/// Each backward kernel against central finite differences of a float64 reference forward, on odd
/// shapes: the loss is Σ r ⊙ f(x) for a random r, so ∂L/∂x is the backward of r.
final class GradientKernelTests: XCTestCase {
    struct Rng {
        var state: UInt64
        mutating func next() -> Float {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
        mutating func array(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in scale * next() } }
    }

    /// A conv (padding k/2) + BN + activation in float64, NHWC, PyTorch semantics.
    struct Reference {
        var weight: [Float], bias: [Float]?
        var out: Int, cin: Int, k: Int, stride: Int, groups: Int
        var bn: BatchNorm?, pre: BatchNorm?
        var act: GradActivation

        func callAsFunction(_ x: [Double], n: Int, h: Int, w: Int) -> (y: [Double], oh: Int, ow: Int) {
            let p = k / 2
            let oh = (h + 2 * p - k) / stride + 1, ow = (w + 2 * p - k) / stride + 1
            var xin = x
            if let pre {
                for i in 0..<xin.count {
                    let c = i % cin
                    xin[i] = (xin[i] - Double(pre.runningMean[c])) / (Double(pre.runningVar[c]) + Double(pre.eps)).squareRoot()
                        * Double(pre.weight[c]) + Double(pre.bias[c])
                }
            }
            let cinPerGroup = cin / groups, outPerGroup = out / groups
            var y = [Double](repeating: 0, count: n * oh * ow * out)
            for b in 0..<n {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        for o in 0..<out {
                            let g = o / outPerGroup
                            var s = Double(bias?[o] ?? 0)
                            for ci in 0..<cinPerGroup {
                                for ky in 0..<k {
                                    for kx in 0..<k {
                                        let iy = oy * stride - p + ky, ix = ox * stride - p + kx
                                        guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                        let c = g * cinPerGroup + ci
                                        s += Double(weight[((o * cinPerGroup + ci) * k + ky) * k + kx]) * xin[((b * h + iy) * w + ix) * cin + c]
                                    }
                                }
                            }
                            if let bn {
                                s = (s - Double(bn.runningMean[o])) / (Double(bn.runningVar[o]) + Double(bn.eps)).squareRoot()
                                    * Double(bn.weight[o]) + Double(bn.bias[o])
                            }
                            switch act {
                            case .none: break
                            case .relu: s = max(s, 0)
                            case .gelu: s = 0.5 * s * (1 + erf(s / 2.0.squareRoot()))
                            }
                            y[((b * oh + oy) * ow + ox) * out + o] = s
                        }
                    }
                }
            }
            return (y, oh, ow)
        }
    }

    func randomBN(_ c: Int, _ rng: inout Rng) -> BatchNorm {
        BatchNorm(weight: rng.array(c).map { 1 + 0.5 * $0 }, bias: rng.array(c, scale: 0.2),
                  runningMean: rng.array(c, scale: 0.1), runningVar: rng.array(c).map { 1 + 0.5 * $0 })
    }

    /// Builds the conv both ways (BN folded and separate), and checks each backward against finite
    /// differences: max |analytic − numeric| ≤ 2e-5 · max |numeric|.
    func check(n: Int = 1, h: Int, w: Int, cin: Int, out: Int, k: Int, stride: Int = 1, depthwise: Bool,
               act: GradActivation, prenorm: Bool = false, seed: UInt64, line: UInt = #line) {
        var rng = Rng(state: seed)
        let groups = depthwise ? cin : 1
        let weight = rng.array(out * (cin / groups) * k * k, scale: (3 / Float((cin / groups) * k * k)).squareRoot())
        let bn = randomBN(out, &rng)
        let pre = prenorm ? randomBN(cin, &rng) : nil
        let x = rng.array(n * h * w * cin)
        let ref = Reference(weight: weight, bias: nil, out: out, cin: cin, k: k, stride: stride, groups: groups, bn: bn, pre: pre, act: act)
        let (_, oh, ow) = ref(x.map(Double.init), n: n, h: h, w: w)
        let r = rng.array(n * oh * ow * out)
        // Numeric gradient of Σ r·f(x) in float64.
        var numeric = [Double](repeating: 0, count: x.count)
        let eps = 1e-6
        for i in 0..<x.count {
            var xp = x.map(Double.init), xm = xp
            xp[i] += eps; xm[i] -= eps
            let lp = zip(ref(xp, n: n, h: h, w: w).y, r).reduce(0.0) { $0 + $1.0 * Double($1.1) }
            let lm = zip(ref(xm, n: n, h: h, w: w).y, r).reduce(0.0) { $0 + $1.0 * Double($1.1) }
            numeric[i] = (lp - lm) / (2 * eps)
        }
        let scale = numeric.map { abs($0) }.max()!
        XCTAssertGreaterThan(scale, 0, line: line)
        for fold in [true, false] where !(prenorm && !fold) {
            let conv = GradConv(weight: weight, out: out, in: cin, k: k, stride: stride, groups: groups, bn: bn, fold: fold,
                                inputAffine: pre, activation: act)
            let (y, saved) = conv.forward(Tensor(shape: [n, h, w, cin], values: x))
            XCTAssertEqual(y.shape, [n, oh, ow, out], line: line)
            let g = conv.backward(Tensor(shape: y.shape, values: r), saved)
            XCTAssertEqual(g.shape, [n, h, w, cin], line: line)
            let err = zip(g.scalars, numeric).map { abs(Double($0) - $1) }.max()!
            XCTAssertLessThanOrEqual(err, 2e-5 * scale, "fold \(fold): max error \(err), max gradient \(scale)", line: line)
        }
    }

    func testStridedDepthwiseBackwardMatchesFiniteDifferences() {
        check(n: 2, h: 7, w: 5, cin: 3, out: 3, k: 3, stride: 2, depthwise: true, act: .relu, seed: 1)
        check(h: 9, w: 6, cin: 5, out: 5, k: 5, stride: 2, depthwise: true, act: .none, seed: 2)
        check(h: 3, w: 5, cin: 2, out: 2, k: 7, stride: 2, depthwise: true, act: .none, seed: 3)   // kernel larger than the map
    }

    func testStride1DepthwiseBackwardIsTheFlippedKernelConv() {
        check(h: 5, w: 3, cin: 5, out: 5, k: 7, depthwise: true, act: .none, seed: 4)   // kernel larger than the map
        check(h: 9, w: 7, cin: 3, out: 3, k: 31, depthwise: true, act: .relu, seed: 5)  // 31×31 on a 9×7 map
        check(h: 11, w: 13, cin: 17, out: 17, k: 5, depthwise: true, act: .relu, seed: 6) // channel tail
    }

    func testDenseStride2StemBackwardMatchesFiniteDifferences() {
        check(n: 2, h: 9, w: 7, cin: 3, out: 5, k: 3, stride: 2, depthwise: false, act: .relu, seed: 7)
        check(h: 6, w: 5, cin: 2, out: 3, k: 3, stride: 1, depthwise: false, act: .none, seed: 8)
    }

    func testPointwiseBackwardIsTheTransposedGEMM() {
        check(h: 3, w: 5, cin: 7, out: 5, k: 1, depthwise: false, act: .gelu, seed: 9)
        check(h: 5, w: 3, cin: 9, out: 13, k: 1, depthwise: false, act: .relu, prenorm: true, seed: 10)   // pre-norm folded in
        check(h: 1, w: 1, cin: 33, out: 19, k: 1, depthwise: false, act: .none, seed: 11)
    }

    func testReluAndExactGeluBackwardMatchFiniteDifferences() {
        var rng = Rng(state: 12)
        let x = rng.array(301, scale: 4)
        var g = [Float](repeating: 1, count: x.count)
        geluBackward(&g, input: x, count: x.count)
        for (xi, gi) in zip(x, g) {
            let f = { (v: Double) in 0.5 * v * (1 + erf(v / 2.0.squareRoot())) }
            let numeric = (f(Double(xi) + 1e-6) - f(Double(xi) - 1e-6)) / 2e-6
            XCTAssertEqual(Double(gi), numeric, accuracy: 2e-6, "x = \(xi)")
        }
        // Far tails, zero and NaN inside a vector: 0, 1, ½ and NaN, no trap.
        var edge: [Float] = [-100, 100, 0, .nan] + [Float](repeating: 1, count: 12)
        var ge = [Float](repeating: 1, count: 16)
        geluBackward(&ge, input: edge, count: 16)
        XCTAssertEqual(ge[0], 0, accuracy: 1e-30)
        XCTAssertEqual(Array(ge[1..<3]), [1, 0.5])
        XCTAssertTrue(ge[3].isNaN)
        edge[3] = 1
        let y = x.map { max($0, 0) }
        var gr = [Float](repeating: 2, count: x.count)
        reluBackward(&gr, output: y, count: x.count)
        for (xi, gi) in zip(x, gr) { XCTAssertEqual(gi, xi > 0 ? 2 : 0) }
        // The byte mask the tape keeps gives the same gradient (a NaN output passes it, as PyTorch's threshold_backward).
        var yn = y
        yn[5] = .nan
        var mask = [UInt8](repeating: 7, count: x.count)
        reluMask(yn, into: &mask, count: x.count)
        var gm = [Float](repeating: 2, count: x.count)
        reluBackward(&gm, mask: mask, count: x.count)
        var go = [Float](repeating: 2, count: x.count)
        reluBackward(&go, output: yn, count: x.count)
        XCTAssertEqual(gm, go)
        XCTAssertEqual(gm[5], 2)
        var s = [Float](repeating: 1, count: 3 * 5)
        channelScaleBackward(&s, pixels: 3, channels: 5, scale: [1, 2, 3, 4, 5])
        XCTAssertEqual(Array(s[5..<10]), [1, 2, 3, 4, 5])
    }
}
