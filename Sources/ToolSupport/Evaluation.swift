import ArgumentParser
import Foundation
import RepLKRecords

// The evaluation run shared by `replk-cls eval`, `replk-seg eval` and `replk-det eval`, and the
// shard partials and `merge` built on it. A tool supplies an `EvaluationTask` (how to key, predict
// and journal one sample) and a finishing step over the per-sample outcomes in dataset order; this
// file does the rest: the resume journal, the to-do list, batches, progress, `--keep-going`, the
// replay in dataset order, and for `--shard I/N` the partial file that `merge` puts together.

// MARK: shards

/// `--shard I/N` (this process evaluates shard I of N, 0 ≤ I < N) or `--shard auto` (I and N from
/// a Slurm job array or a Kubernetes Indexed Job).
public enum ShardOption: ExpressibleByArgument, Equatable, Sendable {
    /// `--shard I/N`: shard `index` of `count` (checked by `validate()`, not here).
    case fixed(index: Int, count: Int)
    /// `--shard auto`: the shard comes from the job array's environment (see `resolve(environment:)`).
    case auto

    /// Parses "auto" or "I/N" with integer I and N; nil (a usage error) otherwise.
    public init?(argument: String) {
        if argument == "auto" { self = .auto; return }
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else { return nil }
        self = .fixed(index: i, count: n)
    }

    /// "auto" or "I/N", as typed.
    public var defaultValueDescription: String {
        switch self {
        case .auto: return "auto"
        case let .fixed(i, n): return "\(i)/\(n)"
        }
    }

    /// Usage error for a shard outside 0 ≤ I < N.
    public func validate() throws {
        guard case let .fixed(i, n) = self else { return }
        guard n >= 1 else { throw ValidationError("--shard \(i)/\(n): N must be at least 1") }
        guard i >= 0 && i < n else { throw ValidationError("--shard \(i)/\(n): I must be from 0 to \(n - 1) (shards are numbered from 0)") }
    }

    /// The shard this process runs. `auto` reads `SLURM_ARRAY_TASK_ID` with `SLURM_ARRAY_TASK_COUNT`
    /// (or `SLURM_ARRAY_TASK_MIN`/`MAX`), counted from the array's first index; else
    /// `JOB_COMPLETION_INDEX` with `REPLK_SHARDS`.
    public func resolve(environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard {
        switch self {
        case let .fixed(i, n): return Shard(index: i, count: n)
        case .auto:
            func int(_ name: String) throws -> Int? {
                guard let v = env[name] else { return nil }
                guard let n = Int(v.trimmingCharacters(in: .whitespaces)) else {
                    throw ToolError.usage("--shard auto: \(name)=\(v) is not an integer")
                }
                return n
            }
            if let id = try int("SLURM_ARRAY_TASK_ID") {
                let lo = try int("SLURM_ARRAY_TASK_MIN") ?? 0
                guard let n = try int("SLURM_ARRAY_TASK_COUNT") ?? int("SLURM_ARRAY_TASK_MAX").map({ $0 - lo + 1 }) else {
                    throw ToolError.usage("--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is")
                }
                let i = id - lo
                guard n >= 1, i >= 0, i < n else {
                    throw ToolError.usage("--shard auto: array task \(id) is not one of \(n) tasks from \(lo) (submit with --array=0-\(max(0, n - 1)), without a step)")
                }
                return Shard(index: i, count: n)
            }
            if let i = try int("JOB_COMPLETION_INDEX") {
                guard let n = try int("REPLK_SHARDS") else {
                    throw ToolError.usage("--shard auto: JOB_COMPLETION_INDEX is set but REPLK_SHARDS (the Job's completions) is not")
                }
                guard n >= 1, i >= 0, i < n else { throw ToolError.usage("--shard auto: JOB_COMPLETION_INDEX=\(i) is not below REPLK_SHARDS=\(n)") }
                return Shard(index: i, count: n)
            }
            throw ToolError.usage("--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX with REPLK_SHARDS (a Kubernetes Indexed Job) is set; give --shard I/N")
        }
    }
}

/// Shard `index` of `count`: the samples at positions index, index + count, index + 2·count, … of
/// the unsharded run's order (strided, as PyTorch's DistributedSampler without padding), so that
/// shards stay within one sample of each other and slow stretches of a sorted split are spread.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    /// This shard's number, from 0.
    public let index: Int
    /// The number of shards.
    public let count: Int

    /// Shard `index` of `count`; traps unless 0 ≤ `index` < `count`.
    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count)
        self.index = index; self.count = count
    }

    /// "I/N", as `--shard` takes it.
    public var description: String { "\(index)/\(count)" }

    /// This shard's samples, in the unsharded order.
    public func select<T>(_ all: [T]) -> [T] {
        stride(from: index, to: all.count, by: count).map { all[$0] }
    }

    /// How many of `total` samples this shard holds.
    public func size(of total: Int) -> Int { total > index ? (total - index + count - 1) / count : 0 }
}

/// A digest of a run's sample list (its keys, in order), so that shards and their merge can tell
/// that they cover the same list.
public func sampleListDigest(_ keys: [String]) -> String {
    sha256Hex(Array(keys.joined(separator: "\n").utf8))
}

// MARK: the run

/// The options every `eval` command takes for the run itself.
public struct EvaluationOptions: ParsableArguments {
    /// `--limit N`: evaluate only the first N images, in the dataset's order (nil: all).
    @Option(parsing: .unconditional, help: "Evaluate only the first N images (in the dataset's order).")
    public var limit: Int?

    /// `--results`: the folder for the results record, the resume journal and shard partials.
    @Option(help: "Folder for the results record, the resume journal and shard partials.")
    public var results = "results"

    /// `--resume`: continue an interrupted evaluation from its journal.
    @Flag(help: "Continue an interrupted evaluation.")
    public var resume = false

    /// `--restart`: start over, discarding an earlier run's journal.
    @Flag(help: "Start over, discarding the journal of an earlier run (without --resume or --restart, a journal holding finished images is an error).")
    public var restart = false

    /// `--keep-going`: skip samples that fail (reported at the end) instead of stopping.
    @Flag(help: "Skip unreadable images (reported at the end) instead of stopping.")
    public var keepGoing = false

    /// `--shard I/N` or `--shard auto`: evaluate one shard and write its partial for `merge`.
    @Option(parsing: .unconditional, help: ArgumentHelp("Evaluate shard I of N (0 ≤ I < N; every N-th image from the I-th) and write a partial for `merge`; auto: I and N from a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, REPLK_SHARDS).", valueName: "I/N|auto"))
    public var shard: ShardOption?

    /// `--json`: print one JSON object instead of the tables.
    @Flag(help: "Print one JSON object instead of the tables.")
    public var json = false

    /// `--quiet`: no progress line.
    @Flag(help: "No progress line.")
    public var quiet = false

    /// The defaults: every image, results in `results`, a fresh run, stop at the first failure, unsharded.
    public init() {}

    /// Usage errors (`ValidationError`) for a `--limit` below 1, `--resume` with `--restart`, a
    /// shard outside 0 ≤ I < N, and `--shard auto` outside a job array.
    public func validate() throws {
        try checkOption("--limit", limit, in: OptionLimits.positive)
        guard !(resume && restart) else { throw ValidationError("--resume and --restart exclude each other") }
        try shard?.validate()
        // `auto` without a job array's variables is a usage error too, before anything is read.
        do { _ = try shard?.resolve() } catch let ToolError.usage(why) { throw ValidationError(why) }
    }
}

/// What an `eval` command evaluates one sample with.
public protocol EvaluationTask {
    /// One item of the data set (an image and what its evaluation needs).
    associatedtype Sample
    /// A finished sample as the resume journal holds it.
    associatedtype Entry: JournalEntry
    /// What the finishing step needs of one sample, as a shard partial holds it.
    associatedtype Outcome: JournalEntry

    /// The sample's journal key, unique within the run.
    func key(of sample: Sample) -> String
    /// Reads a journal line back (throws `JournalLineError` for a line to compute again).
    func decodeEntry(key: String, line: JournalLine) throws -> Entry
    /// Evaluates a batch: per sample its entry, or the error that kept it from being evaluated.
    func evaluate(_ batch: [Sample]) throws -> [Result<Entry, Error>]
    /// The journal entry that records a skipped sample; nil when skips are not journalled (the
    /// sample is tried again on resume).
    func skipEntry(_ reason: String) -> Entry?
    /// The part of a finished sample's entry that the finishing step (and a shard partial) keeps.
    func outcome(of entry: Entry) -> Outcome
    /// Why the sample was skipped, when its outcome is a skip.
    static func skipReason(_ outcome: Outcome) -> String?
    /// Samples per `evaluate` call.
    var batchSize: Int { get }
}

extension EvaluationTask {
    /// One sample per `evaluate` call.
    public var batchSize: Int { 1 }
}

/// Identifies an evaluation: its journal and partial names and the settings every part of it must share.
public struct EvaluationIdentity {
    /// The tool, for notices ("replk-seg").
    public var tool: String
    /// The journal's kind ("cls", "seg", "det"): `<stem>.<kind>-journal.jsonl`, `<stem>.<kind>-partial-I-of-N.jsonl`.
    public var kind: String
    /// The checkpoint file's path as given.
    public var checkpoint: String
    /// The checkpoint file's SHA-256, as lowercase hex (the journal refuses a resume with another file).
    public var checkpointSHA256: String
    /// The settings a resume or a merge must share (the journal adds the checkpoint's path and sha256).
    public var settings: [String: Any]

    /// An identity from its parts (see the properties).
    public init(tool: String, kind: String, checkpoint: String, checkpointSHA256: String, settings: [String: Any]) {
        self.tool = tool; self.kind = kind; self.checkpoint = checkpoint
        self.checkpointSHA256 = checkpointSHA256; self.settings = settings
    }

    /// The checkpoint file's name without its extension: the stem of the run's files.
    public var stem: String { ((checkpoint as NSString).lastPathComponent as NSString).deletingPathExtension }
}

/// Per-sample outcomes in dataset order, with what the finishing step reports besides.
public struct EvaluationOutcomes<Outcome> {
    /// The samples that have an outcome (skips included), in dataset order.
    public var outcomes: [(key: String, outcome: Outcome)]
    /// Why samples were skipped (`--keep-going`), each once.
    public var skipped: [String]
    /// Seconds spent predicting, and samples predicted in that time (this session's, summed over shards when merged).
    public var seconds: Double
    /// Samples predicted in `seconds`.
    public var computed: Int
    /// The number of shards merged, or nil for an unsharded run.
    public var shards: Int?
    /// The run's sample list (the unsharded one, after `--limit`): its length and `sampleListDigest`.
    public var samples: Int? = nil
    /// The run's `sampleListDigest`, or nil where unknown.
    public var samplesDigest: String? = nil
}

/// Runs an evaluation over `samples` (the unsharded run's list, in its order): the resume journal,
/// the samples still to do (of this shard, when sharded), progress and `--keep-going`. Returns the
/// outcomes in dataset order: the whole list for an unsharded run (to finish), or this shard's,
/// after writing its partial (`report` is stored in it for `merge`'s finishing step).
public func runEvaluation<T: EvaluationTask>(_ task: T, samples: [T.Sample], identity: EvaluationIdentity,
                                             options: EvaluationOptions, report: [String: Any]) throws
    -> (outcomes: EvaluationOutcomes<T.Outcome>, shard: Shard?, partial: String?) {
    let results = try makeDirectory(options.results)
    let allKeys = samples.map(task.key(of:))
    let shard = try options.shard?.resolve()
    let mine = shard.map { $0.select(samples) } ?? samples
    var settings = identity.settings
    settings["images"] = samples.count
    var journalSettings = settings
    var journalName = "\(identity.stem).\(identity.kind)-journal.jsonl"
    if let shard {
        journalSettings["shard"] = [shard.index, shard.count]
        journalName = "\(identity.stem).\(identity.kind)-journal.shard-\(shard.index)-of-\(shard.count).jsonl"
    }
    let keys = Set(mine.map(task.key(of:)))
    let journalPath = "\(results)/\(journalName)"
    if !options.resume && !options.restart, let finished = finishedLines(journalPath), finished > 0 {
        throw ToolError.usage("\(journalPath): holds \(finished) finished image(s) of an earlier run; add --resume to continue it, or --restart to start over")
    }
    let journal = try Journal<T.Entry>(
        path: journalPath, settings: journalSettings, checkpoint: identity.checkpoint,
        checkpointSHA256: identity.checkpointSHA256, resume: options.resume, keys: keys, tool: identity.tool,
        decode: task.decodeEntry)
    let todo = mine.filter { !journal.contains(task.key(of: $0)) }
    InterruptNotice.install("\n\(identity.tool): interrupted; the finished images are kept in \(journalPath): run the same command with --resume to continue\n")
    defer { InterruptNotice.remove() }
    let progress = Progress(total: mine.count, label: shard.map { "eval \($0)" } ?? "eval", alreadyDone: mine.count - todo.count,
                            enabled: !options.quiet)
    var skipped = [String]()
    var skippedNow = [String: String]()     // key → why, for samples whose skip is not journalled
    var seconds = 0.0, computed = 0
    var i = 0
    while i < todo.count {
        let batch = Array(todo[i..<min(i + max(1, task.batchSize), todo.count)])
        i += batch.count
        let t0 = Date()
        let results = try task.evaluate(batch)
        let dt = Date().timeIntervalSince(t0)
        precondition(results.count == batch.count, "evaluate returned \(results.count) results for \(batch.count) samples")
        var ok = 0
        for (s, r) in zip(batch, results) {
            switch r {
            case let .success(e):
                journal.append(key: task.key(of: s), e)
                ok += 1
            case let .failure(error):
                if !options.keepGoing { throw error }
                skipped.append("\(error)")
                if let e = task.skipEntry("\(error)") { journal.append(key: task.key(of: s), e) } else { skippedNow[task.key(of: s)] = "\(error)" }
            }
        }
        if ok > 0 { seconds += dt; computed += ok }
        progress.step(batch.count)
    }
    var outcomes = [(key: String, outcome: T.Outcome)]()
    for s in mine {
        let k = task.key(of: s)
        guard let e = journal.entries[k] else { continue }
        let o = task.outcome(of: e)
        if let why = T.skipReason(o), !skipped.contains(why) { skipped.append(why) }
        outcomes.append((k, o))
    }
    let result = EvaluationOutcomes(outcomes: outcomes, skipped: skipped, seconds: seconds, computed: computed, shards: nil,
                                    samples: samples.count, samplesDigest: sampleListDigest(allKeys))
    guard let shard else { return (result, nil, nil) }
    let header: [String: Any] = [
        "format": PartialFile.format, "tool": identity.tool, "kind": identity.kind,
        "shard": [shard.index, shard.count], "samples": samples.count, "samples_digest": sampleListDigest(allKeys),
        "shard_samples": mine.count, "settings": partialSettings(settings, identity: identity),
        "checkpoint": identity.checkpoint, "engine_version": engineVersion,
        "seconds": seconds, "computed": computed, "report": report,
    ]
    // One line per sample of the shard, so that merge can put every sample back in its place: its
    // outcome, or (a skip the tool does not journal) why it was skipped.
    var lines = [jsonText(["partial": header], pretty: false)]
    let outcomeOf = Dictionary(outcomes.map { ($0.key, $0.outcome) }, uniquingKeysWith: { a, _ in a })
    for s in mine {
        let k = task.key(of: s)
        var v: [String: Any]
        if let o = outcomeOf[k] { v = o.journalFields } else { v = [PartialFile.skipKey: skippedNow[k] ?? "not evaluated"] }
        v["key"] = k
        lines.append(jsonText(v, pretty: false))
    }
    lines.append(jsonText(["end": mine.count], pretty: false))
    let path = "\(results)/\(PartialFile.name(stem: identity.stem, kind: identity.kind, shard: shard))"
    // writeText writes a temporary file and renames it: a killed shard leaves no half-written partial.
    try writeText(lines.joined(separator: "\n") + "\n", to: path)
    return (result, shard, path)
}

/// The settings every shard of a run must share: the journal's, with the checkpoint's hash in
/// place of its path (shards may see the file under different paths) and without the dataset's
/// root (likewise; the sample list's digest stands for the data).
private func partialSettings(_ settings: [String: Any], identity: EvaluationIdentity) -> [String: Any] {
    var s = settings
    s["root"] = nil
    s["checkpoint_sha256"] = identity.checkpointSHA256
    s["engine_version"] = engineVersion
    return s
}

/// A shard's partial file: `<stem>.<kind>-partial-I-of-N.jsonl` in the results folder. Its first
/// line is the header (`{"partial": {…}}`: shard, settings, the sample list's count and digest,
/// time, and what the finishing step needs), then one line per sample in dataset order (the
/// outcome's fields and "key"), then `{"end": count}`.
public enum PartialFile {
    /// The header's `format`: partials of another format are not merged.
    public static let format = "replk-partial/1"
    /// The field of a sample line that says why the sample was skipped, for tools whose outcomes
    /// have no skip of their own.
    public static let skipKey = "skipped_sample"

    /// The partial's file name, `<stem>.<kind>-partial-I-of-N.jsonl`.
    public static func name(stem: String, kind: String, shard: Shard) -> String {
        "\(stem).\(kind)-partial-\(shard.index)-of-\(shard.count).jsonl"
    }
}

/// Why shard partials cannot be merged.
public struct MergeError: Error, CustomStringConvertible {
    /// What does not fit together, as a tool prints it.
    public let description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// Reads every `kind` partial in `dir` and puts the shards' outcomes back in the unsharded run's
/// order, after checking that they belong together: one checkpoint stem, the same settings and
/// sample list, every shard 0…N−1 present once, each holding its share of the samples, which
/// together make up the list. `decoder` makes, from the run's `report` (stored in the partials),
/// the reader of one sample line. Returns the outcomes and the report.
public func mergePartials<T: EvaluationTask>(_ task: T.Type, kind: String, in dir: String,
                                             decoder: (_ report: [String: Any]) throws -> (_ key: String, _ line: JournalLine) throws -> T.Outcome)
    throws -> (outcomes: EvaluationOutcomes<T.Outcome>, report: [String: Any]) {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw MergeError("\(dir): no such folder (give the --results folder of the shards)")
    }
    let suffix = "-partial-"
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter {
        $0.hasSuffix(".jsonl") && $0.contains(".\(kind)\(suffix)")
    }.sorted()
    guard !names.isEmpty else {
        throw MergeError("\(dir): no \(kind) partials (<checkpoint>.\(kind)-partial-I-of-N.jsonl); run eval --shard I/N first")
    }
    let stems = Set(names.map { String($0[..<$0.range(of: ".\(kind)\(suffix)")!.lowerBound]) })
    guard stems.count == 1 else {
        throw MergeError("\(dir): holds partials of several checkpoints (\(stems.sorted().joined(separator: ", "))); give each run its own --results folder")
    }

    typealias Part = PartialShard<T.Outcome>
    var parts = [Part]()
    var decode: ((String, JournalLine) throws -> T.Outcome)?
    for name in names {
        let path = "\(dir)/\(name)"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw MergeError("\(path): cannot read the partial") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        func object(_ l: String) -> [String: Any]? { try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any] }
        guard let first = lines.first, let h = object(first)?["partial"] as? [String: Any],
              h["format"] as? String == PartialFile.format, h["kind"] as? String == kind else {
            throw MergeError("\(path): not a \(kind) partial of this version (its first line is not a \(PartialFile.format) header)")
        }
        guard let last = lines.last, let end = object(last)?["end"].flatMap(JournalLine.integer) else {
            throw MergeError("\(path): truncated (no end line); run its shard again")
        }
        lines = Array(lines.dropFirst().dropLast())
        guard end == lines.count else { throw MergeError("\(path): truncated (\(lines.count) sample lines, its end line says \(end)); run its shard again") }
        let hl = JournalLine(h)
        let sh: [Int]
        do { sh = try hl.ints("shard", count: 2, in: 0...Int(Int32.max)) } catch { throw MergeError("\(path): header: \(error)") }
        guard sh[1] >= 1, sh[0] < sh[1] else { throw MergeError("\(path): header: shard \(sh[0])/\(sh[1]) is not a shard") }
        if decode == nil { decode = try decoder(h["report"] as? [String: Any] ?? [:]) }
        var samples = [(key: String, outcome: T.Outcome?, skip: String?)]()
        for (n, l) in lines.enumerated() {
            guard let obj = object(l), let key = obj["key"] as? String else { throw MergeError("\(path) line \(n + 2): not a sample line") }
            if let why = obj[PartialFile.skipKey] as? String { samples.append((key, nil, why)); continue }
            do { samples.append((key, try decode!(key, JournalLine(obj)), nil)) } catch {
                throw MergeError("\(path) line \(n + 2): \"\(key)\": \(error)")
            }
        }
        parts.append(Part(path: path, header: h, shard: Shard(index: sh[0], count: sh[1]), lines: samples))
    }

    let p0 = parts.min { $0.shard.index < $1.shard.index }!
    let n = p0.shard.count
    if let other = parts.first(where: { $0.shard.count != n }) {
        throw MergeError("\(other.path): is shard \(other.shard) but \(p0.path) is shard \(p0.shard): partials of differently split runs")
    }
    func text(_ v: Any?) -> String { v.map { jsonText($0, pretty: false) } ?? "none" }
    let agreeing = ["tool", "samples", "samples_digest", "settings"]
    for p in parts where p.path != p0.path {
        var differing = [String]()
        for k in agreeing where text(p.header[k]) != text(p0.header[k]) {
            if k == "settings", let a = p.header[k] as? [String: Any], let b = p0.header[k] as? [String: Any] {
                differing += Set(a.keys).union(b.keys).sorted().filter { text(a[$0]) != text(b[$0]) }
            } else {
                differing.append(k == "samples_digest" ? "sample list" : k)
            }
        }
        if !differing.isEmpty {
            throw MergeError("\(p.path): shard \(p.shard) was run with other settings than shard \(p0.shard) (\(differing.joined(separator: ", ")))")
        }
    }
    var byIndex = [Int: Part]()
    for p in parts {
        if let q = byIndex[p.shard.index] { throw MergeError("\(q.path) and \(p.path): both hold shard \(p.shard)") }
        byIndex[p.shard.index] = p
    }
    let missing = (0..<n).filter { byIndex[$0] == nil }
    if !missing.isEmpty {
        throw MergeError("\(dir): missing shard\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", ")) of \(n) (their partials are not there yet: still running, or failed)")
    }
    // Bounded, so that the share arithmetic below cannot overflow on a hostile header.
    guard let total = p0.header["samples"].flatMap(JournalLine.integer), (0...Int(Int32.max)).contains(total) else {
        throw MergeError("\(p0.path): header has no sample count from 0 to \(Int32.max)")
    }
    // Each shard holds a line for every sample of its share; put them back position by position.
    for p in byIndex.values where p.lines.count != p.shard.size(of: total) {
        throw MergeError("\(p.path): shard \(p.shard) holds \(p.lines.count) samples, its share of \(total) is \(p.shard.size(of: total))")
    }
    var keys = [String]()
    var outcomes = [(key: String, outcome: T.Outcome)]()
    var skipped = [String]()
    keys.reserveCapacity(total)
    for pos in 0..<total {
        let line = byIndex[pos % n]!.lines[pos / n]
        keys.append(line.key)
        if let o = line.outcome {
            outcomes.append((line.key, o))
            if let why = T.skipReason(o), !skipped.contains(why) { skipped.append(why) }
        } else if let why = line.skip, !skipped.contains(why) {
            skipped.append(why)
        }
    }
    guard sampleListDigest(keys) == p0.header["samples_digest"] as? String else {
        throw MergeError("\(dir): the shards' samples do not make up the run's list (an overlap, a gap or another order)")
    }
    let seconds = parts.reduce(0.0) { $0 + (JournalLine.number($1.header["seconds"] as Any) ?? 0) }
    let computed = parts.reduce(0) { $0 + ($1.header["computed"].flatMap(JournalLine.integer) ?? 0) }
    return (EvaluationOutcomes(outcomes: outcomes, skipped: skipped, seconds: seconds, computed: computed, shards: n,
                               samples: total, samplesDigest: p0.header["samples_digest"] as? String),
            p0.header["report"] as? [String: Any] ?? [:])
}

/// What a shard prints when its partial is written: where it is, and the merge to run once every
/// shard is done.
public func printShardDone<O>(_ shard: Shard, partial: String, outcomes: EvaluationOutcomes<O>, tool: String, results: String, json: Bool) {
    if json {
        print(jsonText(["shard": [shard.index, shard.count], "images": outcomes.outcomes.count, "partial": partial,
                        "skipped": outcomes.skipped]))
        return
    }
    print("shard \(shard): \(outcomes.outcomes.count) image(s) → \(partial)")
    if !outcomes.skipped.isEmpty {
        print("Skipped \(outcomes.skipped.count) image(s):")
        for s in outcomes.skipped { print("  \(s)") }
    }
    print("when all \(shard.count) shard(s) are done: \(tool) merge --results \(results)")
}

/// One partial as `mergePartials` reads it.
struct PartialShard<Outcome> {
    let path: String
    let header: [String: Any]
    let shard: Shard
    let lines: [(key: String, outcome: Outcome?, skip: String?)]
}

/// The number of lines after the first (the finished images) of a journal, or nil when there is none.
private func finishedLines(_ path: String) -> Int? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
    return max(0, lines.count - 1)
}

/// Ctrl-C during an evaluation: one line saying where the finished images are and that `--resume`
/// continues (the journal is flushed image by image, so nothing finished is lost), exit 130.
enum InterruptNotice {
    // A C buffer, written by the handler with write(2) (async-signal-safe; no Swift runtime calls).
    nonisolated(unsafe) static var message: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) static var length = 0

    static func install(_ text: String) {
        remove()
        let bytes = Array(text.utf8)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
        message = p
        length = bytes.count
        signal(SIGINT) { _ in
            if let m = InterruptNotice.message { _ = write(2, m, InterruptNotice.length) }
            _exit(130)
        }
    }

    static func remove() {
        signal(SIGINT, SIG_DFL)
        message?.deallocate()
        message = nil
        length = 0
    }
}

/// `runEvaluation`, then for a shard what `printShardDone` prints: the outcomes to finish for an
/// unsharded run, nil for a shard (its partial is written; `merge` finishes).
public func evaluateOrShard<T: EvaluationTask>(_ task: T, samples: [T.Sample], identity: EvaluationIdentity,
                                               options: EvaluationOptions, report: [String: Any]) throws -> EvaluationOutcomes<T.Outcome>? {
    let (outcomes, shard, partial) = try runEvaluation(task, samples: samples, identity: identity, options: options, report: report)
    guard let shard, let partial else { return outcomes }
    printShardDone(shard, partial: partial, outcomes: outcomes, tool: identity.tool, results: options.results, json: options.json)
    return nil
}

/// The images an evaluation skipped (`--keep-going`), after its tables.
public func printSkipped(_ skipped: [String], what: String = "image(s)") {
    guard !skipped.isEmpty else { return }
    print("\nSkipped \(skipped.count) \(what):")
    for s in skipped { print("  \(s)") }
}

/// The options of every `merge` command.
public struct MergeOptions: ParsableArguments {
    /// `--results`: the shards' results folder, where the merged record is written too.
    @Option(help: "The shards' --results folder (the merged record, and any results files, are written there too).")
    public var results = "results"

    /// `--json`: print one JSON object instead of the tables.
    @Flag(help: "Print one JSON object instead of the tables.")
    public var json = false

    /// The defaults: `results`, tables.
    public init() {}
}
