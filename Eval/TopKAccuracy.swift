/// Top-k classification accuracy, accumulated one prediction at a time.
public struct TopKAccuracy: Sendable {
    /// The k of each accuracy, in the order given.
    public let ks: [Int]
    /// The number of samples added.
    public private(set) var count = 0
    /// For each entry of `ks`, the number of samples whose label ranked within the top k.
    public private(set) var correct: [Int]

    /// An empty accumulator for top-k accuracy at each k of `ks` (top-1 and top-5 by default).
    public init(ks: [Int] = [1, 5]) {
        self.ks = ks
        correct = ks.map { _ in 0 }
    }

    /// Adds one sample's scores. Ties rank the lower class index first (as torch.topk on CPU does
    /// for equal values in practice; exact ties are vanishingly rare with float logits).
    public mutating func add(scores: [Float], label: Int) {
        precondition(label >= 0 && label < scores.count, "label \(label) out of range for \(scores.count) classes")
        let mine = scores[label]
        // Rank = number of classes scoring strictly higher, plus equal ones with a lower index.
        var rank = 0
        for (i, s) in scores.enumerated() where s > mine || (s == mine && i < label) { rank += 1 }
        for (j, k) in ks.enumerated() where rank < k { correct[j] += 1 }
        count += 1
    }

    /// The indices of the `k` highest scores, highest first, ties to the lower index: the order
    /// `add(scores:label:)` ranks by, so `add(ranked:label:)` on them counts the same.
    public static func ranking(scores: [Float], k: Int) -> [Int] {
        scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(k).map { $0 }
    }

    /// Adds one sample by its top classes (`ranking(scores:k:)` with k at least the largest of
    /// `ks`, or every class): the same count as `add(scores:label:)` on its scores.
    public mutating func add(ranked: [Int], label: Int) {
        let rank = ranked.firstIndex(of: label) ?? Int.max
        for (j, k) in ks.enumerated() where rank < k { correct[j] += 1 }
        count += 1
    }

    /// Accuracy in percent for each k.
    public func summary() -> [(k: Int, percent: Double)] {
        ks.enumerated().map { ($1, count == 0 ? .nan : 100 * Double(correct[$0]) / Double(count)) }
    }
}
