import Foundation

/// What a path names on disk: device and inode, symbolic links followed. Two spellings of one
/// file, a link to it or a hard link of it compare equal, where comparing strings would not.
public struct FileIdentity: Hashable, Sendable {
    /// The ID of the device holding the file (`st_dev`).
    public let device: UInt64
    /// The file's inode number on that device (`st_ino`).
    public let inode: UInt64

    /// nil when nothing exists at `path`.
    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}

/// Why an output file is not written.
public enum OutputError: Error, CustomStringConvertible {
    /// The output names an input file (the same path, a link to it, or another name of it).
    case wouldOverwriteInput(output: String, input: String)
    /// Two different inputs would be written to the same output.
    case sameOutput(output: String, first: String, second: String)

    /// The message a tool prints: which paths clash and what to do about it.
    public var description: String {
        switch self {
        case let .wouldOverwriteInput(o, i):
            return o == i ? "\(o): is an input, and an output would be written over it; choose another output folder or path"
                          : "\(o): would be written over the input \(i) (the same file); choose another output folder or path"
        case let .sameOutput(o, a, b):
            return "\(a) and \(b) would both be written to \(o); rename one of them or run them separately"
        }
    }
}

/// A run's input files, by identity, so that no output is written over one of them.
public struct InputFiles {
    private var byIdentity: [FileIdentity: String] = [:]

    /// Inputs that do not exist (yet) are left out: there is nothing to overwrite.
    public init(_ paths: [String]) {
        for p in paths { if let id = FileIdentity(path: p), byIdentity[id] == nil { byIdentity[id] = p } }
    }

    /// Throws `OutputError.wouldOverwriteInput` when writing `output` would replace an input.
    public func checkNotAnInput(_ output: String) throws {
        if let id = FileIdentity(path: output), let input = byIdentity[id] {
            throw OutputError.wouldOverwriteInput(output: output, input: input)
        }
    }
}

/// The output files of `infer` for each input: the input's path relative to the inputs' common
/// parent folder, under `dir`, its extension replaced by each of `suffixes` (e.g. ".png",
/// "_overlay.jpg"). Inputs from one folder keep their bare names, as mmseg's and mmdet's
/// `--show-dir` / `--out-dir` write them; inputs from several folders keep the sub-folders that
/// tell them apart (`a/x.jpg` and `b/x.jpg` → `dir/a/x.png`, `dir/b/x.png`), as mmseg 0.x's
/// show-dir keeps a dataset's sub-folders. Throws when two different inputs would still share an
/// output (`x.jpg` and `x.png`), or an output would overwrite an input (`--out` the inputs' own
/// folder, or a link to it).
public func inferOutputs(for inputs: [String], in dir: String, suffixes: [String],
                         otherInputs: [String] = []) throws -> [[String]] {
    let absolute = inputs.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
    let folders = absolute.map { Array(($0 as NSString).deletingLastPathComponent.split(separator: "/").map(String.init)) }
    var common = folders.first ?? []
    for f in folders.dropFirst() {
        var n = 0
        while n < min(common.count, f.count) && common[n] == f[n] { n += 1 }
        common.removeLast(common.count - n)
    }
    let base = dir.count > 1 && dir.hasSuffix("/") ? String(dir.dropLast()) : dir
    var plan = [[String]]()
    var owner = [String: Int]()   // output → the input that writes it
    let guardInputs = InputFiles(inputs + otherInputs)
    // Which file an input is: one named twice (or by a link) writes its outputs twice, harmlessly.
    let same = absolute.indices.map { i in FileIdentity(path: inputs[i]).map { "\($0.device):\($0.inode)" } ?? absolute[i] }
    for (i, path) in absolute.enumerated() {
        let sub = folders[i].dropFirst(common.count)
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let prefix = ([base] + sub).joined(separator: "/") + "/" + stem
        var outs = [String]()
        for s in suffixes {
            let out = prefix + s
            if let j = owner[out], same[j] != same[i] {
                throw OutputError.sameOutput(output: out, first: inputs[j], second: inputs[i])
            }
            owner[out] = owner[out] ?? i
            try guardInputs.checkNotAnInput(out)
            outs.append(out)
        }
        plan.append(outs)
    }
    return plan
}
