import Dispatch
import Foundation

/// What is compared: boxes or masks.
public enum COCOIoUType: String, Sendable {
    case bbox, segm
}

/// The 12 summary numbers and the per-category APs of one evaluation.
public struct COCOSummary: Sendable {
    public var iouType: COCOIoUType
    public var maxDets: [Int]
    /// `COCOeval.stats`, in pycocotools' order.
    public var stats: [Double]
    /// AP per category (IoU 0.50:0.95, area all, the largest maxDets), NaN when it has no ground truth.
    public var perCategory: [(id: Int, name: String, ap: Double)]

    /// The twelve lines `COCOeval.summarize()` prints.
    public var summaryLines: [String] {
        let m = maxDets
        let rows: [(Bool, Double?, String, Int)] = [
            (true, nil, "all", 100), (true, 0.5, "all", m[m.count - 1]), (true, 0.75, "all", m[m.count - 1]),
            (true, nil, "small", m[m.count - 1]), (true, nil, "medium", m[m.count - 1]), (true, nil, "large", m[m.count - 1]),
            (false, nil, "all", m[0]), (false, nil, "all", m[min(1, m.count - 1)]), (false, nil, "all", m[m.count - 1]),
            (false, nil, "small", m[m.count - 1]), (false, nil, "medium", m[m.count - 1]), (false, nil, "large", m[m.count - 1]),
        ]
        return rows.enumerated().map { i, r in
            let title = r.0 ? "Average Precision" : "Average Recall"
            let type = r.0 ? "(AP)" : "(AR)"
            let iou = r.1.map { String(format: "%0.2f", $0) } ?? "0.50:0.95"
            let pad = { (s: String, w: Int, left: Bool) -> String in
                s.count >= w ? s : (left ? s + String(repeating: " ", count: w - s.count) : String(repeating: " ", count: w - s.count) + s)
            }
            return " \(pad(title, 18, true)) \(type) @[ IoU=\(pad(iou, 9, true)) | area=\(pad(r.2, 6, false)) | maxDets=\(pad(String(r.3), 3, false)) ] = \(formatPython3f(stats[i]))"
        }
    }
}

/// `'{:0.3f}'.format(x)`: correctly rounded, ties to even on the exact binary value.
public func formatPython3f(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    return String(format: "%.3f", x)
}

/// COCO detection / instance-segmentation evaluation, equal to pycocotools' `COCOeval`
/// (evaluate → accumulate → summarize) to the last bit (coco-eval.md).
///
/// A pure accumulator: `add` detections (any number of calls), then `summary()`.
public final class COCOEvaluator {
    public let iouType: COCOIoUType
    public let maxDets: [Int]

    /// `np.linspace(.5, .95, 10)`.
    public static let iouThresholds: [Double] = {
        let s = (0.95 - 0.5) / 9
        return (0..<9).map { 0.5 + Double($0) * s } + [0.95]
    }()
    /// `np.linspace(.0, 1.00, 101)` as pycocotools builds it: i·0.01.
    public static let recallThresholds: [Double] = (0..<100).map { Double($0) * 0.01 } + [1.0]
    static let areaRanges: [(Double, Double)] = [(0, 1e10), (0, 1024), (1024, 9216), (9216, 1e10)]

    // Ground truth, indexed by sorted image / category ids.
    private let imageIds: [Int]
    private let imageIndex: [Int: Int]
    private let imageSizes: [(h: Int, w: Int)]
    private let categoryIds: [Int]
    private let categoryIndex: [Int: Int]
    private let categoryNames: [Int: String]
    private let gtStart: [Int]          // CSR over (image, category), file order inside
    private let gtOrder: [Int]
    private let gtIds: [Int], gtArea: [Double], gtCrowd: [Bool], gtBox: [[Double]]
    private var gtMasks: [RLE?]

    // Detections in add() order.
    private var dtImage: [Int] = [], dtCategory: [Int] = [], dtScore: [Double] = [], dtBox: [[Double]] = []
    private var dtArea: [Double] = [], dtMask: [RLE?] = []
    private var boxResults: Bool?

    /// - Parameter maxDets: pycocotools' default [1, 10, 100]; mmdetection uses [100, 300, 1000].
    public init(groundTruth gt: COCOGroundTruth, iouType: COCOIoUType, maxDets: [Int] = [1, 10, 100]) throws {
        guard !maxDets.isEmpty, maxDets.allSatisfy({ $0 > 0 }) else { throw EvalError.invalid("maxDets must be positive") }
        self.iouType = iouType
        self.maxDets = maxDets
        let images = Dictionary(gt.images.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        imageIds = images.keys.sorted()
        imageIndex = Dictionary(uniqueKeysWithValues: imageIds.enumerated().map { ($1, $0) })
        imageSizes = imageIds.map { (images[$0]!.height, images[$0]!.width) }
        categoryIds = Set(gt.categories.map(\.id)).sorted()
        categoryIndex = Dictionary(uniqueKeysWithValues: categoryIds.enumerated().map { ($1, $0) })
        categoryNames = Dictionary(gt.categories.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let K = categoryIds.count
        var keys = [Int](), kept = [Int]()
        for (n, a) in gt.annotations.enumerated() {
            // pycocotools indexes annotations by image and category; others are never evaluated.
            guard let i = imageIndex[a.imageId], let k = categoryIndex[a.categoryId] else { continue }
            keys.append(i * K + k)
            kept.append(n)
        }
        (gtStart, gtOrder) = csr(keys: keys, bins: imageIds.count * K)
        let anns = kept.map { gt.annotations[$0] }
        gtIds = anns.map(\.id)
        gtArea = anns.map(\.area)
        gtCrowd = anns.map(\.isCrowd)
        gtBox = anns.map(\.bbox)
        gtMasks = Array(repeating: nil, count: anns.count)
        if iouType == .segm {
            for (j, a) in anns.enumerated() {
                let size = imageSizes[imageIndex[a.imageId]!]
                guard let s = a.segmentation else {
                    throw EvalError.invalid("ground-truth annotation \(a.id) has no segmentation (needed for segm evaluation)")
                }
                gtMasks[j] = try COCOEvaluator.mask(s, height: size.h, width: size.w, what: "annotation \(a.id)")
            }
        }
    }

    static func mask(_ s: COCOSegmentation, height: Int, width: Int, what: String) throws -> RLE {
        switch s {
        case let .rle(r): return r
        case let .polygons(rings):
            guard let first = rings.first, first.count > 4 else {
                throw EvalError.invalid("\(what): polygon with fewer than 3 points")
            }
            return RLE.merge(rings.map { RLE(polygon: $0, height: height, width: width) })
        }
    }

    /// Adds detections (a results file's entries, in file order). The kind of results (box or mask)
    /// is decided by the first detection ever added, as `loadRes` does.
    public func add(_ detections: [COCODetection]) throws {
        for d in detections {
            guard let i = imageIndex[d.imageId] else { throw EvalError.unknownImage(imageId: d.imageId) }
            if boxResults == nil {
                if let b = d.bbox, !b.isEmpty { boxResults = true }
                else if d.segmentation != nil { boxResults = false }
                else { throw EvalError.invalid("result has neither bbox nor segmentation") }
            }
            // Results for categories the ground truth lacks are dropped, as loadRes's index does.
            guard let k = categoryIndex[d.categoryId] else { continue }
            var box: [Double]
            var area: Double
            var m: RLE?
            let size = imageSizes[i]
            if boxResults! {
                guard let b = d.bbox, b.count == 4 else { throw EvalError.invalid("result for image \(d.imageId) lacks a 4-number bbox") }
                box = b
                area = b[2] * b[3]
                if iouType == .segm {
                    m = try d.segmentation.map { try COCOEvaluator.mask($0, height: size.h, width: size.w, what: "result") }
                        ?? RLE(box: b, height: size.h, width: size.w)
                }
            } else {
                guard case let .rle(r)? = d.segmentation else {
                    throw EvalError.invalid("mask results must carry compressed RLE segmentations")
                }
                area = Double(r.area)
                box = d.bbox ?? r.boundingBox
                m = r
            }
            dtImage.append(i); dtCategory.append(k); dtScore.append(d.score); dtBox.append(box)
            dtArea.append(area); dtMask.append(m)
        }
    }

    /// Number of detections kept so far.
    public var detectionCount: Int { dtScore.count }

    /// Evaluates, accumulates and summarises.
    public func summary() -> COCOSummary {
        let T = COCOEvaluator.iouThresholds.count, R = COCOEvaluator.recallThresholds.count
        let K = categoryIds.count, A = COCOEvaluator.areaRanges.count, M = maxDets.count
        let I = imageIds.count
        var precision = [Double](repeating: -1, count: T * R * K * A * M)
        var recall = [Double](repeating: -1, count: T * K * A * M)
        let (dtStart, dtOrder) = csr(keys: zip(dtImage, dtCategory).map { $0 * K + $1 }, bins: I * K)
        let maxDet = maxDets.last!
        precision.withUnsafeMutableBufferPointer { pBuf in
            recall.withUnsafeMutableBufferPointer { rBuf in
                let pp = pBuf.baseAddress!, rp = rBuf.baseAddress!
                DispatchQueue.concurrentPerform(iterations: K) { k in
                    self.evaluateCategory(k, dtStart: dtStart, dtOrder: dtOrder, maxDet: maxDet,
                                          precision: pp, recall: rp, dims: (T, R, K, A, M))
                }
            }
        }
        // summarize()
        func mean(_ ap: Bool, iou: Double?, area: Int, maxDet md: Int) -> Double {
            guard let m = maxDets.firstIndex(of: md) else { return -1 }
            var vals = [Double]()
            let ts = iou.map { t in (0..<T).filter { COCOEvaluator.iouThresholds[$0] == t } } ?? Array(0..<T)
            for t in ts {
                if ap {
                    for r in 0..<R { for k in 0..<K {
                        let v = precision[(((t * R + r) * K + k) * A + area) * M + m]
                        if v > -1 { vals.append(v) }
                    } }
                } else {
                    for k in 0..<K {
                        let v = recall[((t * K + k) * A + area) * M + m]
                        if v > -1 { vals.append(v) }
                    }
                }
            }
            return vals.isEmpty ? -1 : numpyMean(vals)
        }
        let last = maxDets.last!
        let stats = [
            mean(true, iou: nil, area: 0, maxDet: 100), mean(true, iou: 0.5, area: 0, maxDet: last),
            mean(true, iou: 0.75, area: 0, maxDet: last), mean(true, iou: nil, area: 1, maxDet: last),
            mean(true, iou: nil, area: 2, maxDet: last), mean(true, iou: nil, area: 3, maxDet: last),
            mean(false, iou: nil, area: 0, maxDet: maxDets[0]), mean(false, iou: nil, area: 0, maxDet: maxDets[min(1, M - 1)]),
            mean(false, iou: nil, area: 0, maxDet: last), mean(false, iou: nil, area: 1, maxDet: last),
            mean(false, iou: nil, area: 2, maxDet: last), mean(false, iou: nil, area: 3, maxDet: last),
        ]
        // mmdetection's class-wise AP: precision[:, :, k, area all, last maxDets], entries > −1.
        let perCategory = (0..<K).map { k -> (id: Int, name: String, ap: Double) in
            var vals = [Double]()
            for t in 0..<T { for r in 0..<R {
                let v = precision[(((t * R + r) * K + k) * A + 0) * M + (M - 1)]
                if v > -1 { vals.append(v) }
            } }
            return (categoryIds[k], categoryNames[categoryIds[k]] ?? "\(categoryIds[k])", vals.isEmpty ? .nan : numpyMean(vals))
        }
        return COCOSummary(iouType: iouType, maxDets: maxDets, stats: stats, perCategory: perCategory)
    }

    private struct AreaBuffer {
        var scores: [Double] = []
        var matched: [UInt16] = []   // bit t: matched at threshold t (dtm != 0)
        var ignored: [UInt16] = []   // bit t: dtIgnore at threshold t
        var starts: [Int] = []       // per non-null image: first position and count
        var counts: [Int] = []
        var npig = 0
    }

    private func evaluateCategory(_ k: Int, dtStart: [Int], dtOrder: [Int], maxDet: Int,
                                  precision: UnsafeMutablePointer<Double>, recall: UnsafeMutablePointer<Double>,
                                  dims: (Int, Int, Int, Int, Int)) {
        let (T, R, K, A, M) = dims
        let thresholds = COCOEvaluator.iouThresholds
        var buffers = [AreaBuffer](repeating: AreaBuffer(), count: A)
        let bins = categoryIds.count
        for i in 0..<imageIds.count {
            let key = i * bins + k
            let g = Array(gtOrder[gtStart[key]..<gtStart[key + 1]])
            var d = Array(dtOrder[dtStart[key]..<dtStart[key + 1]])
            if g.isEmpty && d.isEmpty { continue }
            // Stable sort by descending score, keep the first maxDets[-1].
            d = d.enumerated().sorted { a, b in
                dtScore[a.element] > dtScore[b.element] || (dtScore[a.element] == dtScore[b.element] && a.offset < b.offset)
            }.map(\.element)
            if d.count > maxDet { d.removeLast(d.count - maxDet) }
            let G = g.count, D = d.count
            // IoU matrix [d][g], ground truth in file order.
            var ious = [Double](repeating: 0, count: D * G)
            if D > 0 && G > 0 {
                for (di, dj) in d.enumerated() {
                    for (gi, gj) in g.enumerated() {
                        switch iouType {
                        case .bbox:
                            ious[di * G + gi] = boxIoU(dtBox[dj], gtBox[gj], crowd: gtCrowd[gj])
                        case .segm:
                            ious[di * G + gi] = maskIoU(dtMask[dj]!, dBox: dtMask[dj]!.boundingBox, gtMasks[gj]!,
                                                        gBox: gtMasks[gj]!.boundingBox, crowd: gtCrowd[gj])
                        }
                    }
                }
            }
            for a in 0..<A {
                let (lo, hi) = COCOEvaluator.areaRanges[a]
                let ignore = g.map { gtCrowd[$0] || gtArea[$0] < lo || gtArea[$0] > hi }
                // Non-ignored ground truth first, each group in file order.
                let order = (0..<G).filter { !ignore[$0] } + (0..<G).filter { ignore[$0] }
                var matched = [UInt16](repeating: 0, count: D), ignored = [UInt16](repeating: 0, count: D)
                if D > 0 && G > 0 {
                    for t in 0..<T {
                        var gtTaken = [Bool](repeating: false, count: G)
                        for di in 0..<D {
                            var best = min(thresholds[t], 1 - 1e-10)
                            var m = -1
                            for (pos, gi) in order.enumerated() {
                                if gtTaken[pos] && !gtCrowd[g[gi]] { continue }
                                if m > -1 && !ignore[order[m]] && ignore[gi] { break }
                                let v = ious[di * G + gi]
                                if v < best { continue }
                                best = v
                                m = pos
                            }
                            if m == -1 { continue }
                            let gi = order[m]
                            if ignore[gi] { ignored[di] |= 1 << t }
                            // A ground-truth id of 0 reads as "unmatched" in pycocotools' tables.
                            if gtIds[g[gi]] != 0 { matched[di] |= 1 << t }
                            gtTaken[m] = true
                        }
                    }
                }
                for di in 0..<D where dtArea[d[di]] < lo || dtArea[d[di]] > hi {
                    // Unmatched detections outside the range are ignored.
                    ignored[di] |= ~matched[di] & UInt16((1 << T) - 1)
                }
                buffers[a].starts.append(buffers[a].scores.count)
                buffers[a].counts.append(D)
                buffers[a].scores += d.map { dtScore[$0] }
                buffers[a].matched += matched
                buffers[a].ignored += ignored
                buffers[a].npig += ignore.filter { !$0 }.count
            }
        }
        // accumulate()
        let eps = 2.220446049250313e-16
        let recThrs = COCOEvaluator.recallThresholds
        for a in 0..<A {
            let buf = buffers[a]
            if buf.starts.isEmpty || buf.npig == 0 { continue }
            for (m, md) in maxDets.enumerated() {
                var pos = [Int]()
                for (s, c) in zip(buf.starts, buf.counts) { pos += s..<(s + min(c, md)) }
                // Stable: equal scores keep image order, then file order.
                let sorted = pos.enumerated().sorted { x, y in
                    buf.scores[x.element] > buf.scores[y.element] || (buf.scores[x.element] == buf.scores[y.element] && x.offset < y.offset)
                }.map(\.element)
                let nd = sorted.count
                var rc = [Double](repeating: 0, count: nd), pr = [Double](repeating: 0, count: nd)
                for t in 0..<T {
                    var tp = 0, fp = 0
                    let bit = UInt16(1) << t
                    for (n, p) in sorted.enumerated() {
                        if buf.ignored[p] & bit == 0 {
                            if buf.matched[p] & bit != 0 { tp += 1 } else { fp += 1 }
                        }
                        rc[n] = Double(tp) / Double(buf.npig)
                        pr[n] = Double(tp) / (Double(fp + tp) + eps)
                    }
                    recall[((t * K + k) * A + a) * M + m] = nd > 0 ? rc[nd - 1] : 0
                    if nd > 1 {
                        for n in stride(from: nd - 1, to: 0, by: -1) where pr[n] > pr[n - 1] { pr[n - 1] = pr[n] }
                    }
                    var p = 0
                    for (r, thr) in recThrs.enumerated() {
                        while p < nd && rc[p] < thr { p += 1 }
                        precision[(((t * R + r) * K + k) * A + a) * M + m] = p < nd ? pr[p] : 0
                    }
                }
            }
        }
    }
}

/// Counting sort of item indices by key (stable): items of bin b are `order[start[b]..<start[b+1]]`.
func csr(keys: [Int], bins: Int) -> (start: [Int], order: [Int]) {
    var start = [Int](repeating: 0, count: bins + 1)
    for k in keys { start[k + 1] += 1 }
    for b in 0..<bins { start[b + 1] += start[b] }
    var fill = start
    var order = [Int](repeating: 0, count: keys.count)
    for (i, k) in keys.enumerated() { order[fill[k]] = i; fill[k] += 1 }
    return (start, order)
}
