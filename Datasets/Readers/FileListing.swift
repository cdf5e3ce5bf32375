import Foundation

/// Directory helpers with Python's ordering (code-point order, as `sorted()` on str).
enum Listing {
    static func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }

    static func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// Sorted entries of a directory.
    static func entries(_ dir: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: dir).sorted(by: byteOrder)
        } catch {
            throw DatasetError.missing(path: dir, what: "directory")
        }
    }

    /// Files under `dir` (recursively, following links), as `os.walk` + `sorted` visits them,
    /// relative to `dir`, filtered by extension (case-insensitive, with the dot).
    static func files(under dir: String, extensions: Set<String>) throws -> [String] {
        var out = [String]()
        func walk(_ rel: String) throws {
            let here = rel.isEmpty ? dir : dir + "/" + rel
            var subdirs = [String]()
            for name in try entries(here) {
                let full = here + "/" + name
                let relName = rel.isEmpty ? name : rel + "/" + name
                if isDirectory(full) {
                    subdirs.append(relName)
                } else if let dot = name.lastIndex(of: "."), extensions.contains(name[dot...].lowercased()) {
                    out.append(relName)
                }
            }
            for s in subdirs { try walk(s) }
        }
        try walk("")
        return out
    }
}

extension Listing {
    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}
