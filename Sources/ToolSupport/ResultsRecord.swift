import Foundation
import RepLKRecords

// The record type lives in RepLKRecords (shared with replk-board); what needs the file system and
// the tools' JSON writer is here.
extension ResultsRecord {
    /// The record's JSON object for `jsonText` (a shard partial keeps it for `merge`), with
    /// `checkpoint.sha256` (the file is hashed when `checkpointSHA256` is nil); `date` and
    /// `command` only when set (`write(to:)` sets them).
    /// - Throws: `ToolError.io` when the checkpoint has to be hashed and cannot be read.
    public func object() throws -> [String: Any] {
        var r = self
        if r.checkpointSHA256 == nil { r.checkpointSHA256 = try sha256Hex(ofFile: checkpointPath) }
        return r.jsonObject.mapValues(\.foundationValue)
    }

    /// Writes `<dir>/<task>-<dataset>-<checkpoint stem>[-merged<N>]-<timestamp>.json` (with
    /// today's `date`, this `command` line and this build's `engine_version`) and returns its path.
    @discardableResult
    public func write(to dir: String) throws -> String {
        try makeDirectory(dir)
        let stem = ((checkpointPath as NSString).lastPathComponent as NSString).deletingPathExtension
        let iso = ISO8601DateFormatter().string(from: Date())
        var r = self
        r.date = iso
        r.command = CommandLine.arguments.joined(separator: " ")
        r.engineVersion = RepLKRecords.engineVersion
        let obj = try r.object()
        let stamp = iso.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        let base = "\(dir)/\(task)-\(dataset)-\(stem)\(shards.map { "-merged\($0)" } ?? "")-\(stamp)"
        // Two runs finished within the same second (two --scale values of a small set) keep both records.
        var path = base + ".json", n = 1
        while FileManager.default.fileExists(atPath: path) { n += 1; path = "\(base)-\(n).json" }
        try writeText(jsonText(obj) + "\n", to: path)
        return path
    }
}
