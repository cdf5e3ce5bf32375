import XCTest
import RepLKEval

/// ConfusionMatrix against a naive count: rows ground truth, columns predictions, the ignore
/// index left out, values that are not classes refused (mmseg's bincount/reshape would fail).
final class ConfusionMatrixTests: XCTestCase {
    func testCountsEqualANaiveLoopAndIgnoreTheIgnoreIndex() throws {
        var rng = SystemRandomNumberGenerator()
        let n = 5
        var m = ConfusionMatrix(classCount: n)
        var naive = [Int](repeating: 0, count: n * n)
        for _ in 0..<3 {
            let label = (0..<997).map { _ in UInt8.random(in: 0..<UInt8(n), using: &rng) == 0 ? 255 : UInt8.random(in: 0..<UInt8(n), using: &rng) }
            let pred = (0..<997).map { _ in UInt8.random(in: 0..<UInt8(n), using: &rng) }
            try m.add(prediction: pred, label: label)
            for (p, g) in zip(pred, label) where g != 255 { naive[Int(g) * n + Int(p)] += 1 }
        }
        XCTAssertEqual(m.counts, naive)
        let pct = m.rowPercentages
        for g in 0..<n { XCTAssertEqual(pct[(g * n)..<((g + 1) * n)].reduce(0, +), 100, accuracy: 1e-3) }
        XCTAssertThrowsError(try m.add(prediction: [7], label: [1]))
        XCTAssertThrowsError(try m.add(prediction: [1], label: [9]))
        XCTAssertThrowsError(try m.add(prediction: [1, 2], label: [1]))
        XCTAssertThrowsError(try m.add(prediction: [1, 2, 3], label: [1, 2, 9]))   // refused whole, not counted in part
        XCTAssertEqual(m.counts, naive)
    }
}
