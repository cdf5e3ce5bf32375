import Dispatch
import Foundation

/// What is compared: boxes or masks.
public enum COCOIoUType: String, Sendable {
    case bbox, segm
}

/// One row of mmdetection's class-wise COCO table.
public struct COCOCategoryAP: Sendable {
    /// The category id.
    public var id: Int
    /// The category name.
    public var name: String
    /// AP at IoU 0.50:0.95, 0.50, 0.75, and at 0.50:0.95 for small, medium and large objects.
    public var ap: Double, ap50: Double, ap75: Double, apSmall: Double, apMedium: Double, apLarge: Double

    /// The row as mmdetection prints it: each value `round(x, 3)` as Python shows it ("0.6", "nan").
    public var mmdetCells: [String] {
        [name] + [ap, ap50, ap75, apSmall, apMedium, apLarge].map { x in
            x.isNaN ? "nan" : "\(Double(String(format: "%.3f", x))!)"
        }
    }
}

/// The 12 summary numbers and the per-category APs of one evaluation.
public struct COCOSummary: Sendable {
    /// What was compared: boxes or masks.
    public var iouType: COCOIoUType
    /// The evaluator's detection limits (`COCOEvaluator.maxDets`), which the summary lines name.
    public var maxDets: [Int]
    /// `COCOeval.stats`, in pycocotools' order.
    public var stats: [Double]
    /// AP per category (IoU 0.50:0.95, area all, the largest maxDets), NaN when it has no ground truth.
    public var perCategory: [(id: Int, name: String, ap: Double)]
    /// mmdetection's class-wise table (`CocoMetric(classwise=True)`): per category AP at IoU
    /// 0.50:0.95, 0.50 and 0.75, and for small, medium and large areas, each the mean of
    /// `precision[…, k, area, last maxDets]` over its entries > −1 (NaN when there are none).
    public var classwise: [COCOCategoryAP] = []

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
/// A pure accumulator: `add` detections (any number of calls), then `summary()`. Memory grows with
/// the annotations, detections and categories, never with images × categories: only (image,
/// category) pairs that hold ground truth or detections are visited, and each category keeps its
/// precision curves as runs of equal values.
public final class COCOEvaluator {
    /// What is compared: boxes (`bbox`) or masks (`segm`).
    public let iouType: COCOIoUType
    /// The detection limits, as `COCOeval.params.maxDets`: the last is how many of the highest-scoring
    /// detections are matched per image and category. `summary()` reads them as `COCOeval.summarize()`
    /// does: AR at the first, second and last; the first AP at 100 (−1 when 100 is not listed), the
    /// other APs at the last.
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
    private let source: String
    private let imageIds: [Int]
    private let imageIndex: [Int: Int]
    private let imageSizes: [(h: Int, w: Int)]
    private let categoryIds: [Int]
    private let categoryIndex: [Int: Int]
    private let categoryNames: [Int: String]
    private let gtGroups: Grouping     // by (category, image), file order inside
    private let gtImage: [Int]
    private let gtIds: [Int], gtArea: [Double], gtCrowd: [Bool], gtBox: [[Double]]
    private var gtMasks: [RLE?], gtMaskBox: [[Double]]

    // Detections in add() order.
    private var dtImage: [Int] = [], dtCategory: [Int] = [], dtScore: [Double] = [], dtBox: [[Double]] = []
    private var dtArea: [Double] = [], dtMask: [RLE?] = [], dtMaskBox: [[Double]] = []
    private var boxResults: Bool?
    private var added = 0

    /// An evaluator over `gt`'s images and categories.
    ///
    /// - Parameters:
    ///   - gt: the ground truth; annotations whose image or category it does not list are never
    ///     evaluated, as in pycocotools.
    ///   - iouType: compare boxes or masks.
    ///   - maxDets: pycocotools' default [1, 10, 100]; mmdetection uses [100, 300, 1000].
    /// - Throws: `EvalError.invalid` when `maxDets` is empty or not all positive, or (for `segm`)
    ///   when an annotation has no segmentation or one pycocotools cannot make a mask of.
    public init(groundTruth gt: COCOGroundTruth, iouType: COCOIoUType, maxDets: [Int] = [1, 10, 100]) throws {
        guard !maxDets.isEmpty, maxDets.allSatisfy({ $0 > 0 }) else { throw EvalError.invalid("maxDets must be positive") }
        self.iouType = iouType
        self.maxDets = maxDets
        source = gt.source
        let images = Dictionary(gt.images.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        imageIds = images.keys.sorted()
        imageIndex = Dictionary(uniqueKeysWithValues: imageIds.enumerated().map { ($1, $0) })
        imageSizes = imageIds.map { (images[$0]!.height, images[$0]!.width) }
        categoryIds = Set(gt.categories.map(\.id)).sorted()
        categoryIndex = Dictionary(uniqueKeysWithValues: categoryIds.enumerated().map { ($1, $0) })
        categoryNames = Dictionary(gt.categories.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var cats = [Int](), imgs = [Int](), kept = [Int]()
        for (n, a) in gt.annotations.enumerated() {
            // pycocotools indexes annotations by image and category; others are never evaluated.
            guard let i = imageIndex[a.imageId], let k = categoryIndex[a.categoryId] else { continue }
            cats.append(k); imgs.append(i)
            kept.append(n)
        }
        gtGroups = Grouping(categories: cats, images: imgs, categoryCount: categoryIds.count, imageCount: imageIds.count)
        gtImage = imgs
        let anns = kept.map { gt.annotations[$0] }
        gtIds = anns.map(\.id)
        gtArea = anns.map(\.area)
        gtCrowd = anns.map(\.isCrowd)
        gtBox = anns.map(\.bbox)
        gtMasks = Array(repeating: nil, count: anns.count)
        gtMaskBox = Array(repeating: [], count: anns.count)
        if iouType == .segm {
            for (j, a) in anns.enumerated() {
                let size = imageSizes[imgs[j]]
                let what = COCOEvaluator.prefix(gt.source) + "annotation \(a.id)"
                guard let s = a.segmentation else {
                    throw EvalError.invalid("\(what) has no segmentation (needed for segm evaluation)")
                }
                let m = try COCOEvaluator.mask(s, height: size.h, width: size.w, what: what)
                gtMasks[j] = m
                gtMaskBox[j] = m.boundingBox
            }
        }
    }

    static func prefix(_ source: String?) -> String {
        guard let source, !source.isEmpty else { return "" }
        return source + ": "
    }

    /// A segmentation as the mask pycocotools' `annToRLE` makes, refusing what its C code cannot.
    static func mask(_ s: COCOSegmentation, height: Int, width: Int, what: String) throws -> RLE {
        do {
            switch s {
            case let .rle(r):
                try RLE.checkSize(height: r.height, width: r.width)
                return r
            case let .polygons(rings):
                guard let first = rings.first, first.count > 4 else {
                    throw EvalError.invalid("\(what): polygon with fewer than 3 points")
                }
                return try RLE.polygons(rings, height: height, width: width)
            }
        } catch let e as MaskError {
            throw EvalError.invalid("\(what): \(e)")
        }
    }

    /// Adds detections (a results file's entries, in file order). The kind of results (box or mask)
    /// is decided by the first detection ever added, as `loadRes` does.
    ///
    /// - Parameters:
    ///   - detections: the results; those of categories the ground truth lacks are dropped.
    ///   - source: the results file, named in errors.
    /// - Throws: `EvalError.unknownImage` for an image the ground truth does not list;
    ///   `EvalError.invalid` for a detection without the box or mask its kind of results needs, or
    ///   a mask pycocotools cannot make.
    public func add(_ detections: [COCODetection], source: String? = nil) throws {
        for d in detections {
            added += 1
            let what = COCOEvaluator.prefix(source) + "detection \(added) (image \(d.imageId))"
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
                    if let s = d.segmentation {
                        m = try COCOEvaluator.mask(s, height: size.h, width: size.w, what: what)
                    } else {
                        do { m = try RLE.box(b, height: size.h, width: size.w) } catch let e as MaskError {
                            throw EvalError.invalid("\(what): its box \(b) as a mask: \(e)")
                        }
                    }
                }
            } else {
                guard case let .rle(r)? = d.segmentation else {
                    throw EvalError.invalid("mask results must carry compressed RLE segmentations")
                }
                // pycocotools sums the area and finds the box in 32-bit unsigned ints.
                let (pixels, overflow) = r.height.multipliedReportingOverflow(by: r.width)
                guard !overflow, pixels <= Int(UInt32.max) else {
                    throw EvalError.invalid("\(what): mask size \(r.height)×\(r.width) is more than \(UInt32.max) pixels (pycocotools' 32-bit mask area)")
                }
                area = Double(r.area)
                box = d.bbox ?? r.boundingBox
                if iouType == .segm { m = try COCOEvaluator.mask(.rle(r), height: size.h, width: size.w, what: what) }
            }
            dtImage.append(i); dtCategory.append(k); dtScore.append(d.score); dtBox.append(box)
            dtArea.append(area); dtMask.append(iouType == .segm ? m : nil)
            dtMaskBox.append(iouType == .segm ? m!.boundingBox : [])
        }
    }

    /// Number of detections kept so far.
    public var detectionCount: Int { dtScore.count }

    /// Evaluates, accumulates and summarises.
    public func summary() -> COCOSummary {
        let T = COCOEvaluator.iouThresholds.count, R = COCOEvaluator.recallThresholds.count
        let K = categoryIds.count, A = COCOEvaluator.areaRanges.count, M = maxDets.count
        let dtGroups = Grouping(categories: dtCategory, images: dtImage, categoryCount: K, imageCount: imageIds.count)
        let maxDet = maxDets.last!
        var curves = [CategoryCurves?](repeating: nil, count: K)
        curves.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: K) { k in
                out[k] = self.evaluateCategory(k, dtGroups: dtGroups, maxDet: maxDet)
            }
        }
        // summarize(): the mean of the selected entries > −1, numpy's pairwise sum over them in
        // row-major (t, r, k) order for precision and (t, k) for recall.
        func mean(_ ap: Bool, iou: Double?, area a: Int, maxDet md: Int) -> Double {
            guard let m = maxDets.firstIndex(of: md) else { return -1 }
            let ts = iou.map { t in (0..<T).filter { COCOEvaluator.iouThresholds[$0] == t } } ?? Array(0..<T)
            if !ap {
                var vals = [Double]()
                for t in ts { for k in 0..<K {
                    if let c = curves[k], c.recall[(t * A + a) * M + m] > -1 { vals.append(c.recall[(t * A + a) * M + m]) }
                } }
                return vals.isEmpty ? -1 : numpyMean(vals)
            }
            // Per threshold, the categories with a curve there; their R values are laid out
            // r-major one threshold at a time (at most R × K values) and summed as one stream.
            let perT: [[(k: Int, q: Int)]] = ts.map { t in
                (0..<K).compactMap { k in
                    guard let c = curves[k] else { return nil }
                    let q = (a * M + m) * T + t
                    return c.runStart[q] < c.runStart[q + 1] ? (k, q) : nil
                }
            }
            let n = perT.reduce(0) { $0 + $1.count } * R
            if n == 0 { return -1 }
            var ti = -1, pos = 0
            var block = [Double]()
            let sum = pairwiseSum(count: n) {
                while pos == block.count {
                    ti += 1
                    let cats = perT[ti]
                    block = [Double](repeating: 0, count: cats.count * R)
                    for (j, (k, q)) in cats.enumerated() {
                        let c = curves[k]!
                        var r = 0
                        for run in Int(c.runStart[q])..<Int(c.runStart[q + 1]) {
                            while r < Int(c.runEnd[run]) { block[r * cats.count + j] = c.runValue[run]; r += 1 }
                        }
                    }
                    pos = 0
                }
                pos += 1
                return block[pos - 1]
            }
            return (0.0 + sum) / Double(n)
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
            if let c = curves[k] {
                for t in 0..<T {
                    let q = (0 * M + (M - 1)) * T + t
                    for run in Int(c.runStart[q])..<Int(c.runStart[q + 1]) {
                        let from = run == Int(c.runStart[q]) ? 0 : Int(c.runEnd[run - 1])
                        vals += repeatElement(c.runValue[run], count: Int(c.runEnd[run]) - from)
                    }
                }
            }
            return (categoryIds[k], categoryNames[categoryIds[k]] ?? "\(categoryIds[k])", vals.isEmpty ? .nan : numpyMean(vals))
        }
        // The class-wise table: the same selection per IoU threshold subset and area range.
        func categoryAP(_ k: Int, ts: [Int], area a: Int) -> Double {
            guard let c = curves[k] else { return .nan }
            var vals = [Double]()
            for t in ts {
                let q = (a * M + (M - 1)) * T + t
                for run in Int(c.runStart[q])..<Int(c.runStart[q + 1]) {
                    let from = run == Int(c.runStart[q]) ? 0 : Int(c.runEnd[run - 1])
                    vals += repeatElement(c.runValue[run], count: Int(c.runEnd[run]) - from)
                }
            }
            return vals.isEmpty ? .nan : numpyMean(vals)
        }
        let all = Array(0..<T)
        let t50 = (0..<T).filter { COCOEvaluator.iouThresholds[$0] == 0.5 }, t75 = (0..<T).filter { COCOEvaluator.iouThresholds[$0] == 0.75 }
        let classwise = (0..<K).map { k in
            COCOCategoryAP(id: categoryIds[k], name: categoryNames[categoryIds[k]] ?? "\(categoryIds[k])",
                           ap: categoryAP(k, ts: all, area: 0), ap50: categoryAP(k, ts: t50, area: 0), ap75: categoryAP(k, ts: t75, area: 0),
                           apSmall: categoryAP(k, ts: all, area: 1), apMedium: categoryAP(k, ts: all, area: 2), apLarge: categoryAP(k, ts: all, area: 3))
        }
        var summary = COCOSummary(iouType: iouType, maxDets: maxDets, stats: stats, perCategory: perCategory)
        summary.classwise = classwise
        return summary
    }

    /// One category's `precision[:, :, k, :, :]` and `recall[:, k, :, :]`.
    private struct CategoryCurves {
        /// recall[(t·A + a)·M + m], −1 where absent.
        var recall: [Double]
        /// The R precision values of (t, a, m), q = (a·M + m)·T + t, are the runs
        /// runStart[q]..<runStart[q + 1]: value runValue[j] up to recall threshold runEnd[j]
        /// (exclusive). No runs: −1 (no ground truth to recall in that area range).
        var runStart: [Int32]
        var runValue: [Double]
        var runEnd: [UInt8]
    }

    private struct AreaBuffer {
        var scores: [Double] = []
        var matched: [UInt16] = []   // bit t: matched at threshold t (dtm != 0)
        var ignored: [UInt16] = []   // bit t: dtIgnore at threshold t
        var starts: [Int] = []       // per non-null image: first position and count
        var counts: [Int] = []
        var npig = 0
    }

    /// `np.argsort(-scores, kind='mergesort')`'s order: higher scores first, NaN last, ties (NaNs
    /// among themselves included) in their given order. `>` alone is no order once a NaN is present.
    @inline(__always) static func scoreFirst(_ x: Double, _ y: Double) -> Bool {
        if x.isNaN { return false }
        if y.isNaN { return true }
        return x > y
    }

    /// Indices `items` (in their given order) stably sorted by `scoreFirst` of `score(item)`.
    @inline(__always) static func byScore(_ items: [Int], _ score: (Int) -> Double) -> [Int] {
        items.enumerated().sorted { a, b in
            let sa = score(a.element), sb = score(b.element)
            return scoreFirst(sa, sb) || (!scoreFirst(sb, sa) && a.offset < b.offset)
        }.map(\.element)
    }

    private func evaluateCategory(_ k: Int, dtGroups: Grouping, maxDet: Int) -> CategoryCurves? {
        let T = COCOEvaluator.iouThresholds.count, R = COCOEvaluator.recallThresholds.count
        let A = COCOEvaluator.areaRanges.count, M = maxDets.count
        let thresholds = COCOEvaluator.iouThresholds
        var buffers = [AreaBuffer](repeating: AreaBuffer(), count: A)
        let gtItems = gtGroups.order[gtGroups.start[k]..<gtGroups.start[k + 1]]
        let dtItems = dtGroups.order[dtGroups.start[k]..<dtGroups.start[k + 1]]
        var gp = gtItems.startIndex, dp = dtItems.startIndex
        // Images in ascending order that hold ground truth or detections of this category; the
        // others give pycocotools' null entries, which contribute nothing.
        while gp < gtItems.endIndex || dp < dtItems.endIndex {
            let i = min(gp < gtItems.endIndex ? gtImage[gtItems[gp]] : Int.max,
                        dp < dtItems.endIndex ? dtImage[dtItems[dp]] : Int.max)
            var g = [Int](), d = [Int]()
            while gp < gtItems.endIndex && gtImage[gtItems[gp]] == i { g.append(gtItems[gp]); gp += 1 }
            while dp < dtItems.endIndex && dtImage[dtItems[dp]] == i { d.append(dtItems[dp]); dp += 1 }
            // Score order, keep the first maxDets[-1].
            d = COCOEvaluator.byScore(d) { self.dtScore[$0] }
            if d.count > maxDet { d.removeLast(d.count - maxDet) }
            let G = g.count, D = d.count
            // Per area range (flat, a·G + position): ignore flags of the ground truth in file
            // order, and the order non-ignored first, each group in file order.
            var ignore = [Bool](repeating: false, count: A * G), order = [Int](repeating: 0, count: A * G)
            for a in 0..<A {
                let (lo, hi) = COCOEvaluator.areaRanges[a]
                var n = a * G
                for (gi, gj) in g.enumerated() {
                    let ig = gtCrowd[gj] || gtArea[gj] < lo || gtArea[gj] > hi
                    ignore[a * G + gi] = ig
                    if !ig { order[n] = gi; n += 1 }
                }
                for gi in 0..<G where ignore[a * G + gi] { order[n] = gi; n += 1 }
            }
            var matched = [UInt16](repeating: 0, count: A * D), ignored = matched   // a·D + di
            if D > 0 && G > 0 {
                // Detection by detection: its IoU row (ground truth in file order), then its greedy
                // match for every area range and threshold. Each (area, threshold) keeps its own
                // taken flags, so this is pycocotools' loop order's result with one row in memory.
                var row = [Double](repeating: 0, count: G)
                var taken = [Bool](repeating: false, count: A * T * G)
                for di in 0..<D {
                    let dj = d[di]
                    for (gi, gj) in g.enumerated() {
                        switch iouType {
                        case .bbox:
                            row[gi] = boxIoU(dtBox[dj], gtBox[gj], crowd: gtCrowd[gj])
                        case .segm:
                            row[gi] = maskIoU(dtMask[dj]!, dBox: dtMaskBox[dj], gtMasks[gj]!, gBox: gtMaskBox[gj], crowd: gtCrowd[gj])
                        }
                    }
                    for a in 0..<A {
                        for t in 0..<T {
                            let base = (a * T + t) * G
                            var best = min(thresholds[t], 1 - 1e-10)
                            var m = -1
                            for pos in 0..<G {
                                let gi = order[a * G + pos]
                                if taken[base + pos] && !gtCrowd[g[gi]] { continue }
                                if m > -1 && !ignore[a * G + order[a * G + m]] && ignore[a * G + gi] { break }
                                let v = row[gi]
                                if v < best { continue }
                                best = v
                                m = pos
                            }
                            if m == -1 { continue }
                            let gi = order[a * G + m]
                            if ignore[a * G + gi] { ignored[a * D + di] |= 1 << t }
                            // A ground-truth id of 0 reads as "unmatched" in pycocotools' tables.
                            if gtIds[g[gi]] != 0 { matched[a * D + di] |= 1 << t }
                            taken[base + m] = true
                        }
                    }
                }
            }
            for a in 0..<A {
                let (lo, hi) = COCOEvaluator.areaRanges[a]
                for di in 0..<D where dtArea[d[di]] < lo || dtArea[d[di]] > hi {
                    // Unmatched detections outside the range are ignored.
                    ignored[a * D + di] |= ~matched[a * D + di] & UInt16((1 << T) - 1)
                }
                buffers[a].starts.append(buffers[a].scores.count)
                buffers[a].counts.append(D)
                buffers[a].scores += d.map { dtScore[$0] }
                buffers[a].matched += matched[(a * D)..<(a * D + D)]
                buffers[a].ignored += ignored[(a * D)..<(a * D + D)]
                buffers[a].npig += ignore[(a * G)..<(a * G + G)].filter { !$0 }.count
            }
        }
        // accumulate()
        let eps = 2.220446049250313e-16
        let recThrs = COCOEvaluator.recallThresholds
        var out = CategoryCurves(recall: [Double](repeating: -1, count: T * A * M), runStart: [0], runValue: [], runEnd: [])
        var any = false
        var q = [Double](repeating: 0, count: R)
        for a in 0..<A {
            let buf = buffers[a]
            let present = !buf.starts.isEmpty && buf.npig > 0
            for (m, md) in maxDets.enumerated() {
                guard present else {
                    for _ in 0..<T { out.runStart.append(Int32(out.runValue.count)) }
                    continue
                }
                any = true
                var pos = [Int]()
                for (s, c) in zip(buf.starts, buf.counts) { pos += s..<(s + min(c, md)) }
                // Stable: equal scores keep image order, then file order.
                let sorted = COCOEvaluator.byScore(pos) { buf.scores[$0] }
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
                    out.recall[(t * A + a) * M + m] = nd > 0 ? rc[nd - 1] : 0
                    if nd > 1 {
                        for n in stride(from: nd - 1, to: 0, by: -1) where pr[n] > pr[n - 1] { pr[n - 1] = pr[n] }
                    }
                    var p = 0
                    for (r, thr) in recThrs.enumerated() {
                        while p < nd && rc[p] < thr { p += 1 }
                        q[r] = p < nd ? pr[p] : 0
                    }
                    for r in 0..<R {
                        if r > 0 && q[r].bitPattern == q[r - 1].bitPattern { out.runEnd[out.runEnd.count - 1] += 1; continue }
                        out.runValue.append(q[r]); out.runEnd.append(UInt8(r + 1))
                    }
                    out.runStart.append(Int32(out.runValue.count))
                }
            }
        }
        return any ? out : nil
    }
}

/// Item indices grouped by category, then image, each group in the items' order (two stable
/// counting sorts): the items of category k are `order[start[k]..<start[k + 1]]`, by ascending image.
struct Grouping {
    var order: [Int]
    var start: [Int]

    init(categories: [Int], images: [Int], categoryCount: Int, imageCount: Int) {
        let byImage = csr(keys: images, bins: imageCount).order
        var start = [Int](repeating: 0, count: categoryCount + 1)
        for k in categories { start[k + 1] += 1 }
        for k in 0..<categoryCount { start[k + 1] += start[k] }
        var fill = start
        var order = [Int](repeating: 0, count: categories.count)
        for item in byImage { let k = categories[item]; order[fill[k]] = item; fill[k] += 1 }
        self.order = order
        self.start = start
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
