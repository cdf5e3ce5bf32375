import ArgumentParser
import Foundation
import RepLKLeaderboard
import RepLKToolSupport

/// `--format`: the table formats.
enum BoardFormat: String, ExpressibleByArgument, CaseIterable {
    case md, csv, json, html
}

@main
struct ReplkBoard: ParsableCommand {
    static func main() { mainCheckingCPU("replk-board") }

    static let configuration = CommandConfiguration(
        commandName: "replk-board",
        abstract: "Leaderboard tables from the results records of replk-cls / replk-seg / replk-det eval, with the paper's numbers as reference rows.",
        discussion: """
        Examples:
          replk-board                                  # Markdown from results/
          replk-board --results runs/ --format html --out board.html
          replk-board --format csv --out board.csv          # one tidy table, loads \\
              in pandas as is
        One table per data set: the official validation splits (ImageNet val, ADE20K validation,
        Cityscapes val, COCO val2017) with the paper's rows, then any other set (the demo sets among
        them) under its own title. Partial runs (--limit, skipped images) are marked and not ranked.
        Records that cannot be read are reported on stderr and skipped.
        """,
        version: toolVersion("replk-board"))

    @Option(help: "Folder of results records.")
    var results = "results"

    @Option(help: "md (default), csv (one tidy table, RFC 4180), json (a list of row objects) or html.")
    var format = BoardFormat.md

    @Option(help: "Write to this file instead of standard output.")
    var out: String?

    func run() throws {
        do {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: results, isDirectory: &isDir), isDir.boolValue else {
                throw ToolError.io(path: results, detail: "results folder not found")
            }
            let (rows, skipped) = Leaderboard.load(directory: results)
            for s in skipped { printError("replk-board: skipped \(s)") }
            let text: String
            switch format {
            case .csv: text = Leaderboard.csv(rows)
            case .json: text = Leaderboard.json(rows)
            case .html: text = Leaderboard.html(rows)
            case .md: text = Leaderboard.markdown(rows)
            }
            if let out { try writeText(text, to: out) } else { print(text, terminator: text.hasSuffix("\n") ? "" : "\n") }
        } catch {
            exitWithError("replk-board", error)
        }
    }
}
