import Foundation
import ArgumentParser
import RepLKImaging

/// The extensions `infer` looks for in folders (case-insensitive).
public let imageFileExtensions: Set<String> = [".jpg", ".jpeg", ".png"]

/// Why the image arguments of `infer` name no images.
public enum ImageInputError: Error, CustomStringConvertible, Equatable {
    /// An `@list` file that cannot be read.
    case unreadableList(path: String, reason: String)
    /// A folder (given or listed) with no JPEG or PNG file under it.
    case emptyFolder(path: String)
    /// An `@list` file with no paths in it.
    case emptyList(path: String)
    /// An `@list` file that lists itself, directly or through others.
    case listCycle(path: String)

    /// The message a tool prints, naming the path.
    public var description: String {
        switch self {
        case let .unreadableList(p, r): return "\(p): cannot read the list of images: \(r)"
        case let .emptyFolder(p): return "\(p): folder holds no JPEG or PNG images (looked in its sub-folders too)"
        case let .emptyList(p): return "\(p): list of images is empty (one path a line expected)"
        case let .listCycle(p): return "\(p): list of images includes itself"
        }
    }
}

/// The image files that `infer`'s arguments name, in order: a file as given; a folder as the JPEG
/// and PNG files under it (sub-folders too, links followed once, hidden entries skipped), sorted by
/// path in byte order; `@FILE` as the paths in FILE, one a line (blank lines and lines starting
/// with `#` skipped; relative paths are taken from the current folder, as the shell would; each
/// may be a folder or another `@list`). Files are not opened here: a missing or unreadable one is
/// reported when its turn comes (skipped with `--keep-going`).
public func expandImageInputs(_ arguments: [String]) throws -> [String] {
    var out = [String]()
    var openLists = Set<String>()
    func add(_ arg: String) throws {
        if arg.hasPrefix("@") && arg.count > 1 {
            let path = String(arg.dropFirst())
            let key = URL(fileURLWithPath: path).standardizedFileURL.path
            guard !openLists.contains(key) else { throw ImageInputError.listCycle(path: path) }
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                let reason = FileManager.default.fileExists(atPath: path) ? "not UTF-8 text or not readable" : "no such file"
                throw ImageInputError.unreadableList(path: path, reason: reason)
            }
            let entries = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            guard !entries.isEmpty else { throw ImageInputError.emptyList(path: path) }
            openLists.insert(key)
            for e in entries { try add(e) }
            openLists.remove(key)
            return
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: arg, isDirectory: &isDir), isDir.boolValue {
            let found = imagesUnder(folder: arg)
            guard !found.isEmpty else { throw ImageInputError.emptyFolder(path: arg) }
            out += found
        } else {
            out.append(arg)
        }
    }
    for a in arguments { try add(a) }
    return out
}

/// JPEG and PNG files under `folder`, recursively, sorted by path (byte order); each folder is
/// entered once, so links that loop are harmless.
func imagesUnder(folder: String) -> [String] {
    let base = folder.count > 1 && folder.hasSuffix("/") ? String(folder.dropLast()) : folder
    var found = [String]()
    var seen = Set<FileIdentity>()
    func walk(_ dir: String) {
        if let id = FileIdentity(path: dir) {
            guard seen.insert(id).inserted else { return }
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where !name.hasPrefix(".") {
            let path = dir + "/" + name
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                walk(path)
            } else if let dot = name.lastIndex(of: "."), imageFileExtensions.contains(name[dot...].lowercased()) {
                found.append(path)
            }
        }
    }
    walk(base)
    return found.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
}

/// The files `infer --keep-going` skipped, each with its one-line reason.
public struct SkippedInputs {
    /// One line per skipped file, naming it and the problem.
    public private(set) var reasons = [String]()
    /// None skipped yet.
    public init() {}
    /// Whether nothing was skipped.
    public var isEmpty: Bool { reasons.isEmpty }
    /// Records an input that could not be processed.
    public mutating func add(_ error: Error) { reasons.append("\(error)".replacingOccurrences(of: "\n", with: " ")) }

    /// Prints the skipped files on standard error and exits with status 1 when there are any.
    public func reportAndExitIfAny(_ tool: String, total: Int) {
        guard !reasons.isEmpty else { return }
        printError("\(tool): skipped \(reasons.count) of \(total) image(s):")
        for r in reasons { printError("  \(r)") }
        exit(1)
    }
}

/// The options of every `infer` that reads image files: what to do with a bad one, and whether
/// to show progress.
public struct InferRunOptions: ParsableArguments {
    /// `--keep-going`: skip images that cannot be read or processed, list them at the end and exit 1.
    @Flag(help: "Skip images that cannot be read or processed, list them at the end and exit 1, instead of stopping at the first.")
    public var keepGoing = false

    /// `--quiet`: no progress and no line per image (errors and skipped images are still printed).
    @Flag(help: "No progress and no line per image (errors and the list of skipped images are still printed).")
    public var quiet = false

    /// The defaults (stop at the first bad image, show progress).
    public init() {}
}

/// The help of `infer`'s image arguments.
public let inferImagesHelp = ArgumentHelp(
    "JPEG or PNG images, folders (their images, sub-folders too, sorted) and @FILE lists of paths (one a line), in any mix.",
    valueName: "image|folder|@list")

/// A one-line notice on standard error when drawings fall back to the bitmap font.
public func noteFontFallback(_ tool: String) {
    if let why = TextRenderer.shared.fallbackReason { printError("\(tool): note: \(why)") }
}
