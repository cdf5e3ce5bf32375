import XCTest
import Foundation
import RepLKEngine
import RepLKKernels
import RepLKParallel
import Synchronization

final class OpsTests: XCTestCase {
    func testLargeBuffersAreReusedAndZeroedWhenAsked() {
        // 36 MB: above the size malloc maps fresh (and the kernel zero-fills) on every request.
        var first: UnsafeMutablePointer<Float>
        do {
            let a = TensorStorage(count: 9_000_000)
            a.pointer[5] = 7
            first = a.pointer
        }
        let b = TensorStorage(count: 9_000_000, zeroed: true)
        XCTAssertEqual(b.pointer, first)
        XCTAssertEqual(b.pointer[5], 0)
        // Small buffers are malloc's business.
        let c = TensorStorage(count: 1000)
        XCTAssertNotEqual(c.pointer, first)
    }

    func testPoolGivesConcurrentCallsDistinctWorkerIndices() {
        let pool = ThreadPool(threadCount: 3)
        let busy = Atomic<Int>(0)   // bit w: a call on worker w is running
        let clash = Atomic<Bool>(false)
        let seen = Atomic<Int>(0)
        pool.parallelFor(300, withWorkerIndex: { _, worker in
            precondition(worker >= 0 && worker < 3)
            let bit = 1 << worker
            if busy.bitwiseOr(bit, ordering: .sequentiallyConsistent).oldValue & bit != 0 {
                clash.store(true, ordering: .sequentiallyConsistent)
            }
            for _ in 0..<2000 { _ = seen.wrappingAdd(1, ordering: .relaxed) }
            busy.bitwiseAnd(~bit, ordering: .sequentiallyConsistent)
        })
        XCTAssertFalse(clash.load(ordering: .sequentiallyConsistent))
        XCTAssertEqual(seen.load(ordering: .relaxed), 300 * 2000)
    }

    func testAffineLoopRunsEveryIterationOnce() {
        let pool = ThreadPool(threadCount: 3)
        for count in [1, 2, 7, 300] {
            let runs = Mutex<[Int]>([Int](repeating: 0, count: count))
            pool.parallelFor(count, affine: true, withWorkerIndex: { i, worker in
                precondition(worker >= 0 && worker < 3)
                runs.withLock { $0[i] += 1 }
                if i % 5 == 0 { usleep(100) }
            })
            XCTAssertEqual(runs.withLock { $0 }, [Int](repeating: 1, count: count), "\(count)")
        }
    }

    func testDroppedPoolStopsItsWorkers() {
        // Threads of this process, from /proc (Linux); elsewhere only the runs are checked.
        func threadCount() -> Int? {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task"))?.count
        }
        let before = threadCount()
        for round in 0..<40 {
            let pool = ThreadPool(threadCount: 4)
            let sum = Atomic<Int>(0)
            pool.parallelFor(64) { i in sum.wrappingAdd(i, ordering: .relaxed) }
            XCTAssertEqual(sum.load(ordering: .relaxed), 64 * 63 / 2)
            // Half the pools are dropped while their workers still spin after the loop, half once
            // they have gone to sleep (the spin lasts well under 3 ms).
            if round % 2 == 1 { usleep(3000) }
        }
        if let before, let after = threadCount() {
            // 40 pools × 3 workers would be 120 threads left behind without the join in deinit.
            XCTAssertLessThanOrEqual(after, before + 1)
        }
    }

    func testGELUIsTheExactErfForm() {
        var xs = [Float]()
        var v: Float = -8
        while v <= 8 { xs.append(v); v += 0.0137 }
        forEachKernelVariant { variant in
            let y = activate(Tensor(shape: [xs.count], values: xs), .gelu).scalars
            for (x, g) in zip(xs, y) {
                let ref = referenceGELU(x)
                XCTAssertLessThan(abs(g - ref), 2e-7 * max(1, abs(x)), "x = \(x) [\(variant)]")
            }
        }
        // The tanh approximation differs by ~1e-4 around |x| = 2: make sure we are not it.
        let x: Float = 2.2
        let tanhForm = 0.5 * x * (1 + tanh(0.7978845608 * (x + 0.044715 * x * x * x)))
        XCTAssertGreaterThan(abs(activate(Tensor(shape: [1], values: [x]), .gelu).scalars[0] - tanhForm), 5e-5)
    }

    func testBilinearResizeMatchesPyTorchRules() {
        // 1-D check along x with values 0..3: half-pixel (align_corners=False) and corner-aligned sampling.
        let x = Tensor(shape: [1, 1, 4, 1], values: [0, 1, 2, 3])
        let up = resizeBilinear(x, height: 1, width: 8, alignCorners: false).scalars
        XCTAssertEqual(up, [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
        let upAC = resizeBilinear(x, height: 1, width: 7, alignCorners: true).scalars
        XCTAssertEqual(upAC, [0, 0.5, 1, 1.5, 2, 2.5, 3])
        let down = resizeBilinear(x, height: 1, width: 2, alignCorners: false).scalars
        XCTAssertEqual(down, [0.5, 2.5])
        // Identity size is an exact copy.
        var rng = SeededRandom(seed: 3)
        let t = Tensor(shape: [2, 5, 6, 19], values: rng.array(2 * 5 * 6 * 19))
        XCTAssertEqual(resizeBilinear(t, height: 5, width: 6, alignCorners: false).scalars, t.scalars)
        XCTAssertEqual(resizeBilinear(t, height: 5, width: 6, alignCorners: true).scalars, t.scalars)
    }

    func testAdaptiveAvgPoolUsesOverlappingBins() {
        // Width 5 into 3 bins: [0,2), [1,4), [3,5).
        let x = Tensor(shape: [1, 1, 5, 1], values: [1, 2, 3, 4, 5])
        let y = adaptiveAvgPool(x, height: 1, width: 3).scalars
        XCTAssertEqual(y, [1.5, 3, 4.5])
    }

    func testMaxPoolWithKernelOneIsSubsampling() {
        var rng = SeededRandom(seed: 4)
        let v = rng.array(1 * 5 * 7 * 3)
        let x = Tensor(shape: [1, 5, 7, 3], values: v)
        let y = maxPool2d(x, kernel: 1, stride: 2)
        XCTAssertEqual(y.shape, [1, 3, 4, 3])
        XCTAssertEqual(y[0, 2, 3, 1], x[0, 4, 6, 1])
    }

    func testConcatSoftmaxAndNCHWRoundTrip() {
        let a = Tensor(shape: [1, 1, 2, 1], values: [1, 2])
        let b = Tensor(shape: [1, 1, 2, 2], values: [3, 4, 5, 6])
        XCTAssertEqual(concatChannels([a, b]).scalars, [1, 3, 4, 2, 5, 6])
        let s = softmax(Tensor(shape: [1, 3], values: [0, 0, log(2)])).scalars
        XCTAssertEqual(s[2], 0.5, accuracy: 1e-6)
        let nchw: [Float] = Array(0..<24).map(Float.init)
        let t = nchw.withUnsafeBufferPointer { Tensor.fromNCHW($0, n: 2, c: 3, h: 2, w: 2) }
        XCTAssertEqual(t[1, 0, 1, 2], 21)
        XCTAssertEqual(t.toNCHW(), nchw)
    }

    func testCopyOnWriteKeepsValueSemantics() {
        let a = Tensor(shape: [3], values: [1, 2, 3])
        var b = a
        b[1] = 9
        XCTAssertEqual(a.scalars, [1, 2, 3])
        XCTAssertEqual(b.scalars, [1, 9, 3])
    }
}
