/// A segmentation confusion matrix as mmsegmentation's `tools/analysis_tools/confusion_matrix.py`
/// accumulates it: rows are ground-truth classes, columns predicted ones, pixels whose ground
/// truth is `ignoreIndex` left out.
public struct ConfusionMatrix: Sendable, Equatable {
    /// The number of classes; the matrix is `classCount × classCount`.
    public let classCount: Int
    /// The ground-truth value whose pixels are left out (mmseg's 255).
    public let ignoreIndex: Int
    /// Pixel counts, row-major: `counts[gt * classCount + pred]`.
    public private(set) var counts: [Int]

    /// An all-zero matrix.
    ///
    /// - Precondition: `classCount >= 1`.
    public init(classCount: Int, ignoreIndex: Int = 255) {
        precondition(classCount >= 1)
        self.classCount = classCount
        self.ignoreIndex = ignoreIndex
        counts = [Int](repeating: 0, count: classCount * classCount)
    }

    /// Adds one image. Throws when the two maps differ in size, or a prediction or a label that
    /// is not ignored is not a class (where mmseg's `bincount(…).reshape(n, n)` would fail).
    public mutating func add(prediction: [UInt8], label: [UInt8]) throws {
        guard prediction.count == label.count else {
            throw EvalError.invalid("prediction has \(prediction.count) pixels, ground truth \(label.count)")
        }
        let n = classCount
        // Checked first, so that a refused image leaves the matrix as it was.
        for i in 0..<label.count {
            let g = Int(label[i])
            if g == ignoreIndex { continue }
            let p = Int(prediction[i])
            guard g < n else { throw EvalError.invalid("ground-truth value \(g) is out of range for \(n) classes (ignore index \(ignoreIndex))") }
            guard p < n else { throw EvalError.invalid("predicted value \(p) is out of range for \(n) classes") }
        }
        for i in 0..<label.count where Int(label[i]) != ignoreIndex {
            counts[Int(label[i]) * n + Int(prediction[i])] += 1
        }
    }

    /// Each row as a percentage of its ground-truth pixels, in float32 as mmseg's plot computes it
    /// (`matrix.astype(np.float32) / per_label_sums * 100`); NaN for a class with no pixels.
    public var rowPercentages: [Float] {
        let n = classCount
        var out = [Float](repeating: 0, count: n * n)
        for g in 0..<n {
            let sum = counts[(g * n)..<((g + 1) * n)].reduce(0, +)
            for p in 0..<n { out[g * n + p] = Float(counts[g * n + p]) / Float(sum) * 100 }
        }
        return out
    }

    /// CSV: a header row of predicted class names, then one row per ground-truth class with its
    /// pixel counts (RFC 4180 quoting).
    public func csv(classNames: [String]) -> String {
        precondition(classNames.count == classCount)
        func q(_ s: String) -> String {
            s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = [(["ground truth \\ predicted"] + classNames).map(q).joined(separator: ",")]
        for g in 0..<classCount {
            lines.append(([q(classNames[g])] + counts[(g * classCount)..<((g + 1) * classCount)].map(String.init)).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
