/// Problems with a dataset on disk. Each case names the file or folder.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    /// A file or folder the dataset needs does not exist; `what` names it.
    case missing(path: String, what: String)
    /// The folder is not laid out as the dataset's official layout expects.
    case layout(path: String, detail: String)
    /// A file cannot be read or holds something unusable.
    case invalid(path: String, detail: String)
    /// A JSON file is malformed or lacks what the format needs, at a 1-based line and byte column.
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
