import Foundation
import RepLKWeights

/// Paths and arrays of the project's test fixtures (Tests/Fixtures).
public enum Fixtures {
    public static let root: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").path
    }()

    public static func path(_ relative: String) -> String { root + "/" + relative }

    /// Reads a fixture `.npy` as float32.
    public static func npy(_ relative: String) throws -> (shape: [Int], values: [Float]) {
        try NPY.read(path: path(relative))
    }

    /// A fresh temporary directory for one test.
    public static func temporaryDirectory() -> String {
        let dir = NSTemporaryDirectory() + "replk-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// max |a − b|, infinite when NaN-ness differs.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
    var m: Float = 0
    for (x, y) in zip(a, b) {
        if x.isNaN != y.isNaN { return .infinity }
        m = max(m, abs(x - y))
    }
    return m
}

public func maxAbs(_ a: [Float]) -> Float { a.reduce(0) { max($0, abs($1)) } }
