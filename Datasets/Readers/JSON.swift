import RepLKCJSONC
import Foundation

/// A JSON file read element by element: a small scanner finds the extent of each element of the
/// top-level containers and json-c parses one element at a time, so a 448 MB annotation file never
/// exists as one object tree (peak memory stays near the file size plus the decoded records).
/// Errors carry the line and column in the file.
final class JSONFile {
    let path: String
    /// The file, memory-mapped read-only.
    let bytes: UnsafeBufferPointer<UInt8>
    private let mapping: UnsafeMutableRawPointer?
    private let mappedLength: Int
    /// A copy of in-memory input (`init(bytes:name:)`), freed with the reader.
    private let owned: UnsafeMutableBufferPointer<UInt8>?
    /// Start of the part of the mapping still resident; earlier pages have been released.
    private var released = 0
    // One tokener, reset per element: creating one per element costs more than parsing a small one.
    private let tokener: UnsafeMutablePointer<json_tokener>? = json_tokener_new()

    init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw DatasetError.missing(path: path, what: "JSON file")
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DatasetError.invalid(path: path, detail: "cannot read: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw DatasetError.invalid(path: path, detail: "cannot stat") }
        self.path = path
        owned = nil
        mappedLength = Int(st.st_size)
        if mappedLength == 0 {
            mapping = nil
            bytes = UnsafeBufferPointer(start: nil, count: 0)
        } else {
            guard let m = mmap(nil, mappedLength, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
                throw DatasetError.invalid(path: path, detail: "cannot map the file")
            }
            mapping = m
            bytes = UnsafeBufferPointer(start: m.assumingMemoryBound(to: UInt8.self), count: mappedLength)
        }
    }

    /// Reads JSON held in memory; `name` stands for the path in errors.
    init(bytes input: some Collection<UInt8>, name: String) {
        path = name
        mapping = nil
        mappedLength = 0
        let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, input.count))
        _ = copy.initialize(from: input)
        owned = copy
        bytes = UnsafeBufferPointer(start: copy.baseAddress, count: input.count)
    }

    deinit {
        if let tokener { json_tokener_free(tokener) }
        if let mapping { munmap(mapping, mappedLength) }
        owned?.deallocate()
    }

    /// Drops the pages before `offset` from memory: a 448 MB annotation file is parsed element by
    /// element, so only a window of it needs to be resident (they are read back if an error needs
    /// its line number).
    func release(before offset: Int) {
        guard let mapping else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = offset / page * page
        if end - released >= 16 << 20 {
            madvise(mapping + released, end - released, MADV_DONTNEED)
            released = end
        }
    }

    func position(_ offset: Int) -> (line: Int, column: Int) {
        var line = 1, col = 1
        for b in bytes[0..<min(offset, bytes.count)] {
            if b == 0x0A { line += 1; col = 1 } else { col += 1 }
        }
        return (line, col)
    }

    func error(at offset: Int, _ detail: String) -> DatasetError {
        let (l, c) = position(offset)
        return .malformedJSON(path: path, line: l, column: c, detail: detail)
    }

    func skipSpace(_ p: inout Int) {
        while p < bytes.count, bytes[p] == 0x20 || bytes[p] == 0x0A || bytes[p] == 0x0D || bytes[p] == 0x09 { p += 1 }
    }

    /// At most this many JSON objects in one value handed to json-c: it spends ~750 bytes on each
    /// (a hash table of 16 slots), so 10 MB of `{},` would take 2.5 GB. COCO's elements hold a few.
    static let maxObjectsPerValue = 1 << 17

    /// The last value `valueEnd` scanned and how many objects it holds, for `parse` to check.
    private var lastScan = (start: -1, end: -1, objects: 0)

    /// End (exclusive) of the JSON value starting at `start`: a string, a bracketed container
    /// (strings inside skipped), or a bare literal. json-c validates the content afterwards.
    func valueEnd(_ start: Int) throws -> Int {
        let (end, objects) = try scan(start)
        lastScan = (start, end, objects)
        return end
    }

    private func scan(_ start: Int) throws -> (end: Int, objects: Int) {
        guard start < bytes.count else { throw error(at: start, "unexpected end of file where a value was expected") }
        func stringEnd(_ q: Int) throws -> Int {
            var p = q + 1
            while p < bytes.count && bytes[p] != UInt8(ascii: "\"") {
                if bytes[p] == UInt8(ascii: "\\") { p += 1 }
                p += 1
            }
            guard p < bytes.count else { throw error(at: q, "unterminated string") }
            return p + 1
        }
        let first = bytes[start]
        if first == UInt8(ascii: "\"") { return (try stringEnd(start), 0) }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            var depth = 0, objects = 0
            var p = start
            while p < bytes.count {
                switch bytes[p] {
                case UInt8(ascii: "\""): p = try stringEnd(p); continue
                case UInt8(ascii: "{"): depth += 1; objects += 1
                case UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return (p + 1, objects) }
                default: break
                }
                p += 1
            }
            throw error(at: start, "unexpected end of file: this value is never closed")
        }
        var p = start
        while p < bytes.count {
            let b = bytes[p]
            if b == UInt8(ascii: ",") || b == UInt8(ascii: "]") || b == UInt8(ascii: "}") || b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { break }
            p += 1
        }
        return (p, 0)
    }

    /// Parses bytes[start..<end] with json-c and hands the object to `body` (freed afterwards).
    func parse<R>(_ start: Int, _ end: Int, _ body: (OpaquePointer) throws -> R) throws -> R {
        guard let tok = tokener else { throw error(at: start, "cannot create a JSON parser") }
        guard let length = Int32(exactly: end - start) else { throw error(at: start, "a single value of more than 2 GB") }
        let objects = lastScan.start == start && lastScan.end == end ? lastScan.objects : try scan(start).objects
        guard objects <= JSONFile.maxObjectsPerValue else {
            throw error(at: start, "this value holds \(objects) JSON objects, more than the \(JSONFile.maxObjectsPerValue) one value may hold (memory bound)")
        }
        json_tokener_reset(tok)
        let obj = UnsafeRawPointer(bytes.baseAddress! + start).withMemoryRebound(to: CChar.self, capacity: end - start) { cs in
            json_tokener_parse_ex(tok, cs, length)
        }
        let err = json_tokener_get_error(tok)
        guard let obj, err == json_tokener_success else {
            let msg = err == json_tokener_continue ? "incomplete value" : String(cString: json_tokener_error_desc(err))
            throw error(at: start + Int(json_tokener_get_parse_end(tok)), msg)
        }
        defer { json_object_put(obj) }
        let consumed = Int(json_tokener_get_parse_end(tok))
        var p = start + consumed
        skipSpace(&p)
        if p < end { throw error(at: p, "unexpected text after a value") }
        return try body(obj)
    }

    /// Calls `element(start, end)` for each element of the array starting at `p`; returns the end.
    @discardableResult
    func forEachElement(ofArrayAt start: Int, _ element: (Int, Int) throws -> Void) throws -> Int {
        var p = start
        guard p < bytes.count, bytes[p] == UInt8(ascii: "[") else { throw error(at: p, "expected '['") }
        p += 1
        skipSpace(&p)
        if p < bytes.count, bytes[p] == UInt8(ascii: "]") { return p + 1 }
        while true {
            skipSpace(&p)
            let e = try valueEnd(p)
            try element(p, e)
            release(before: e)
            p = e
            skipSpace(&p)
            guard p < bytes.count else { throw error(at: p, "unexpected end of file inside an array") }
            if bytes[p] == UInt8(ascii: ",") { p += 1; continue }
            if bytes[p] == UInt8(ascii: "]") { return p + 1 }
            throw error(at: p, "expected ',' or ']'")
        }
    }

    /// Calls `member(key, valueStart)` for each member of the top-level object; `member` returns the
    /// value's end (it may parse or skip it).
    func forEachTopLevelMember(_ member: (String, Int) throws -> Int) throws {
        var p = 0
        skipSpace(&p)
        guard p < bytes.count, bytes[p] == UInt8(ascii: "{") else { throw error(at: p, "expected a JSON object ('{')") }
        p += 1
        skipSpace(&p)
        if p < bytes.count, bytes[p] == UInt8(ascii: "}") { return }
        while true {
            skipSpace(&p)
            guard p < bytes.count, bytes[p] == UInt8(ascii: "\"") else { throw error(at: p, "expected a member name") }
            let keyEnd = try valueEnd(p)
            let key = try parse(p, keyEnd) { String(cString: json_object_get_string($0)) }
            p = keyEnd
            skipSpace(&p)
            guard p < bytes.count, bytes[p] == UInt8(ascii: ":") else { throw error(at: p, "expected ':'") }
            p += 1
            skipSpace(&p)
            p = try member(key, p)
            skipSpace(&p)
            guard p < bytes.count else { throw error(at: p, "unexpected end of file: the object is not closed") }
            if bytes[p] == UInt8(ascii: ",") { p += 1; continue }
            if bytes[p] == UInt8(ascii: "}") {
                p += 1
                skipSpace(&p)
                if p < bytes.count { throw error(at: p, "unexpected text after the top-level object") }
                return
            }
            throw error(at: p, "expected ',' or '}'")
        }
    }

    /// Parses and discards a value (validating it); returns its end. An array is parsed element
    /// by element, as the arrays the readers use are.
    func skipValue(at p: Int) throws -> Int {
        if p < bytes.count && bytes[p] == UInt8(ascii: "[") {
            return try forEachElement(ofArrayAt: p) { s, e in try parse(s, e) { _ in } }
        }
        let e = try valueEnd(p)
        try parse(p, e) { _ in }
        return e
    }
}

/// Typed access to json-c objects.
enum J {
    static func member(_ o: OpaquePointer, _ key: String) -> OpaquePointer? {
        var v: OpaquePointer?
        return json_object_object_get_ex(o, key, &v) != 0 ? v : nil
    }
    static func type(_ o: OpaquePointer?) -> json_type { o.map { json_object_get_type($0) } ?? json_type_null }
    static func isNumber(_ o: OpaquePointer?) -> Bool { type(o) == json_type_int || type(o) == json_type_double }
    /// An integer (or a float with an integral value, or a boolean); nil for integers outside
    /// Int64, which json-c clamps to its ends (so distinct ids would become equal).
    static func int(_ o: OpaquePointer?) -> Int? {
        guard let o else { return nil }
        if type(o) == json_type_int {
            let v = json_object_get_int64(o)
            return v == Int64.max || v == Int64.min ? nil : Int(v)
        }
        if type(o) == json_type_double {
            let d = json_object_get_double(o)
            return d == d.rounded() && abs(d) < 9e15 ? Int(d) : nil
        }
        if type(o) == json_type_boolean { return json_object_get_boolean(o) != 0 ? 1 : 0 }
        return nil
    }
    static func double(_ o: OpaquePointer?) -> Double? {
        guard let o, isNumber(o) else { return nil }
        return type(o) == json_type_int ? Double(json_object_get_int64(o)) : json_object_get_double(o)
    }
    static func string(_ o: OpaquePointer?) -> String? {
        guard let o, type(o) == json_type_string else { return nil }
        return String(cString: json_object_get_string(o))
    }
    /// The elements, JSON null as nil (json-c's array holds no object for it).
    static func array(_ o: OpaquePointer?) -> [OpaquePointer?]? {
        guard let o, type(o) == json_type_array else { return nil }
        let n = json_object_array_length(o)
        return (0..<n).map { json_object_array_get_idx(o, $0) }
    }
    static func doubles(_ o: OpaquePointer?) -> [Double]? {
        guard let a = array(o) else { return nil }
        var out = [Double]()
        out.reserveCapacity(a.count)
        for v in a { guard let d = double(v) else { return nil }; out.append(d) }
        return out
    }
}
