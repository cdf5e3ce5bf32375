import ArgumentParser
import Foundation

/// Comma-separated integers, e.g. `--scale 2048,512` or `--max-dets 100,300,1000` (spaces around
/// the commas are allowed). Any item that is not an integer makes the whole value a usage error,
/// rather than being dropped.
public struct IntList: ExpressibleByArgument, Equatable, Sendable {
    /// The items in the order given, e.g. `[2048, 512]`.
    public var values: [Int]

    /// A list holding `values`, e.g. an option's default.
    public init(_ values: [Int]) { self.values = values }

    /// Parses comma-separated integers; nil (a usage error) when any item is not one.
    public init?(argument: String) {
        var v = [Int]()
        for item in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let n = Int(item.trimmingCharacters(in: .whitespaces)) else { return nil }
            v.append(n)
        }
        values = v
    }

    /// The values as they would be typed, comma-separated (`--help` shows it as the default).
    public var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
}

/// Comma-separated finite numbers, e.g. `--mean 0.485,0.456,0.406` or `--ratios 0.5,1.0,1.5`.
/// An item that is not a number, or is NaN or infinite, makes the whole value a usage error.
public struct NumberList: ExpressibleByArgument, Equatable, Sendable {
    /// The items in the order given, e.g. `[0.485, 0.456, 0.406]`.
    public var values: [Double]

    /// A list holding `values`, e.g. an option's default.
    public init(_ values: [Double]) { self.values = values }

    /// Parses comma-separated finite numbers; nil (a usage error) when any item is not one.
    public init?(argument: String) {
        var v = [Double]()
        for item in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let x = Double(item.trimmingCharacters(in: .whitespaces)), x.isFinite else { return nil }
            v.append(x)
        }
        values = v
    }

    /// The values as they would be typed, comma-separated (`--help` shows it as the default).
    public var defaultValueDescription: String { values.map { String(format: "%g", $0) }.joined(separator: ",") }
}

/// The ranges the tools accept for their numeric options, so that a number that would trap, loop
/// or exhaust memory is a usage error at parse time.
public enum OptionLimits {
    /// `--threads`: at least one; more than this is a typo, not a machine.
    public static let threads = 1...1024
    /// Sides of network inputs and test scales (`--input-size`, `--scale`, `--crop`, …), in pixels.
    public static let imageSide = 1...8192
    /// Counts that only need to be positive (`--limit`, `--batch-size`, `--top-k`, `--repeat`, …).
    public static let positive = 1...Int.max
}

private func describe(_ range: ClosedRange<Int>) -> String {
    range.upperBound == Int.max ? "at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
}

/// Usage error unless `value` (when given) lies in `range`; `option` is its spelling, e.g. "--batch-size".
public func checkOption(_ option: String, _ value: Int?, in range: ClosedRange<Int>) throws {
    guard let value, !range.contains(value) else { return }
    throw ValidationError("\(option) must be \(describe(range)), not \(value)")
}

/// "0.5", "1", "1e+06": numbers as a user would type them.
private func short(_ x: Double) -> String { String(format: "%g", x) }

/// Usage error unless `value` (when given) is finite and lies in `range`.
public func checkOption(_ option: String, _ value: Double?, in range: ClosedRange<Double>) throws {
    guard let value, !(value.isFinite && range.contains(value)) else { return }
    throw ValidationError("\(option) must be a number from \(short(range.lowerBound)) to \(short(range.upperBound)), not \(short(value))")
}

/// Usage error unless the list (when given) has `count` items (any count when nil), each in `range`.
/// `form` shows what is expected, e.g. "'long,short', e.g. 2048,512".
public func checkOption(_ option: String, _ list: IntList?, count: Int? = nil, in range: ClosedRange<Int>, form: String) throws {
    guard let list else { return }
    let name = option
    if let count, list.values.count != count {
        throw ValidationError("\(name) needs \(form), not \(list.defaultValueDescription)")
    }
    if list.values.isEmpty { throw ValidationError("\(name) needs \(form)") }
    if let bad = list.values.first(where: { !range.contains($0) }) {
        throw ValidationError("\(name): each value must be \(describe(range)), not \(bad)")
    }
}

/// Usage error unless the list (when given) has `count` items (any count when nil), each in
/// `range` (open below when `aboveLower`: "positive" is `0…` with `aboveLower`).
public func checkOption(_ option: String, _ list: NumberList?, count: Int? = nil, in range: ClosedRange<Double>,
                        aboveLower: Bool = false, form: String) throws {
    guard let list else { return }
    let name = option
    if let count, list.values.count != count {
        throw ValidationError("\(name) needs \(form), not \(list.defaultValueDescription)")
    }
    if list.values.isEmpty { throw ValidationError("\(name) needs \(form)") }
    if let bad = list.values.first(where: { !range.contains($0) || (aboveLower && $0 == range.lowerBound) }) {
        let bounds = aboveLower ? "above \(short(range.lowerBound)) and at most" : "from \(short(range.lowerBound)) to"
        throw ValidationError("\(name): each value must be \(bounds) \(short(range.upperBound)), not \(short(bad))")
    }
}

/// Usage error for `--threads` outside `OptionLimits.threads`.
public func checkThreads(_ threads: Int?) throws {
    try checkOption("--threads", threads, in: OptionLimits.threads)
}

/// `info --shape H,W`: the input size to count FLOPs at (one number: a square).
public struct InputShape: ExpressibleByArgument, Equatable, Sendable {
    /// Pixels.
    public var height: Int
    /// Pixels.
    public var width: Int

    /// An input of `height × width` pixels.
    public init(height: Int, width: Int) { self.height = height; self.width = width }

    /// "H,W" or "S" (a square), each side in `OptionLimits.imageSide`; nil otherwise.
    public init?(argument: String) {
        guard let list = IntList(argument: argument), (1...2).contains(list.values.count),
              list.values.allSatisfy({ OptionLimits.imageSide.contains($0) }) else { return nil }
        height = list.values[0]
        width = list.values.last!
    }

    /// "H,W".
    public var defaultValueDescription: String { "\(height),\(width)" }
}

/// The help of `info --shape`.
public let inputShapeHelp = ArgumentHelp("Input size H,W to count FLOPs at (one number for a square; each side 1 to 8192).", valueName: "H,W")

/// `n` with commas between groups of three digits: 79864168 → "79,864,168".
public func grouped(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, ch) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out += "," }
        out.append(ch)
    }
    return out
}

/// What `info` prints about a model's cost: parameters and multiply-accumulates at an input size,
/// as a few lines or (with `json`) one JSON object.
public func modelCostReport(checkpoint: String, model: String, input: InputShape, macs: Double, parametersMerged: Int,
                            parametersCheckpoint: Int?, note: String? = nil, json: Bool) -> String {
    if json {
        var obj: [String: Any] = ["checkpoint": checkpoint, "model": model, "input": [input.height, input.width],
                                  "gmacs": macs / 1e9, "macs": macs, "params_merged": parametersMerged]
        if let parametersCheckpoint { obj["params_checkpoint"] = parametersCheckpoint }
        if let note { obj["note"] = note }
        return jsonText(obj)
    }
    var lines = ["\(checkpoint): \(model)",
                 "  input \(input.height)×\(input.width) (H×W): \(formatGFLOPs(macs)) GFLOPs (multiply-accumulates, as the RepLKNet tables count them)",
                 "  parameters: \(grouped(parametersMerged)) deployed (merged), \(String(format: "%.1fM", Double(parametersMerged) / 1e6))"]
    if let p = parametersCheckpoint, p != parametersMerged { lines.append("  parameters: \(grouped(p)) as in the checkpoint (un-merged)") }
    if let note { lines.append("  " + note) }
    return lines.joined(separator: "\n")
}

/// Multiply-accumulates in G, with three significant digits below 10 G ("0.113", "5.72", "1174.3").
public func formatGFLOPs(_ macs: Double) -> String {
    let g = macs / 1e9
    return g >= 10 ? String(format: "%.1f", g) : String(format: "%.3g", g)
}
