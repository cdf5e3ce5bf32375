import Foundation

/// Standard error, unbuffered.
public func printError(_ s: String) {
    FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
}

/// The tools' exit statuses, one per kind of error.
public enum ToolExitCode {
    /// A bad command line: an unknown option, a value that does not parse or is out of range
    /// (ArgumentParser's `EX_USAGE`).
    public static let usage: Int32 = 64
    /// A CPU or setting (environment variable) the tools cannot run with.
    public static let setting: Int32 = 2
    /// A file that cannot be read, parsed or written, and other failures of the run.
    public static let failure: Int32 = 1
}

/// Prints `tool: error: message` (one line) and exits: 64 for a usage error (`ToolError.usage`),
/// 2 for a setting the tools cannot run with (`ToolError.setting`), else 1.
public func exitWithError(_ tool: String, _ error: Error) -> Never {
    let text = "\(error)".replacingOccurrences(of: "\n", with: " ")
    printError("\(tool): error: \(text)")
    switch error {
    case ToolError.usage: exit(ToolExitCode.usage)
    case ToolError.setting: exit(ToolExitCode.setting)
    default: exit(ToolExitCode.failure)
    }
}

/// A progress line on stderr: count, rate and ETA. On a terminal it redraws in place; otherwise it
/// prints a line every 10% or 30 s, so logs stay readable.
public final class Progress {
    private let total: Int
    private let label: String
    private let start = Date()
    private var lastPrint = Date.distantPast
    private var lastDecile = -1
    private let tty = isatty(STDERR_FILENO) != 0
    private var done: Int
    private let initial: Int

    /// Whether anything is printed (`--quiet` turns it off).
    public let isEnabled: Bool

    /// A progress line for `total` items.
    ///
    /// - Parameters:
    ///   - total: The number of items the run will have finished at the end.
    ///   - label: The line's prefix, e.g. "eval" or "eval 0/4".
    ///   - alreadyDone: Items finished before this run (a resume): counted as done but not in the rate.
    ///   - enabled: Whether anything is printed (false for `--quiet`).
    public init(total: Int, label: String, alreadyDone: Int = 0, enabled: Bool = true) {
        self.total = total
        self.label = label
        isEnabled = enabled
        done = alreadyDone
        initial = alreadyDone
    }

    /// Counts `n` more items as done and redraws or prints the line when it is due.
    ///
    /// - Parameters:
    ///   - n: Items just finished.
    ///   - note: Text appended to the line (e.g. the current file), or empty.
    public func step(_ n: Int = 1, note: String = "") {
        done += n
        guard isEnabled else { return }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done - initial) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let pct = total > 0 ? 100 * done / total : 100
        let line = "\(label) \(done)/\(total) (\(pct)%) \(String(format: "%.2f", rate)) img/s ETA \(Progress.clock(eta))\(note.isEmpty ? "" : "  " + note)"
        if tty {
            if now.timeIntervalSince(lastPrint) > 0.2 || done == total {
                FileHandle.standardError.write(("\r\u{1B}[K" + line).data(using: .utf8)!)
                lastPrint = now
                if done == total { FileHandle.standardError.write("\n".data(using: .utf8)!) }
            }
        } else {
            let decile = total > 0 ? 10 * done / total : 10
            if decile != lastDecile || now.timeIntervalSince(lastPrint) > 30 || done == total {
                printError(line)
                lastDecile = decile
                lastPrint = now
            }
        }
    }

    /// Seconds since the progress line was created.
    public var elapsed: TimeInterval { Date().timeIntervalSince(start) }

    static func clock(_ s: Double) -> String {
        guard s.isFinite else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}

/// A Markdown table.
public func markdownTable(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    func line(_ cells: [String]) -> String {
        "| " + cells.enumerated().map { i, c in
            let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
            return rightAligned.contains(i) ? pad + c : c + pad
        }.joined(separator: " | ") + " |"
    }
    let rule = "|" + widths.enumerated().map { i, w in
        rightAligned.contains(i) ? " " + String(repeating: "-", count: max(3, w) - 1) + ": " : " " + String(repeating: "-", count: max(3, w)) + " "
    }.joined(separator: "|") + "|"
    return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
}

/// JSON text for dictionaries, arrays, strings, numbers, booleans and `NSNull`, keys sorted.
/// Doubles are written in their shortest round-trip form, so no digit is lost; NaN and ±∞ become null.
public func jsonText(_ object: Any, pretty: Bool = true) -> String {
    var out = ""
    writeJSON(object, into: &out, indent: pretty ? 0 : nil)
    return out
}

private func writeJSON(_ v: Any, into out: inout String, indent: Int?) {
    let nl = indent.map { "\n" + String(repeating: "  ", count: $0 + 1) } ?? ""
    let close = indent.map { "\n" + String(repeating: "  ", count: $0) } ?? ""
    let sep = indent == nil ? ":" : ": "
    switch v {
    case let d as [String: Any]:
        if d.isEmpty { out += "{}"; return }
        out += "{"
        for (i, k) in d.keys.sorted().enumerated() {
            if i > 0 { out += "," }
            out += nl + quoteJSON(k) + sep
            writeJSON(d[k]!, into: &out, indent: indent.map { $0 + 1 })
        }
        out += close + "}"
    case let a as [Any]:
        if a.isEmpty { out += "[]"; return }
        let scalar = a.allSatisfy { !($0 is [Any]) && !($0 is [String: Any]) }
        out += "["
        for (i, x) in a.enumerated() {
            if i > 0 { out += scalar && indent != nil ? ", " : "," }
            if !scalar { out += nl }
            writeJSON(x, into: &out, indent: indent.map { $0 + 1 })
        }
        out += (scalar ? "" : close) + "]"
    case let s as String: out += quoteJSON(s)
    case let b as Bool where type(of: v) == Bool.self: out += b ? "true" : "false"
    case let i as Int where type(of: v) == Int.self: out += String(i)
    case let d as Double where type(of: v) == Double.self: out += d.isFinite ? "\(d)" : "null"
    case let f as Float where type(of: v) == Float.self: out += f.isFinite ? "\(f)" : "null"
    case let n as NSNumber:
        // Values parsed by Foundation arrive as NSNumber, which casts to Bool, Int and Double alike.
        let t = String(cString: n.objCType)
        if t == "c" || t == "B" { out += n.boolValue ? "true" : "false" }
        else if t == "d" || t == "f" { out += n.doubleValue.isFinite ? "\(n.doubleValue)" : "null" }
        else { out += "\(n.int64Value)" }
    case is NSNull: out += "null"
    case let o as Optional<Any>:
        if let o { writeJSON(o, into: &out, indent: indent) } else { out += "null" }
    default: out += quoteJSON("\(v)")
    }
}

private func quoteJSON(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

/// Creates a directory (and parents) or fails with a message naming it. Returns the path without a
/// trailing slash ("out/" and "out" name the same folder), for joining file names onto it.
@discardableResult
public func makeDirectory(_ path: String) throws -> String {
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw ToolError.io(path: path, detail: "cannot create directory: \(error.localizedDescription)")
    }
    return path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
}

/// Writes text atomically.
public func writeText(_ text: String, to path: String) throws {
    do {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    } catch {
        throw ToolError.io(path: path, detail: "cannot write: \(error.localizedDescription)")
    }
}

/// Errors raised by the tools themselves (arguments, output files).
public enum ToolError: Error, CustomStringConvertible {
    /// A command line the tool cannot run (exit 64).
    case usage(String)
    /// A file that cannot be read or written (exit 1).
    case io(path: String, detail: String)
    /// An environment setting the tool cannot run with (exit 2).
    case setting(String)

    /// The message a tool prints: the usage or setting error as given, or `path: detail`.
    public var description: String {
        switch self {
        case let .usage(s): return s
        case let .setting(s): return s
        case let .io(p, d): return "\(p): \(d)"
        }
    }
}
