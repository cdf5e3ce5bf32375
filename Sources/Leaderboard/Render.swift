import Foundation

extension Leaderboard {
    /// Markdown tables, one per (task, dataset), paper rows marked "paper".
    public static func markdown(_ measured: [LeaderboardRow]) -> String {
        var out = [String]()
        for (key, rows) in groups(measured) {
            let t = table(key, rows)
            out.append("### \(title(key))\n")
            out.append(markdownTable(t.header, t.cells))
            out.append("")
        }
        return out.joined(separator: "\n")
    }

    static func markdownTable(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { $1 + String(repeating: " ", count: widths[$0] - $1.count) }.joined(separator: " | ") + " |"
        }
        let rule = "|" + widths.map { " " + String(repeating: "-", count: max(3, $0)) + " " }.joined(separator: "|") + "|"
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    /// CSV: one header line per group is avoided by a fixed column set with a leading group column.
    public static func csv(_ measured: [LeaderboardRow]) -> String {
        func q(_ s: String) -> String { s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        var lines = [String]()
        for (key, rows) in groups(measured) {
            let t = table(key, rows)
            lines.append((["table"] + t.header).map(q).joined(separator: ","))
            for c in t.cells { lines.append(([title(key)] + c).map(q).joined(separator: ",")) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A self-contained HTML page: sortable tables (click a header), per-class IoU bars for
    /// segmentation results, no external assets.
    public static func html(_ measured: [LeaderboardRow]) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var body = ""
        for (gi, (key, rows)) in groups(measured).enumerated() {
            let t = table(key, rows)
            body += "<h2>\(esc(title(key)))</h2>\n<table class=\"board\" id=\"t\(gi)\">\n<thead><tr>"
            for (i, h) in t.header.enumerated() { body += "<th onclick=\"sortTable('t\(gi)', \(i))\">\(esc(h))</th>" }
            body += "</tr></thead>\n<tbody>\n"
            for (r, cells) in zip(rows, t.cells) {
                body += "<tr class=\"\(r.isReference ? "paper" : "measured")\">"
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
