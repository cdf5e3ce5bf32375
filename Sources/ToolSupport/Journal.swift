import Foundation

/// One finished work item of a resume journal, as a tool writes it and reads it back.
public protocol JournalEntry {
    /// The fields written on the item's line (next to "key").
    var journalFields: [String: Any] { get }
}

/// Why a journal line cannot be used; its item is computed again.
public struct JournalLineError: Error, CustomStringConvertible {
    /// What is wrong with the line, naming the field (e.g. `"top" has 4 values, expected 5`).
    public let reason: String
    /// An error saying `reason`.
    public init(_ reason: String) { self.reason = reason }
    /// The reason, as printed in the journal's notice.
    public var description: String { reason }
}

/// Why a journal cannot be resumed at all.
public enum JournalError: Error, CustomStringConvertible {
    /// The journal at `path` exists but cannot be read as UTF-8 text.
    case unreadable(path: String)
    /// The journal at `path` is empty, or its first line is.
    case empty(path: String)
    /// The first line of `path` is not a JSON object with a `settings` object.
    case notAJournal(path: String)
    /// Written before journals recorded the checkpoint's hash: which model it holds is unknown.
    case noCheckpointHash(path: String)
    /// The checkpoint given now is not the file the journal was started with.
    case otherCheckpoint(path: String, checkpoint: String, sha256: String, journalSHA256: String)
    /// The journal was written with other settings; `differing` names the settings keys whose values differ.
    case otherSettings(path: String, differing: [String])

    /// The message a tool prints: what is wrong and how to go on (`--restart` to start over).
    public var description: String {
        switch self {
        case let .unreadable(p): return "\(p): cannot read the resume journal"
        case let .empty(p): return "\(p): resume journal is empty; run with --restart instead of --resume"
        case let .notAJournal(p): return "\(p): not a resume journal (its first line holds no settings); run with --restart instead of --resume to start over"
        case let .noCheckpointHash(p):
            return "\(p): resume journal does not record its checkpoint's sha256 (written by an older version), so its results may belong to another model; run with --restart instead of --resume to start over"
        case let .otherCheckpoint(p, c, s, j):
            return "\(c): not the checkpoint the resume journal \(p) was started with (sha256 \(s.prefix(16))…, journal \(j.prefix(16))…); give that file, or run with --restart instead of --resume to start over"
        case let .otherSettings(p, d):
            let which = d.isEmpty ? "" : " (\(d.joined(separator: ", ")))"
            return "\(p): was written with other settings\(which); run with --restart instead of --resume to start over"
        }
    }
}

/// The fields of one journal line, read with their types checked: a field of the wrong type,
/// length or range is a `JournalLineError` naming it, never a trap or a silent default.
public struct JournalLine {
    /// The line's JSON object as `JSONSerialization` decoded it.
    public let fields: [String: Any]

    /// Wraps a decoded JSON object.
    public init(_ fields: [String: Any]) { self.fields = fields }

    /// Whether the line has a field `name` (of any type).
    public func has(_ name: String) -> Bool { fields[name] != nil }

    /// The string field `name`.
    ///
    /// - Throws: `JournalLineError` when the field is missing or not a string.
    public func string(_ name: String) throws -> String {
        guard let v = fields[name] else { throw JournalLineError("no \"\(name)\"") }
        guard let s = v as? String else { throw JournalLineError("\"\(name)\" is not a string") }
        return s
    }

    /// The integer field `name`, which must lie in `range`.
    ///
    /// - Throws: `JournalLineError` when the field is missing, not a JSON integer (booleans and
    ///   `2.0` are not) or outside `range`.
    public func int(_ name: String, in range: ClosedRange<Int>) throws -> Int {
        guard let v = fields[name] else { throw JournalLineError("no \"\(name)\"") }
        guard let n = JournalLine.integer(v), range.contains(n) else {
            throw JournalLineError("\"\(name)\" is not an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    /// The array field `name` of exactly `count` integers, each in `range`.
    ///
    /// - Throws: `JournalLineError` when the field is missing, not an array, has another length, or
    ///   an item is not a JSON integer in `range`.
    public func ints(_ name: String, count: Int, in range: ClosedRange<Int>) throws -> [Int] {
        let a = try array(name, count: count)
        return try a.enumerated().map { i, v in
            guard let n = JournalLine.integer(v), range.contains(n) else {
                throw JournalLineError("\"\(name)\"[\(i)] is not an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return n
        }
    }

    /// The array field `name` of exactly `count` finite numbers (integers or not; booleans are not numbers).
    ///
    /// - Throws: `JournalLineError` when the field is missing, not an array, has another length, or
    ///   an item is not a finite number.
    public func finiteNumbers(_ name: String, count: Int) throws -> [Double] {
        let a = try array(name, count: count)
        return try a.enumerated().map { i, v in
            guard let x = JournalLine.number(v), x.isFinite else { throw JournalLineError("\"\(name)\"[\(i)] is not a finite number") }
            return x
        }
    }

    private func array(_ name: String, count: Int) throws -> [Any] {
        guard let v = fields[name] else { throw JournalLineError("no \"\(name)\"") }
        guard let a = v as? [Any] else { throw JournalLineError("\"\(name)\" is not an array") }
        guard a.count == count else { throw JournalLineError("\"\(name)\" has \(a.count) values, expected \(count)") }
        return a
    }

    /// A JSON integer. Foundation hands out `true` and `2.0` as NSNumbers that also cast to Int,
    /// so the number's own type decides.
    public static func integer(_ v: Any) -> Int? {
        guard let n = v as? NSNumber, !(v is String) else { return nil }
        switch String(cString: n.objCType) {
        case "c", "B", "f", "d", "Q": return nil   // booleans, floating point, beyond Int64
        default: return n.intValue
        }
    }

    /// A JSON number (integer or not), never a boolean.
    public static func number(_ v: Any) -> Double? {
        guard let n = v as? NSNumber, !(v is String) else { return nil }
        let t = String(cString: n.objCType)
        return t == "c" || t == "B" ? nil : n.doubleValue
    }
}

/// An append-only JSON-lines log of finished work items, so an interrupted evaluation resumes
/// where it stopped: each line is flushed as soon as its item is done. The first line records the
/// settings, including the checkpoint's sha256; resuming with other settings or another checkpoint
/// file is refused. Every other line is checked when it is read back (its key must be one of this
/// run's items and its fields must decode); a line that fails is reported on stderr in one line and
/// its item is computed again, never skipped and never a crash.
public final class Journal<Entry: JournalEntry> {
    /// The journal file's path.
    public let path: String
    private let handle: FileHandle
    /// Items already finished, by key.
    public private(set) var entries: [String: Entry] = [:]

    /// The settings key of the checkpoint's sha256.
    public static var checkpointHashKey: String { "checkpoint_sha256" }

    /// Opens `path`. The journal's settings are `settings` plus the checkpoint's path and sha256.
    /// With `resume`, existing lines are read back (the settings must match): `decode` turns a
    /// line's fields into an entry for `key`, one of `keys`, or throws `JournalLineError`; lines
    /// that fail are dropped with a notice on stderr starting with `tool`. Without `resume` the
    /// file is started afresh.
    public init(path: String, settings: [String: Any], checkpoint: String, checkpointSHA256: String, resume: Bool,
                keys: Set<String>, tool: String, decode: (_ key: String, _ line: JournalLine) throws -> Entry) throws {
        self.path = path
        var settings = settings
        settings["checkpoint"] = checkpoint
        settings[Journal.checkpointHashKey] = checkpointSHA256
        let header = jsonText(["settings": settings], pretty: false)
        if resume && FileManager.default.fileExists(atPath: path) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw JournalError.unreadable(path: path) }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard let first = lines.first, !first.isEmpty else { throw JournalError.empty(path: path) }
            try Journal.checkHeader(first, expected: header, settings: settings, path: path, checkpoint: checkpoint)
            var found = [String: Entry]()
            var kept = [(key: String, line: String)]()
            var lineOf = [String: Int]()          // key → line number of its entry
            var rejected = Set<String>()          // keys seen on more than one line
            func notice(_ n: Int, _ what: String) { printError("\(tool): \(path) line \(n): \(what)") }
            for (i, l) in lines.enumerated().dropFirst() where !l.isEmpty {
                let n = i + 1
                guard let obj = try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any] else {
                    // The last line is usually one cut short by the interruption.
                    let last = lines[(i + 1)...].allSatisfy(\.isEmpty)
                    notice(n, (last ? "cut short" : "not a JSON object") + "; ignored (an image it held is computed again)")
                    continue
                }
                guard let key = obj["key"] as? String else { notice(n, "no \"key\" string; ignored"); continue }
                guard keys.contains(key) else { notice(n, "\"\(key)\" is not an image of this run; ignored"); continue }
                if rejected.contains(key) { notice(n, "\"\(key)\" appears on more than one line; computing it again"); continue }
                if let earlier = lineOf[key] {
                    notice(n, "\"\(key)\" appears again (first on line \(earlier)); computing it again")
                    found[key] = nil
                    lineOf[key] = nil
                    rejected.insert(key)
                    continue
                }
                do {
                    found[key] = try decode(key, JournalLine(obj))
                    lineOf[key] = n
                    kept.append((key, l))
                } catch {
                    notice(n, "\"\(key)\": \(error); computing it again")
                }
            }
            // Rewrite with only the lines in use (verbatim: re-printing the parsed numbers could
            // change their last digit), so that appends start on a clean line and a line dropped
            // now is not read again.
            let used = kept.filter { found[$0.key] != nil }.map(\.line)
            try writeText(([first] + used).joined(separator: "\n") + "\n", to: path)
            entries = found
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

    /// Refuses a journal whose first line is not `expected`, saying why in the most useful terms:
    /// no checkpoint hash, another checkpoint, or which settings differ.
    private static func checkHeader(_ first: String, expected: String, settings: [String: Any], path: String, checkpoint: String) throws {
        if first == expected { return }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any],
              let old = obj["settings"] as? [String: Any] else { throw JournalError.notAJournal(path: path) }
        guard let oldHash = old[checkpointHashKey] as? String else { throw JournalError.noCheckpointHash(path: path) }
        let hash = settings[checkpointHashKey] as! String
        if oldHash != hash {
            throw JournalError.otherCheckpoint(path: path, checkpoint: checkpoint, sha256: hash, journalSHA256: oldHash)
        }
        let differing = Set(old.keys).union(settings.keys).sorted().filter { k in
            old[k].map { jsonText($0, pretty: false) } != settings[k].map { jsonText($0, pretty: false) }
        }
        throw JournalError.otherSettings(path: path, differing: differing)
    }

    /// Whether the item `key` is already finished (read back on resume, or appended in this run).
    public func contains(_ key: String) -> Bool { entries[key] != nil }

    /// Records a finished item (written and flushed at once).
    public func append(key: String, _ entry: Entry) {
        var v = entry.journalFields
        v["key"] = key
        handle.write((jsonText(v, pretty: false) + "\n").data(using: .utf8)!)
        try? handle.synchronize()
        entries[key] = entry
    }
}
