import Foundation
import XCTest
import TestSupport

/// The example commands in every `--help` can be copied: each line fits an 80-column terminal
/// (longer commands continue with a trailing backslash), so the help printer never breaks one
/// in the middle. Checked against the tools' own help output, line for line.
final class HelpExampleTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    let tools = ["replk-cls", "replk-seg", "replk-det", "replk-eval", "replk-bench", "replk-board", "replk-erf"]

    /// The example lines of a tool's `discussion:` texts, as printed (source indentation of 8
    /// removed, `\\` printed as `\`).
    func exampleLines(_ tool: String) throws -> [String] {
        let dir = "\(root)/Sources/Tools/\(tool)"
        var lines = [String]()
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) where f.hasSuffix(".swift") {
            var inText = false, continuing = false
            for l in try String(contentsOfFile: "\(dir)/\(f)", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
                if l.contains("discussion: \"\"\"") { inText = true; continue }
                if inText && l.trimmingCharacters(in: .whitespaces).hasPrefix("\"\"\"") { inText = false; continue }
                guard inText else { continue }
                let t = l.trimmingCharacters(in: .whitespaces)
                if t.hasPrefix("replk-") || continuing {
                    lines.append(String(l.dropFirst(8)).replacingOccurrences(of: "\\\\", with: "\\"))
                    continuing = t.hasSuffix("\\\\")
                }
            }
        }
        return lines
    }

    func helpText(_ tool: String) throws -> String {
        let top = try Tools.run(tool, ["--help"], environment: ["COLUMNS": "80"])
        var text = top.stdout
        if let i = top.stdout.range(of: "SUBCOMMANDS:") {
            for l in top.stdout[i.upperBound...].split(separator: "\n") {
                guard l.hasPrefix("  "), let name = l.split(separator: " ").first, !name.hasPrefix("-") else { continue }
                text += try Tools.run(tool, [String(name), "--help"], environment: ["COLUMNS": "80"]).stdout
            }
        }
        return text
    }

    func testEveryHelpExampleFitsEightyColumnsAndIsPrintedWhole() throws {
        var checked = 0
        for tool in tools {
            let examples = try exampleLines(tool)
            let printed = Set(try helpText(tool).split(separator: "\n").map(String.init))
            for e in examples {
                XCTAssertLessThanOrEqual(e.count, 80, "\(tool): \(e)")
                XCTAssertTrue(printed.contains(e), "\(tool) --help breaks the example line: \(e)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 20)
    }
}
