import Foundation

/// An append-only JSON-lines log of finished work items, so an interrupted evaluation resumes
/// where it stopped: each line is flushed as soon as its item is done. The first line records the
/// settings; resuming with different settings is refused.
public final class Journal {
    public let path: String
    private let handle: FileHandle
    /// Items already finished, by key, in file order.
    public private(set) var entries: [(key: String, value: [String: Any])] = []
    private var keys = Set<String>()

    /// Opens `path`. With `resume`, existing entries are loaded (the settings must match);
    /// otherwise the file is started afresh.
    public init(path: String, settings: [String: Any], resume: Bool) throws {
        self.path = path
        let fm = FileManager.default
        let header = jsonText(["settings": settings], pretty: false)
        if resume && fm.fileExists(atPath: path) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ToolError.io(path: path, detail: "cannot read the resume journal")
            }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            // A line cut by the interruption is dropped: its item simply runs again.
            if let last = lines.last, (try? JSONSerialization.jsonObject(with: Data(last.utf8))) == nil { lines.removeLast() }
            guard let first = lines.first else {
                throw ToolError.io(path: path, detail: "resume journal is empty; run without --resume")
            }
            guard first == header else {
                throw ToolError.io(path: path, detail: "was written with other settings; run without --resume to start over")
            }
            for l in lines.dropFirst() {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any],
                      let key = obj["key"] as? String else { continue }
                if keys.insert(key).inserted { entries.append((key, obj)) }
            }
            // Rewrite without any torn tail so appends start on a clean line.
            try writeText(([first] + entries.map { jsonText($0.value, pretty: false) }).joined(separator: "\n") + "\n", to: path)
        } else {
            try writeText(header + "\n", to: path)
        }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw ToolError.io(path: path, detail: "cannot open the journal for writing")
        }
        h.seekToEndOfFile()
        handle = h
    }

    deinit { try? handle.close() }

    public func contains(_ key: String) -> Bool { keys.contains(key) }

    /// Records a finished item (written and flushed at once).
    public func append(key: String, _ value: [String: Any]) {
        var v = value
        v["key"] = key
        handle.write((jsonText(v, pretty: false) + "\n").data(using: .utf8)!)
        try? handle.synchronize()
        if keys.insert(key).inserted { entries.append((key, v)) }
    }
}
