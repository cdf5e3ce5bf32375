import Foundation

/// Reading and damaging the tools' resume journals (JSON lines; line 0 holds the settings), as a
/// crash, a disk error or a hand edit would leave them.
enum Journals {
    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    static func write(_ lines: [String], to path: String) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Replaces line `n` by `edit` applied to its object.
    static func edit(_ lines: inout [String], _ n: Int, _ edit: (inout [String: Any]) -> Void) throws {
        var obj = try JSONSerialization.jsonObject(with: Data(lines[n].utf8)) as! [String: Any]
        edit(&obj)
        lines[n] = String(decoding: try JSONSerialization.data(withJSONObject: obj), as: UTF8.self)
    }

    static func key(_ line: String) throws -> String {
        (try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["key"] as! String
    }
}
