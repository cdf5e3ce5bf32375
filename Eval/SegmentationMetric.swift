import Foundation

/// mmsegmentation's `IoUMetric` (mIoU, mAcc, aAcc) with its float32 data flow, so every printed
/// digit matches (seg-metrics.md §1): per-image histograms of intersection, prediction and label
/// over the pixels whose ground truth is not `ignoreIndex`, summed over images in float32.
public struct SegmentationMetric: Sendable {
    /// The class names, indexed by class (train id); their count is the number of classes.
    public let classNames: [String]
    /// The ground-truth value whose pixels are left out (mmseg's 255).
    public let ignoreIndex: Int
    /// Per class, the pixels predicted as the class where the ground truth is that class (float32 sum).
    public private(set) var totalIntersect: [Float]
    /// Per class, predicted plus ground-truth pixels minus their intersection (float32 sum).
    public private(set) var totalUnion: [Float]
    /// Per class, the pixels predicted as the class, outside ignored ground truth (float32 sum).
    public private(set) var totalPred: [Float]
    /// Per class, the ground-truth pixels of the class (float32 sum).
    public private(set) var totalLabel: [Float]
    /// The number of images added.
    public private(set) var imageCount = 0

    /// An empty accumulator for the classes `classNames`.
    public init(classNames: [String], ignoreIndex: Int = 255) {
        self.classNames = classNames
        self.ignoreIndex = ignoreIndex
        let z = [Float](repeating: 0, count: classNames.count)
        totalIntersect = z; totalUnion = z; totalPred = z; totalLabel = z
    }

    /// The number of classes.
    public var numClasses: Int { classNames.count }

    /// Per-image counts (exact integers) for one prediction / ground-truth pair of equal size.
    /// Ground truth values must be class indices or `ignoreIndex`; predictions class indices.
    public static func counts(prediction: [UInt8], label: [UInt8], numClasses c: Int, ignoreIndex: Int = 255)
        throws -> (intersect: [Int], pred: [Int], label: [Int]) {
        guard prediction.count == label.count else {
            throw EvalError.invalid("prediction has \(prediction.count) pixels, ground truth \(label.count)")
        }
        var inter = [Int](repeating: 0, count: c), pred = [Int](repeating: 0, count: c), lab = [Int](repeating: 0, count: c)
        for i in 0..<label.count {
            let g = Int(label[i])
            if g == ignoreIndex { continue }
            let p = Int(prediction[i])
            guard g < c else { throw EvalError.invalid("ground-truth value \(g) is out of range for \(c) classes (ignore index \(ignoreIndex))") }
            guard p < c else { throw EvalError.invalid("predicted value \(p) is out of range for \(c) classes") }
            lab[g] += 1
            pred[p] += 1
            if p == g { inter[g] += 1 }
        }
        return (inter, pred, lab)
    }

    /// Adds one image's counts (as `counts(...)` returns them).
    public mutating func add(intersect: [Int], pred: [Int], label: [Int]) {
        precondition(intersect.count == numClasses && pred.count == numClasses && label.count == numClasses, "class count mismatch")
        for c in 0..<numClasses {
            // mmseg keeps per-image float32 histograms and sums them image by image in float32.
            let i = Float(intersect[c]), p = Float(pred[c]), l = Float(label[c])
            totalIntersect[c] += i
            totalUnion[c] += p + l - i
            totalPred[c] += p
            totalLabel[c] += l
        }
        imageCount += 1
    }

    /// Adds one prediction / ground-truth pair (row-major class indices, same size).
    public mutating func add(prediction: [UInt8], label: [UInt8]) throws {
        let c = try SegmentationMetric.counts(prediction: prediction, label: label, numClasses: numClasses, ignoreIndex: ignoreIndex)
        add(intersect: c.intersect, pred: c.pred, label: c.label)
    }

    /// The metrics as mmseg reports them.
    public func summary() -> SegmentationSummary {
        let sumI = Float(totalIntersect.reduce(0.0) { $0 + Double($1) })
        let sumL = Float(totalLabel.reduce(0.0) { $0 + Double($1) })
        let aAcc = sumI / sumL
        let iou = (0..<numClasses).map { totalIntersect[$0] / totalUnion[$0] }
        let acc = (0..<numClasses).map { totalIntersect[$0] / totalLabel[$0] }
        return SegmentationSummary(classNames: classNames, aAcc: round2(aAcc * 100), mIoU: round2(nanmean(iou) * 100),
                                   mAcc: round2(nanmean(acc) * 100), iou: iou.map { round2($0 * 100) },
                                   acc: acc.map { round2($0 * 100) }, rawIoU: iou, rawAcc: acc)
    }
}

/// numpy `nanmean` on float32: NaN → 0, pairwise float32 sum, divided by the count of non-NaN.
func nanmean(_ v: [Float]) -> Float {
    let n = v.filter { !$0.isNaN }.count
    if n == 0 { return .nan }
    return pairwiseSum(v.map { $0.isNaN ? 0 : $0 }[...]) / Float(n)
}

/// `np.round(x, 2)` in float32: rint(x·100)/100 with ties to even.
func round2(_ x: Float) -> Float {
    (x * 100).rounded(.toNearestOrEven) / 100
}

/// mmseg's results: percentages rounded to 2 decimals (float32), per class and averaged.
public struct SegmentationSummary: Sendable {
    /// The class names, in the order of `iou` and `acc`.
    public let classNames: [String]
    /// Overall pixel accuracy, mean IoU and mean class accuracy, in percent rounded to 2 decimals; the
    /// means skip classes whose value is NaN (numpy's `nanmean`).
    public let aAcc: Float, mIoU: Float, mAcc: Float
    /// Per class IoU and accuracy in percent, rounded to 2 decimals; NaN for a class absent from both
    /// prediction and ground truth (IoU) or from the ground truth (accuracy).
    public let iou: [Float], acc: [Float]
    /// Un-rounded ratios (0–1).
    public let rawIoU: [Float], rawAcc: [Float]

    /// Python's `str(np.float32)`: the shortest repr, `nan` for NaN.
    public static func pythonString(_ v: Float) -> String { v.isNaN ? "nan" : "\(v)" }

    /// The per-class PrettyTable mmseg logs ("per class results").
    public var classTable: String {
        prettyTable(["Class", "IoU", "Acc"], (0..<classNames.count).map {
            [classNames[$0], SegmentationSummary.pythonString(iou[$0]), SegmentationSummary.pythonString(acc[$0])]
        })
    }

    /// mmseg's summary table (aAcc, mIoU, mAcc).
    public var summaryTable: String {
        prettyTable(["aAcc", "mIoU", "mAcc"], [[aAcc, mIoU, mAcc].map(SegmentationSummary.pythonString)])
    }

    /// mmengine's log line: `aAcc: 93.4800  mIoU: 40.7700  mAcc: 53.0400`.
    public var logLine: String {
        "aAcc: \(fixed4(aAcc))  mIoU: \(fixed4(mIoU))  mAcc: \(fixed4(mAcc))"
    }

    private func fixed4(_ v: Float) -> String {
        // mmengine formats the float32 value (widened to a Python float) with "{:.4f}".
        v.isNaN ? "nan" : String(format: "%.4f", Double(v))
    }
}

/// PrettyTable's default rendering: centred cells (extra space as `str.center` puts it), one space of padding.
public func prettyTable(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    func center(_ t: String, _ w: Int) -> String {
        let excess = w - t.count
        var left = excess / 2, right = excess / 2
        if excess % 2 == 1 {
            if t.count % 2 == 1 { right += 1 } else { left += 1 }
        }
        return String(repeating: " ", count: left) + t + String(repeating: " ", count: right)
    }
    let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+"
    func line(_ cells: [String]) -> String {
        "|" + cells.enumerated().map { " " + center($1, widths[$0]) + " " }.joined(separator: "|") + "|"
    }
    return ([rule, line(header), rule] + rows.map(line) + [rule]).joined(separator: "\n")
}
