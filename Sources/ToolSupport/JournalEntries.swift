import Foundation

// The lines the eval tools journal, one type per tool, and how each is checked when read back
// (`Journal` drops a line whose decoding throws, and the image is computed again). Shared here so
// that the journal fuzzer (Tests/Fuzz) runs the tools' own decoders.

/// One image of `replk-cls eval`'s resume journal: its class and the model's logits.
public struct LogitsEntry: JournalEntry {
    /// The image's class index (from its folder).
    public var label: Int
    /// The model's logits, one per class.
    public var logits: [Float]
    /// `label` and `logits` (as doubles).
    public var journalFields: [String: Any] { ["label": label, "logits": logits.map(Double.init)] }

    /// An entry for an image of class `label` with the model's `logits`.
    public init(label: Int, logits: [Float]) {
        self.label = label
        self.logits = logits
    }

    /// Reads a line back: the image's class (`expectedLabel`, from its folder) and `classes`
    /// finite logits.
    public init(_ line: JournalLine, classes: Int, expectedLabel: Int) throws {
        let label = try line.int("label", in: 0...max(0, classes - 1))
        guard label == expectedLabel else { throw JournalLineError("\"label\" is \(label), the image's folder says \(expectedLabel)") }
        self.init(label: label, logits: try line.finiteNumbers("logits", count: classes).map(Float.init))
    }
}

/// One image of a `replk-cls eval` shard partial: its class and the model's top classes (highest
/// first), all `merge` needs to count top-1 and top-5 as the unsharded run does.
public struct RankedEntry: JournalEntry {
    /// The image's class index (from its folder).
    public var label: Int
    /// The model's top class indices, highest logit first.
    public var top: [Int]
    /// `label` and `top`.
    public var journalFields: [String: Any] { ["label": label, "top": top] }

    /// An entry for an image of class `label` whose top classes are `top` (highest first).
    public init(label: Int, top: [Int]) {
        self.label = label
        self.top = top
    }

    /// Reads a line back: a class and min(k, `classes`) distinct classes.
    public init(_ line: JournalLine, classes: Int, k: Int) throws {
        let label = try line.int("label", in: 0...max(0, classes - 1))
        let top = try line.ints("top", count: min(k, classes), in: 0...max(0, classes - 1))
        guard Set(top).count == top.count else { throw JournalLineError("\"top\" repeats a class") }
        self.init(label: label, top: top)
    }
}

/// One image of `replk-seg eval`'s resume journal: its per-class pixel counts, or why it was skipped
/// (`--keep-going`).
public enum SegmentationEntry: JournalEntry {
    /// Per-class pixel counts of one image, the histograms `SegmentationMetric` sums: pixels
    /// predicted as the class where the ground truth is that class (`intersect`), predicted as it
    /// (`pred`) and labelled as it (`label`).
    case counts(intersect: [Int], pred: [Int], label: [Int])
    /// The image was skipped under `--keep-going`; the payload says why.
    case skipped(String)

    /// `intersect`, `pred` and `label`, or `skipped`.
    public var journalFields: [String: Any] {
        switch self {
        case let .counts(i, p, l): return ["intersect": i, "pred": p, "label": l]
        case let .skipped(why): return ["skipped": why]
        }
    }

    /// Reads a line back: counts of `classes` classes that one image can have produced (no more
    /// pixels than a 65536² image, an intersection within both of its areas, as many predicted
    /// pixels as labelled ones), or a skip.
    public init(_ line: JournalLine, classes: Int) throws {
        if line.has("skipped") {
            self = .skipped(try line.string("skipped"))
            return
        }
        let pixels = 0...(1 << 32)
        let i = try line.ints("intersect", count: classes, in: pixels)
        let p = try line.ints("pred", count: classes, in: pixels)
        let l = try line.ints("label", count: classes, in: pixels)
        if let c = (0..<classes).first(where: { i[$0] > min(p[$0], l[$0]) }) {
            throw JournalLineError("\"intersect\"[\(c)] exceeds the class's predicted or labelled pixels")
        }
        guard p.reduce(0, +) == l.reduce(0, +) else { throw JournalLineError("\"pred\" and \"label\" count different numbers of pixels") }
        self = .counts(intersect: i, pred: p, label: l)
    }
}

/// One image of `replk-det eval`'s resume journal: its detections as COCO results (JSON text, so that no
/// digit changes on the way to the results file), or why it was skipped (`--keep-going`).
public enum DetectionEntry: JournalEntry {
    /// The image's detections as the JSON text of an array of COCO results (`image_id`,
    /// `category_id`, `bbox` as COCO's [x, y, w, h] in pixels, `score`, and an RLE `segmentation` where
    /// the model predicts masks).
    case results(String)
    /// The image was skipped under `--keep-going`; the payload says why.
    case skipped(String)

    /// `results` (the JSON text, verbatim), or `skipped`.
    public var journalFields: [String: Any] {
        switch self {
        case let .results(text): return ["results": text]
        case let .skipped(why): return ["skipped": why]
        }
    }

    /// Reads a line back: a JSON array of COCO results for image `imageId` of `height × width`,
    /// with categories among `categoryIds`, finite boxes and scores, and masks of the image's
    /// size; or a skip.
    public init(_ line: JournalLine, imageId: Int, height: Int, width: Int, categoryIds: Set<Int>) throws {
        if line.has("skipped") {
            self = .skipped(try line.string("skipped"))
            return
        }
        let text = try line.string("results")
        guard text.hasPrefix("["), text.hasSuffix("]"),
              let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] else {
            throw JournalLineError("\"results\" is not a JSON array")
        }
        for (n, item) in list.enumerated() {
            guard let d = item as? [String: Any] else { throw JournalLineError("\"results\"[\(n)] is not an object") }
            let r = JournalLine(d)
            do {
                guard try r.int("image_id", in: Int.min...Int.max) == imageId else { throw JournalLineError("\"image_id\" is not \(imageId)") }
                guard categoryIds.contains(try r.int("category_id", in: Int.min...Int.max)) else {
                    throw JournalLineError("\"category_id\" is not a category of the model")
                }
                _ = try r.finiteNumbers("bbox", count: 4)
                guard let score = JournalLine.number(d["score"] as Any), score.isFinite else { throw JournalLineError("\"score\" is not a finite number") }
                if let m = d["segmentation"] {
                    guard let mask = m as? [String: Any] else { throw JournalLineError("\"segmentation\" is not an object") }
                    let rle = JournalLine(mask)
                    guard try rle.ints("size", count: 2, in: 0...Int.max) == [height, width] else {
                        throw JournalLineError("\"segmentation\" is not of the image's size")
                    }
                    _ = try rle.string("counts")
                }
            } catch let e as JournalLineError {
                throw JournalLineError("\"results\"[\(n)]: \(e.reason)")
            }
        }
        self = .results(text)
    }
}
