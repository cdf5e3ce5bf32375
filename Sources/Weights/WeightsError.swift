/// Everything that can go wrong reading or binding weights. Each case names the file and, where it
/// applies, the key and the shapes, so a message alone tells the user what to fix. The description
/// is always one line: control characters from the file (in keys, names, headers) are escaped.
public enum WeightsError: Error, CustomStringConvertible, Equatable {
    /// The file cannot be opened or read (missing, a directory, an I/O error), or an export cannot be
    /// written.
    case unreadable(file: String, reason: String)
    /// The file ends before the data it declares (an incomplete download, usually).
    case truncated(file: String, detail: String)
    /// The file is of a known format but its structure is corrupt or impossible.
    case malformed(file: String, detail: String)
    /// The file is not a format this reader handles (a plain pickle, gzip, a compressed ZIP entry, an
    /// unknown storage or `.npy` dtype).
    case unsupportedFormat(file: String, detail: String)
    /// The pickle names a callable outside the allow-list; nothing was executed.
    case forbiddenGlobal(file: String, global: String)
    /// The model needs `key` and the state dict lacks it.
    case missingKey(file: String, key: String, expectedShape: [Int]?)
    /// The state dict holds keys the model never took (`WeightBinder.finish`).
    case unusedKeys(file: String, keys: [String])
    /// `key` exists with another shape than the model needs.
    case shapeMismatch(file: String, key: String, expected: [Int], found: [Int])
    /// `key`'s element type cannot be read as weights (`bool`, or a safetensors dtype this reader lacks).
    case unsupportedDType(file: String, key: String, dtype: String)
    /// The checkpoint holds no usable state dict: the top level is not a dict, has no tensors or no EMA
    /// weights, or mixes in entries that are not tensors.
    case notAStateDict(file: String, detail: String)
    /// The tensors are readable but do not describe the model asked for (another task's checkpoint, a
    /// non-RepLKNet backbone, inconsistent shapes).
    case invalidModel(file: String, detail: String)

    /// The message on one line, naming the file (control characters escaped as `\n`, `\u{…}`).
    public var description: String { Self.oneLine(message) }

    private var message: String {
        switch self {
        case let .unreadable(f, r): return "\(f): cannot read: \(r)"
        case let .truncated(f, d): return "\(f): truncated or corrupt file: \(d)"
        case let .malformed(f, d): return "\(f): malformed checkpoint: \(d)"
        case let .unsupportedFormat(f, d): return "\(f): unsupported format: \(d)"
        case let .forbiddenGlobal(f, g):
            return "\(f): refusing pickle global '\(g)': only tensors, containers and known metadata types are allowed (nothing is ever executed)"
        case let .missingKey(f, k, s):
            return "\(f): missing key '\(k)'" + (s.map { " (expected shape \($0))" } ?? "")
        case let .unusedKeys(f, keys):
            let shown = keys.prefix(5).joined(separator: ", ")
            return "\(f): \(keys.count) unused key\(keys.count == 1 ? "" : "s") the model does not know: \(shown)\(keys.count > 5 ? ", …" : "")"
        case let .shapeMismatch(f, k, e, s): return "\(f): key '\(k)' has shape \(s), expected \(e)"
        case let .unsupportedDType(f, k, d): return "\(f): key '\(k)' has dtype \(d), which cannot be used as weights"
        case let .notAStateDict(f, d): return "\(f): no state dict found: \(d)"
        case let .invalidModel(f, d): return "\(f): \(d)"
        }
    }

    private static func oneLine(_ s: String) -> String {
        func escaped(_ u: Unicode.Scalar) -> Bool {
            [.control, .lineSeparator, .paragraphSeparator].contains(u.properties.generalCategory)
        }
        guard s.unicodeScalars.contains(where: escaped) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if escaped(u) { out += "\\u{" + String(u.value, radix: 16) + "}" }
                else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }
}
