import Foundation

extension Leaderboard {
    /// Markdown tables, one per data set (official splits first), paper rows marked "paper",
    /// partial runs after the ranked rows.
    public static func markdown(_ measured: [LeaderboardRow]) -> String {
        var out = [String]()
        for g in groups(measured) {
            let t = table(g)
            out.append("### \(g.title)\n")
            out.append(markdownTable(t.header, t.cells))
            out.append("")
        }
        return out.joined(separator: "\n")
    }

    static func markdownTable(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map { max(3, $0.count) }
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { $1 + String(repeating: " ", count: widths[$0] - $1.count) }.joined(separator: " | ") + " |"
        }
        let rule = "|" + widths.map { " " + String(repeating: "-", count: max(3, $0)) + " " }.joined(separator: "|") + "|"
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    /// The fields of the tidy export (CSV and JSON), in column order.
    public static let exportFields = [
        "group", "task", "dataset", "split", "official_split", "split_images", "images", "partial", "rank",
        "backbone", "method", "pretraining", "setting", "resolution", "scale", "precision",
        "top1", "top5", "mIoU", "mIoU_ms", "mAcc", "aAcc", "box_AP", "mask_AP", "params", "flops",
        "source", "date", "reference",
    ]

    /// One object per row, every field of `exportFields`: numbers as numbers (params a count, flops
    /// multiply-accumulates, metrics in percent), nil when missing.
    public static func exportRows(_ measured: [LeaderboardRow]) -> [[String: Any?]] {
        var out = [[String: Any?]]()
        for g in groups(measured) {
            for (r, rank) in zip(g.rows, g.ranks) {
                var o: [String: Any?] = [
                    "group": g.title, "task": r.task, "dataset": r.dataset, "split": r.split.isEmpty ? nil : r.split,
                    "official_split": g.official, "split_images": r.splitImages, "images": r.images, "partial": r.partial,
                    "rank": rank, "backbone": r.backbone, "method": r.method == "—" ? nil : r.method,
                    "pretraining": r.pretraining == "—" ? nil : r.pretraining, "setting": r.setting,
                    "resolution": r.resolution, "scale": r.resolution.map { "\($0)x\($0)" }
                        ?? (r.scale.isEmpty || r.scale == "—" ? nil : r.scale.replacingOccurrences(of: "×", with: "x")),
                    "precision": r.precision, "params": r.params.map { Int64($0.rounded()) }, "flops": r.flops.map { Int64($0.rounded()) },
                    "source": r.source, "date": r.date.isEmpty ? nil : r.date, "reference": r.isReference,
                ]
                for k in ["top1", "top5", "mIoU", "mIoU_ms", "mAcc", "aAcc", "box_AP", "mask_AP"] { o[k] = r.metrics[k] }
                out.append(o)
            }
        }
        return out
    }

    /// CSV: one tidy table (RFC 4180), one header line and a column per field of `exportFields`;
    /// numbers without units, an empty cell when missing.
    public static func csv(_ measured: [LeaderboardRow]) -> String {
        func q(_ s: String) -> String {
            s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        func cell(_ v: Any??) -> String {
            guard let v = v ?? nil else { return "" }
            switch v {
            case let b as Bool: return b ? "true" : "false"
            case let i as Int: return String(i)
            case let i as Int64: return String(i)
            case let d as Double: return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
            default: return q("\(v)")
            }
        }
        var lines = [exportFields.joined(separator: ",")]
        for o in exportRows(measured) { lines.append(exportFields.map { cell(o[$0]) }.joined(separator: ",")) }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// JSON: a list of row objects with the fields of `exportFields`, null when missing.
    public static func json(_ measured: [LeaderboardRow]) -> String {
        let rows: [[String: Any]] = exportRows(measured).map { o in
            var d = [String: Any]()
            for k in exportFields { d[k] = (o[k] ?? nil) ?? NSNull() }
            return d
        }
        let data = (try? JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// A self-contained HTML page: sortable tables (click a header), per-class IoU bars for
    /// segmentation results, no external assets.
    public static func html(_ measured: [LeaderboardRow]) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var body = ""
        for (gi, g) in groups(measured).enumerated() {
            let t = table(g), rows = g.rows
            body += "<h2>\(esc(g.title))</h2>\n<table class=\"board\" id=\"t\(gi)\">\n<thead><tr>"
            for (i, h) in t.header.enumerated() { body += "<th onclick=\"sortTable('t\(gi)', \(i))\">\(esc(h))</th>" }
            body += "</tr></thead>\n<tbody>\n"
            for (r, cells) in zip(rows, t.cells) {
                body += "<tr class=\"\(r.isReference ? "paper" : r.partial ? "measured partial" : "measured")\">"
                for c in cells { body += "<td>\(esc(c))</td>" }
                body += "</tr>\n"
                if !r.perClass.isEmpty {
                    body += "<tr class=\"detail\"><td colspan=\"\(cells.count)\"><details><summary>per-class IoU</summary><div class=\"bars\">"
                    for (name, v) in r.perClass {
                        let w = max(0, min(100, v ?? 0))
                        body += "<div class=\"bar\"><span class=\"name\">\(esc(name))</span><span class=\"track\"><span class=\"fill\" style=\"width:\(String(format: "%.1f", w))%\"></span></span><span class=\"val\">\(v.map { String(format: "%.2f", $0) } ?? "nan")</span></div>"
                    }
                    body += "</div></details></td></tr>\n"
                }
            }
            body += "</tbody></table>\n"
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>RepLK leaderboard</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
        table.board { border-collapse: collapse; margin-bottom: 2em; }
        th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; white-space: nowrap; }
        th { cursor: pointer; background: #f3f3f3; user-select: none; }
        tr.paper td { color: #666; font-style: italic; }
        tr.partial td { background: #fff6e0; }
        .bars { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 2px 16px; }
        .bar { display: flex; align-items: center; gap: 6px; font-size: 12px; }
        .bar .name { width: 120px; overflow: hidden; text-overflow: ellipsis; }
        .bar .track { flex: 1; background: #eee; height: 10px; }
        .bar .fill { display: block; height: 10px; background: #3a7bd5; }
        .bar .val { width: 48px; text-align: right; }
        </style>
        <script>
        function sortTable(id, col) {
          const t = document.getElementById(id), tb = t.tBodies[0];
          const rows = Array.from(tb.querySelectorAll('tr:not(.detail)'));
          const dir = t.dataset.col == col && t.dataset.dir == 'desc' ? 'asc' : 'desc';
          t.dataset.col = col; t.dataset.dir = dir;
          const key = r => { const s = r.cells[col].textContent; const n = parseFloat(s); return isNaN(n) ? s : n; };
          rows.sort((a, b) => { const x = key(a), y = key(b); const c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y)); return dir == 'asc' ? c : -c; });
          for (const r of rows) { const d = r.nextElementSibling && r.nextElementSibling.classList.contains('detail') ? r.nextElementSibling : null; tb.appendChild(r); if (d) tb.appendChild(d); }
        }
        </script></head><body>
        <h1>RepLK leaderboard</h1>
        <p>Measured rows come from RepLK results records; <i>paper</i> rows are the numbers the RepLKNet README reports. FLOPs are multiply-accumulates; #params of the deployed (merged) models.</p>
        \(body)</body></html>

        """
    }
}
