/// Problems with a dataset on disk. Each case names the file or folder.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case missing(path: String, what: String)
    case layout(path: String, detail: String)
    case invalid(path: String, detail: String)
    case malformedJSON(path: String, line: Int, column: Int, detail: String)

    /// The message for the user, starting with the path (and `line:column` for malformed JSON).
    public var description: String {
        switch self {
        case let .missing(p, w): return "\(p): \(w) not found"
        case let .layout(p, d): return "\(p): \(d)"
        case let .invalid(p, d): return "\(p): \(d)"
        case let .malformedJSON(p, l, c, d): return "\(p):\(l):\(c): malformed JSON: \(d)"
        }
    }
}
