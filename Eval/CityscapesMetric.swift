import Foundation

/// The official cityscapesScripts pixel-level evaluation (`evalPixelLevelSemanticLabeling`): a 34×34
/// confusion matrix over label ids, class and category IoU, and instance-weighted iIoU
/// (seg-metrics.md §2.3). Predictions are label ids (train ids mapped back with the first label of
/// each train id).
public struct CityscapesMetric: Sendable {
    struct Label { let name: String; let category: String; let hasInstances: Bool; let ignoreInEval: Bool }
    static let labels: [Label] = [
        ("unlabeled", "void", false, true), ("ego vehicle", "void", false, true), ("rectification border", "void", false, true),
        ("out of roi", "void", false, true), ("static", "void", false, true), ("dynamic", "void", false, true),
        ("ground", "void", false, true), ("road", "flat", false, false), ("sidewalk", "flat", false, false),
        ("parking", "flat", false, true), ("rail track", "flat", false, true), ("building", "construction", false, false),
        ("wall", "construction", false, false), ("fence", "construction", false, false), ("guard rail", "construction", false, true),
        ("bridge", "construction", false, true), ("tunnel", "construction", false, true), ("pole", "object", false, false),
        ("polegroup", "object", false, true), ("traffic light", "object", false, false), ("traffic sign", "object", false, false),
        ("vegetation", "nature", false, false), ("terrain", "nature", false, false), ("sky", "sky", false, false),
        ("person", "human", true, false), ("rider", "human", true, false), ("car", "vehicle", true, false),
        ("truck", "vehicle", true, false), ("bus", "vehicle", true, false), ("caravan", "vehicle", true, true),
        ("trailer", "vehicle", true, true), ("train", "vehicle", true, false), ("motorcycle", "vehicle", true, false),
        ("bicycle", "vehicle", true, false),
    ].map { Label(name: $0.0, category: $0.1, hasInstances: $0.2, ignoreInEval: $0.3) }
    static let categories = ["void", "flat", "construction", "object", "nature", "sky", "human", "vehicle"]
    /// Categories whose labels all have instances (license plate, id −1, is not counted).
    static let instanceCategories = ["human", "vehicle"]
    static let avgClassSize: [String: Double] = [
        "bicycle": 4672.3249222261, "caravan": 36771.8241758242, "motorcycle": 6298.7200839748,
        "rider": 3930.4788056518, "bus": 35732.1511111111, "train": 67583.7075812274, "car": 12794.0202738185,
        "person": 3462.4756337644, "truck": 27855.1264367816, "trailer": 16926.9763313609,
    ]

    private var confusion = [UInt64](repeating: 0, count: 34 * 34)
    private var classTPW = [Double](repeating: 0, count: 34), classFNW = [Double](repeating: 0, count: 34)
    private var catTPW: [String: Double] = ["human": 0, "vehicle": 0], catFNW: [String: Double] = ["human": 0, "vehicle": 0]
    /// The number of images added.
    public private(set) var imageCount = 0

    /// An empty accumulator.
    public init() {}

    /// Adds one image: predicted label ids, ground-truth label ids, and (for iIoU) instance ids.
    public mutating func add(prediction: [UInt8], labelIds: [UInt8], instanceIds: [UInt16]?) throws {
        guard prediction.count == labelIds.count, instanceIds.map({ $0.count == labelIds.count }) ?? true else {
            throw EvalError.invalid("prediction and ground truth differ in size")
        }
        for i in 0..<labelIds.count {
            let g = Int(labelIds[i]), p = Int(prediction[i])
            guard g < 34 else { throw EvalError.invalid("unknown ground-truth label id \(g)") }
            guard p < 34 else { throw EvalError.invalid("predicted label id \(p) is not a Cityscapes label id (0–33)") }
            confusion[g * 34 + p] += 1
        }
        if let inst = instanceIds {
            var pixels = [UInt16: [Int]]()
            for (i, v) in inst.enumerated() where v > 1000 { pixels[v, default: []].append(i) }
            for id in pixels.keys.sorted() {
                let labelId = Int(id) / 1000
                guard labelId < 34 else { throw EvalError.invalid("instance id \(id) names label \(labelId), which does not exist") }
                let label = CityscapesMetric.labels[labelId]
                if label.ignoreInEval { continue }
                let idx = pixels[id]!
                let size = idx.count
                let tp = idx.filter { Int(prediction[$0]) == labelId }.count
                let weight = CityscapesMetric.avgClassSize[label.name]! / Double(size)
                classTPW[labelId] += Double(tp) * weight
                classFNW[labelId] += Double(size - tp) * weight
                if CityscapesMetric.instanceCategories.contains(label.category) {
                    let ids = CityscapesMetric.categoryInstanceLabelIds(label.category)
                    let catTp = idx.filter { ids.contains(Int(prediction[$0])) }.count
                    catTPW[label.category]! += Double(catTp) * weight
                    catFNW[label.category]! += Double(size - catTp) * weight
                }
            }
        }
        imageCount += 1
    }

    static func categoryInstanceLabelIds(_ c: String) -> [Int] { (0..<34).filter { labels[$0].category == c } }

    private func m(_ g: Int, _ p: Int) -> UInt64 { confusion[g * 34 + p] }

    /// Results in cityscapesScripts' terms (fractions, not percent).
    public func summary() -> CityscapesSummary {
        let L = CityscapesMetric.labels
        var classIoU = [Double](), classIIoU = [Double]()
        for l in 0..<34 {
            if L[l].ignoreInEval { classIoU.append(.nan); classIIoU.append(.nan); continue }
            let tp = Int64(m(l, l))
            let fn = Int64((0..<34).reduce(UInt64(0)) { $0 + m(l, $1) }) - tp
            let fp = Int64((0..<34).filter { !L[$0].ignoreInEval && $0 != l }.reduce(UInt64(0)) { $0 + m($1, l) })
            let denom = tp + fp + fn
            classIoU.append(denom == 0 ? .nan : Double(tp) / Double(denom))
            if L[l].hasInstances {
                let d = classTPW[l] + Double(fp) + classFNW[l]
                classIIoU.append(d == 0 ? .nan : classTPW[l] / d)
            } else {
                classIIoU.append(.nan)
            }
        }
        var catIoU = [Double](), catIIoU = [Double]()
        for c in CityscapesMetric.categories {
            let ids = (0..<34).filter { L[$0].category == c && !L[$0].ignoreInEval }
            let others = (0..<34).filter { !L[$0].ignoreInEval && L[$0].category != c }
            if ids.isEmpty {
                catIoU.append(.nan)
            } else {
                var tp: UInt64 = 0, row: UInt64 = 0, fp: UInt64 = 0
                for g in ids { for p in ids { tp += m(g, p) }; for p in 0..<34 { row += m(g, p) } }
                for g in others { for p in ids { fp += m(g, p) } }
                let fn = Int64(row) - Int64(tp)
                let denom = Int64(tp) + Int64(fp) + fn
                catIoU.append(denom == 0 ? .nan : Double(tp) / Double(denom))
            }
            if CityscapesMetric.instanceCategories.contains(c) {
                let instIds = CityscapesMetric.categoryInstanceLabelIds(c)
                var fp: UInt64 = 0
                for g in others { for p in instIds { fp += m(g, p) } }
                let d = catTPW[c]! + Double(fp) + catFNW[c]!
                catIIoU.append(d == 0 ? .nan : catTPW[c]! / d)
            } else {
                catIIoU.append(.nan)
            }
        }
        return CityscapesSummary(classIoU: classIoU, classIIoU: classIIoU, categoryIoU: catIoU, categoryIIoU: catIIoU)
    }
}

/// Scores of the official Cityscapes evaluation (fractions), indexed by label id / category.
public struct CityscapesSummary: Sendable {
    /// IoU and instance-weighted iIoU (fractions, 0–1): the class arrays are indexed by label id (0…33),
    /// the category arrays by category (void, flat, construction, object, nature, sky, human, vehicle).
    /// NaN where cityscapesScripts gives no score: labels ignored in evaluation and the void category,
    /// iIoU outside the classes with instances and the human and vehicle categories, and empty
    /// denominators.
    public let classIoU: [Double], classIIoU: [Double], categoryIoU: [Double], categoryIIoU: [Double]

    /// `getScoreAverage`: sequential float64 mean of the non-NaN entries.
    static func average(_ v: [Double]) -> Double {
        var n = 0, s = 0.0
        for x in v where !x.isNaN { n += 1; s += x }
        return n == 0 ? .nan : s / Double(n)
    }

    /// The mean class IoU over the 19 evaluated classes (`averageScoreClasses`), skipping NaN.
    public var averageScoreClasses: Double { CityscapesSummary.average(classIoU) }
    /// The mean class iIoU over the 8 evaluated classes with instances (`averageScoreInstClasses`),
    /// skipping NaN.
    public var averageScoreInstClasses: Double { CityscapesSummary.average(classIIoU) }
    /// The mean category IoU (`averageScoreCategories`), skipping NaN.
    public var averageScoreCategories: Double { CityscapesSummary.average(categoryIoU) }
    /// The mean category iIoU, over human and vehicle (`averageScoreInstCategories`), skipping NaN.
    public var averageScoreInstCategories: Double { CityscapesSummary.average(categoryIIoU) }

    /// The class and category tables cityscapesScripts prints.
    public var report: String {
        func f(_ v: Double) -> String { v.isNaN ? "  nan" : String(format: "%5.3f", v) }
        func pad(_ s: String) -> String { s.count >= 14 ? s : s + String(repeating: " ", count: 14 - s.count) }
        var lines = ["classes          IoU      nIoU", "--------------------------------"]
        for (l, label) in CityscapesMetric.labels.enumerated() where !label.ignoreInEval {
            lines.append("\(pad(label.name)): \(f(classIoU[l]))    \(f(classIIoU[l]))")
        }
        lines += ["--------------------------------", "Score Average : \(f(averageScoreClasses))    \(f(averageScoreInstClasses))",
                  "--------------------------------", "", "categories       IoU      nIoU", "--------------------------------"]
        for (i, c) in CityscapesMetric.categories.enumerated() where c != "void" {
            lines.append("\(pad(c)): \(f(categoryIoU[i]))    \(f(categoryIIoU[i]))")
        }
        lines += ["--------------------------------", "Score Average : \(f(averageScoreCategories))    \(f(averageScoreInstCategories))",
                  "--------------------------------"]
        return lines.joined(separator: "\n")
    }
}
