import Foundation
import XCTest
import RepLKEngine
import RepLKKernels
import RepLKParallel

/// Engine settings are values given to each conv as it is built, not process-wide switches.
final class EngineConfigurationTests: XCTestCase {
    /// A 31×31 depth-wise conv on a 32² map, where `fft-all` runs FFT tiles and `bands` direct ones.
    func depthwiseConv(_ engine: EngineConfiguration) -> (ConvKernel, Tensor) {
        var rng = SeededRandom(seed: 21)
        let x = Tensor(shape: [1, 32, 32, 32], values: rng.array(32 * 32 * 32))
        let w = rng.array(32 * 31 * 31, -0.1, 0.1)
        let conv = w.withUnsafeBufferPointer {
            ConvKernel(weightOIHW: $0, bias: nil, outChannels: 32, inChannels: 32, kernelH: 31, kernelW: 31,
                       padding: (15, 15), groups: 32, engine: engine)
        }
        return (conv, x)
    }

    func testPlainConfigurationIsAllCPUsFP32AutoAndWinograd() {
        let c = EngineConfiguration()
        XCTAssertEqual(c.threads, ThreadPool.onlineCPUCount)
        XCTAssertEqual(c.precision, .fp32)
        XCTAssertEqual(c.depthwise, .auto)
        XCTAssertTrue(c.winograd)
        XCTAssertEqual(EngineConfiguration(threads: 0).threads, 1)
    }

    func testConvsBuiltWithDifferentDepthwiseAlgorithmsEachKeepTheirOwn() {
        let (bands, x) = depthwiseConv(EngineConfiguration(depthwise: .bands))
        let before = bands(x).scalars
        let (fft, _) = depthwiseConv(EngineConfiguration(depthwise: .fftAll))
        XCTAssertEqual(bands.depthwise, .bands)
        XCTAssertEqual(fft.depthwise, .fftAll)
        let viaFFT = fft(x).scalars
        // Building and running the FFT conv changed nothing for the other one.
        XCTAssertEqual(bands(x).scalars, before)
        // The same conv, rounded differently: close, not equal.
        XCTAssertNotEqual(viaFFT, before)
        XCTAssertLessThan(maxAbsDiff(viaFFT, before), 1e-5 * max(1, before.map(abs).max()!))
        // A third conv of the first configuration gives the first one's values exactly.
        let (again, _) = depthwiseConv(EngineConfiguration(depthwise: .bands))
        XCTAssertEqual(again(x).scalars, before)
    }

    func testConvsBuiltWithDifferentThreadCountsEachKeepTheirPoolAndAgree() {
        let (one, x) = depthwiseConv(EngineConfiguration(threads: 1))
        let (three, _) = depthwiseConv(EngineConfiguration(threads: 3))
        XCTAssertEqual(one.pool.threadCount, 1)
        XCTAssertEqual(three.pool.threadCount, 3)
        XCTAssertEqual(one(x).scalars, three(x).scalars)
        XCTAssertEqual(one.pool.threadCount, 1, "building a 3-thread conv changed the 1-thread one's pool")
        // Pools are shared by thread count, not made per conv.
        XCTAssertTrue(three.pool === ThreadPool.shared(threads: 3))
        XCTAssertTrue(EngineConfiguration(threads: 3).pool === three.pool)
    }

    func testWinogradIsAPerConvSetting() {
        var rng = SeededRandom(seed: 4)
        let w = rng.array(32 * 32 * 9, -0.5, 0.5)
        func conv(_ winograd: Bool) -> ConvKernel {
            w.withUnsafeBufferPointer {
                ConvKernel(weightOIHW: $0, bias: nil, outChannels: 32, inChannels: 32, kernelH: 3, kernelW: 3,
                           padding: (1, 1), engine: EngineConfiguration(winograd: winograd))
            }
        }
        let fast = conv(true), direct = conv(false)
        XCTAssertTrue(fast.usesWinograd)
        XCTAssertFalse(direct.usesWinograd)
        XCTAssertTrue(conv(true).usesWinograd)
    }

    /// 32 channels, 31×31 taps, 32² outputs.
    let depthwiseMACs = Double(32 * 32 * 32 * 31 * 31)

    func testFLOPCountsCoverOnlyTheirOwnBody() {
        let (conv, x) = depthwiseConv(EngineConfiguration(threads: 1))
        _ = conv(x)
        let counted = FLOPCounter.count { _ = conv(x) }
        XCTAssertEqual(counted.macs, depthwiseMACs)
        XCTAssertEqual(counted.executedMACs, depthwiseMACs)
        let twice = FLOPCounter.count { _ = conv(x); _ = conv(x) }
        XCTAssertEqual(twice.macs, 2 * depthwiseMACs, "an earlier count leaked into this one")
    }

    func testNestedFLOPCountsDoNotLeakIntoEachOther() {
        let (conv, x) = depthwiseConv(EngineConfiguration(threads: 1))
        let outer = FLOPCounter.count { () -> Double in
            _ = conv(x)
            let inner = FLOPCounter.count(dryRun: true) { conv(x) }
            XCTAssertEqual(inner.result.scalars.allSatisfy { $0 == 0 }, true, "a dry run computed")
            _ = conv(x)
            return inner.macs
        }
        XCTAssertEqual(outer.result, depthwiseMACs)
        XCTAssertEqual(outer.macs, 2 * depthwiseMACs)
        // After the dry run the conv computes again.
        XCTAssertFalse(FLOPCounter.count { conv(x) }.result.scalars.allSatisfy { $0 == 0 })
    }

    func testFLOPCountsOnOtherThreadsDoNotLeakIntoEachOther() {
        let (conv, x) = depthwiseConv(EngineConfiguration(threads: 1))
        let runs = [1, 2, 3, 4]
        var counts = [Double](repeating: 0, count: runs.count)
        counts.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: runs.count) { i in
                out[i] = FLOPCounter.count { for _ in 0..<runs[i] { _ = conv(x) } }.macs
            }
        }
        XCTAssertEqual(counts, runs.map { Double($0) * depthwiseMACs })
        XCTAssertEqual(FLOPCounter.dryRunMACs { _ = conv(x) }, depthwiseMACs)
    }
}
