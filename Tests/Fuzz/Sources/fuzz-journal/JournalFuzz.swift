// libFuzzer target: resume journals (Sources/ToolSupport/Journal.swift), read back as `--resume` does.
// Byte 0 of the input picks the file: even, the rest of the input is the whole journal (its first
// line must then be the expected settings line or the journal is refused); odd, the expected settings
// line is written first and the rest of the input follows it, so that the entry lines are fuzzed
// behind a header that passes. Lines are decoded with copies of the three tools' decoders (the tools
// are executables, which another package cannot import): replk-cls (label + logits), replk-seg
// (per-class pixel counts, or a skip) and replk-det (COCO results as JSON text, or a skip), chosen
// by the key. A line that does not decode must be dropped, never trusted, never a crash.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ToolSupport

let classes = 5
let clsLabels = ["cls/a.jpg": 0, "cls/b.jpg": 3]
let segKeys: Set<String> = ["seg/a.png", "seg/b.png"]
let detImages = ["1": (id: 1, height: 256, width: 256), "2": (id: 2, height: 64, width: 32)]
let detCategories: Set<Int> = [1, 2, 3]
let keys = Set(clsLabels.keys).union(segKeys).union(detImages.keys)
let settings: [String: Any] = ["tool": "fuzz", "images": keys.count, "classes": classes]
let checkpoint = "fuzz.pth"
let checkpointSHA256 = String(repeating: "ab", count: 32)
let path = "/tmp/replk-fuzz-journal-\(getpid()).jsonl"

enum Entry: JournalEntry {
    case logits(label: Int, values: [Double])
    case counts(intersect: [Int], pred: [Int], label: [Int])
    case results(String)
    case skipped(String)
    var journalFields: [String: Any] { [:] }
}

/// replk-cls's decoder (Sources/Tools/replk-cls/ReplkCls.swift, Evaluate.run).
func decodeCls(_ key: String, _ line: JournalLine) throws -> Entry {
    let label = try line.int("label", in: 0...max(0, classes - 1))
    guard label == clsLabels[key] else { throw JournalLineError("\"label\" is \(label), the image's folder says \(clsLabels[key]!)") }
    return .logits(label: label, values: try line.finiteNumbers("logits", count: classes))
}

/// replk-seg's decoder (Sources/Tools/replk-seg/ReplkSeg.swift, SegmentationEntry.init).
func decodeSeg(_ line: JournalLine) throws -> Entry {
    if line.has("skipped") { return .skipped(try line.string("skipped")) }
    let pixels = 0...(1 << 32)
    let i = try line.ints("intersect", count: classes, in: pixels)
    let p = try line.ints("pred", count: classes, in: pixels)
    let l = try line.ints("label", count: classes, in: pixels)
    if let c = (0..<classes).first(where: { i[$0] > min(p[$0], l[$0]) }) {
        throw JournalLineError("\"intersect\"[\(c)] exceeds the class's predicted or labelled pixels")
    }
    guard p.reduce(0, +) == l.reduce(0, +) else { throw JournalLineError("\"pred\" and \"label\" count different numbers of pixels") }
    return .counts(intersect: i, pred: p, label: l)
}

/// replk-det's decoder (Sources/Tools/replk-det/ReplkDet.swift, DetectionEntry.init).
func decodeDet(_ key: String, _ line: JournalLine) throws -> Entry {
    if line.has("skipped") { return .skipped(try line.string("skipped")) }
    let image = detImages[key]!
    let text = try line.string("results")
    guard text.hasPrefix("["), text.hasSuffix("]"),
          let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] else {
        throw JournalLineError("\"results\" is not a JSON array")
    }
    for (n, item) in list.enumerated() {
        guard let d = item as? [String: Any] else { throw JournalLineError("\"results\"[\(n)] is not an object") }
        let r = JournalLine(d)
        do {
            guard try r.int("image_id", in: Int.min...Int.max) == image.id else { throw JournalLineError("\"image_id\" is not \(image.id)") }
            guard detCategories.contains(try r.int("category_id", in: Int.min...Int.max)) else {
                throw JournalLineError("\"category_id\" is not a category of the model")
            }
            _ = try r.finiteNumbers("bbox", count: 4)
            guard let score = JournalLine.number(d["score"] as Any), score.isFinite else { throw JournalLineError("\"score\" is not a finite number") }
            if let m = d["segmentation"] {
                guard let mask = m as? [String: Any] else { throw JournalLineError("\"segmentation\" is not an object") }
                let rle = JournalLine(mask)
                guard try rle.ints("size", count: 2, in: 0...Int.max) == [image.height, image.width] else {
                    throw JournalLineError("\"segmentation\" is not of the image's size")
                }
                _ = try rle.string("counts")
            }
        } catch let e as JournalLineError {
            throw JournalLineError("\"results\"[\(n)]: \(e.reason)")
        }
    }
    return .results(text)
}

/// The settings line the journal writes for these settings (read from a fresh journal once).
let header: [UInt8] = {
    do {
        _ = try Journal<Entry>(path: path, settings: settings, checkpoint: checkpoint, checkpointSHA256: checkpointSHA256,
                               resume: false, keys: keys, tool: "fuzz") { _, _ in .skipped("") }
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        unlink(path)
        return bytes
    } catch { fatalError("cannot write a fresh journal at \(path): \(error)") }
}()

/// Runs once before fuzzing: globals are built here, outside the runs LeakSanitizer checks (a
/// lazy global first built inside a run would be reported as that run's leak).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    _ = header
    _ = keys
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 1 else { return 0 }
    let body = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let file = (data[0] & 1 == 1 ? header : []) + Array(body)
    guard (try? Data(file).write(to: URL(fileURLWithPath: path))) != nil else { return 0 }
    defer { unlink(path) }
    guard let journal = try? Journal<Entry>(
        path: path, settings: settings, checkpoint: checkpoint, checkpointSHA256: checkpointSHA256, resume: true,
        keys: keys, tool: "fuzz", decode: { key, line in
            if clsLabels[key] != nil { return try decodeCls(key, line) }
            if segKeys.contains(key) { return try decodeSeg(line) }
            return try decodeDet(key, line)
        }) else { return 0 }
    // Only keys of this run can have been kept, and reading the rewritten journal again keeps them all.
    precondition(Set(journal.entries.keys).isSubset(of: keys), "journal kept a key that is not an image of the run")
    let kept = journal.entries.count
    guard let again = try? Journal<Entry>(
        path: path, settings: settings, checkpoint: checkpoint, checkpointSHA256: checkpointSHA256, resume: true,
        keys: keys, tool: "fuzz", decode: { key, line in
            if clsLabels[key] != nil { return try decodeCls(key, line) }
            if segKeys.contains(key) { return try decodeSeg(line) }
            return try decodeDet(key, line)
        }) else { preconditionFailure("a journal rewritten after resuming cannot be resumed again") }
    precondition(again.entries.count == kept, "resuming a rewritten journal kept \(again.entries.count) entries, not \(kept)")
    return 0
}
