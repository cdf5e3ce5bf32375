// libFuzzer target: resume journals (Sources/ToolSupport/Journal.swift), read back as `--resume` does.
// Byte 0 of the input picks the file: even, the rest of the input is the whole journal (its first
// line must then be the expected settings line or the journal is refused); odd, the expected settings
// line is written first and the rest of the input follows it, so that the entry lines are fuzzed
// behind a header that passes. Lines are decoded with the three tools' own decoders (ToolSupport's
// LogitsEntry, SegmentationEntry, DetectionEntry), chosen by the key. A line that does not decode must be dropped, never trusted, never a crash.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RepLKToolSupport

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

/// The three tools' journal lines (Sources/ToolSupport/JournalEntries.swift), by key.
enum Entry: JournalEntry {
    case cls(LogitsEntry)
    case seg(SegmentationEntry)
    case det(DetectionEntry)
    var journalFields: [String: Any] { [:] }
}

/// Decodes a line with the decoder of the tool the key belongs to.
func decode(_ key: String, _ line: JournalLine) throws -> Entry {
    if let label = clsLabels[key] { return .cls(try LogitsEntry(line, classes: classes, expectedLabel: label)) }
    if segKeys.contains(key) { return .seg(try SegmentationEntry(line, classes: classes)) }
    let image = detImages[key]!
    return .det(try DetectionEntry(line, imageId: image.id, height: image.height, width: image.width, categoryIds: detCategories))
}

/// The settings line the journal writes for these settings (read from a fresh journal once).
let header: [UInt8] = {
    do {
        _ = try Journal<Entry>(path: path, settings: settings, checkpoint: checkpoint, checkpointSHA256: checkpointSHA256,
                               resume: false, keys: keys, tool: "fuzz") { _, _ in .seg(.skipped("")) }
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
        keys: keys, tool: "fuzz", decode: decode) else { return 0 }
    // Only keys of this run can have been kept, and reading the rewritten journal again keeps them all.
    precondition(Set(journal.entries.keys).isSubset(of: keys), "journal kept a key that is not an image of the run")
    let kept = journal.entries.count
    guard let again = try? Journal<Entry>(
        path: path, settings: settings, checkpoint: checkpoint, checkpointSHA256: checkpointSHA256, resume: true,
        keys: keys, tool: "fuzz", decode: decode) else { preconditionFailure("a journal rewritten after resuming cannot be resumed again") }
    precondition(again.entries.count == kept, "resuming a rewritten journal kept \(again.entries.count) entries, not \(kept)")
    return 0
}
