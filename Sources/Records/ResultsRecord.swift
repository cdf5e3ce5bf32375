import Foundation

/// The engine version written into every results record (`engine_version`) and printed by `--version`.
public let engineVersion = "0.1.0"

/// One evaluation's results: the `replk-results/1` JSON object every `eval` and `merge` command
/// writes and `replk-board` reads (docs/formats.md). Each property names the key it is written
/// under; optional ones are left out when nil, and records written before a key existed read as
/// nil there. Keys this type does not know are ignored when reading.
///
/// `Codable` through ``JSONValue``: `encode(to:)` writes ``jsonObject`` and `init(from:)` reads
/// the same object as ``init(json:file:)``. The tools write records with their own JSON writer
/// (ToolSupport's `write(to:)`), which keeps every number's digits; `JSONEncoder` writes the same
/// keys but `100.0` as `100`.
public struct ResultsRecord: Sendable, Equatable {
    /// `format`: the one format this type reads and writes.
    public static let format = "replk-results/1"
    /// `params_convention`, written with `params`.
    public static let parametersConvention = "deployed (merged) model"
    /// `flops_convention`, written with `flops`.
    public static let flopsConvention = "multiply-accumulates of convs and linear layers, as the RepLKNet tables count them"

    /// `task`: `classification`, `segmentation` or `detection`.
    public var task: String
    /// `dataset`: `imagenet`, `ade20k`, `cityscapes` or `coco` (the tools' `--data`).
    public var dataset: String
    /// `split`: the split evaluated (`val`, `validation`, `val2017`, or the folder's name).
    public var split: String
    /// `model`: the model's name (`RepLKNet-31B`, `UperNet RepLKNet-31B`, …).
    public var model: String
    /// The checkpoint evaluated; only its last path component is written (`checkpoint.file`),
    /// and that is what a record read back holds.
    public var checkpointPath: String
    /// `checkpoint.sha256`: the checkpoint's SHA-256 in hex. Nil until known: ToolSupport's
    /// `write(to:)` and `object()` hash the file then.
    public var checkpointSHA256: String?
    /// `images`: the number of images evaluated.
    public var imageCount: Int
    /// `test_mode`: the tool's test settings (classification `input_size`, `crop_pct`,
    /// `interpolation`; segmentation `mode`, `scale` [w, h], `aug_test`, …; detection `scale`,
    /// `max_dets`, `score_thr`).
    public var testMode: [String: JSONValue]
    /// `metrics`: classification `top1`/`top5` (percent); segmentation `aAcc`/`mIoU`/`mAcc` and
    /// per-class `IoU`/`Acc` (percent, null for NaN) with `classes`; detection `bbox`/`segm`
    /// (COCOeval's 12 numbers by name, fractions), `*_stats`, `*_per_category`, `*_classwise`.
    public var metrics: [String: JSONValue]
    /// `params`: parameters of the deployed (merged) model.
    public var parameters: Int?
    /// `flops`: multiply-accumulates of one image at `flopsInput` (the convention of the RepLKNet tables).
    public var flops: Double?
    /// `flops_input_wh`: the [width, height] the FLOPs were counted at, in pixels.
    public var flopsInput: [Int]?
    /// `throughput_img_per_s`: images predicted per second.
    public var throughput: Double?
    /// `latency_ms`: milliseconds of prediction per image.
    public var latencyMs: Double?
    /// `threads`: the threads the model ran on (1 for records written without it).
    public var threads: Int
    /// `depthwise`: the depth-wise conv algorithm the model ran (`--depthwise`), for tools that run one.
    public var depthwise: String?
    /// `precision`: the arithmetic the model ran at (`--precision`: `fp32` or `bf16`), for tools
    /// that run one; records from before it ran at fp32.
    public var precision: String?
    /// `shards`: the number of shards merged into this record (`merge`).
    public var shards: Int?
    /// `shard_seconds`: the merged shards' summed prediction time, in seconds.
    public var shardSeconds: Double?
    /// `split_images`: the split's image count before `--limit` (what the dataset holds).
    public var splitImages: Int?
    /// `samples_digest`: the SHA-256 (hex) of the evaluated sample list's keys joined by "\n".
    public var samplesDigest: String?
    /// `partial`: whether the run covered less than the whole split (`--limit`, skipped images).
    public var partial: Bool?
    /// `engine_version`: the engine that wrote the record (this build's ``engineVersion`` for a
    /// new one; nil for records written without it).
    public var engineVersion: String?
    /// `date`: when the record was written, ISO 8601 in UTC (set by `write(to:)`).
    public var date: String?
    /// `command`: the command line that wrote the record (set by `write(to:)`).
    public var command: String?

    /// A record of a run; the remaining optional properties are set afterwards.
    public init(task: String, dataset: String, split: String, model: String, checkpointPath: String, imageCount: Int,
                testMode: [String: JSONValue], metrics: [String: JSONValue], parameters: Int? = nil, flops: Double? = nil,
                throughput: Double? = nil, latencyMs: Double? = nil, threads: Int) {
        self.task = task; self.dataset = dataset; self.split = split; self.model = model
        self.checkpointPath = checkpointPath; self.imageCount = imageCount; self.testMode = testMode
        self.metrics = metrics; self.parameters = parameters; self.flops = flops
        self.throughput = throughput; self.latencyMs = latencyMs; self.threads = threads
        self.engineVersion = RepLKRecords.engineVersion
    }

    /// The JSON keys of a record, as docs/formats.md lists them.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case format, task, dataset, split, model, checkpoint, images, metrics, threads, depthwise, precision, shards, partial, date, command
        case testMode = "test_mode"
        case parameters = "params", parametersConvention = "params_convention"
        case flops, flopsConvention = "flops_convention", flopsInput = "flops_input_wh"
        case throughput = "throughput_img_per_s", latencyMs = "latency_ms"
        case engineVersion = "engine_version", shardSeconds = "shard_seconds"
        case splitImages = "split_images", samplesDigest = "samples_digest"
    }

    /// The keys of `checkpoint`.
    public enum CheckpointKeys: String, CodingKey, CaseIterable, Sendable {
        case file, sha256
    }

    /// Sets `samples_digest` and `partial` from the run's outcomes: partial when the run's list is
    /// shorter than the split (`--limit`), or fewer than its samples were evaluated (skipped images).
    public mutating func identifySamples(count samples: Int?, digest: String?, evaluated: Int) {
        samplesDigest = digest
        let listed = samples ?? evaluated
        partial = evaluated < listed || (splitImages.map { listed < $0 } ?? false)
    }
}

// MARK: writing

extension ResultsRecord {
    /// The record as the JSON object written: every key of ``CodingKeys`` whose value is known
    /// (`checkpoint.sha256` only once ``checkpointSHA256`` is set; `params_convention` and
    /// `flops_convention` with `params` and `flops`).
    public var jsonObject: [String: JSONValue] {
        var o = [String: JSONValue]()
        func put(_ key: CodingKeys, _ value: JSONValue?) { if let value { o[key.rawValue] = value } }
        var checkpoint: [String: JSONValue] = [CheckpointKeys.file.rawValue: .string((checkpointPath as NSString).lastPathComponent)]
        if let checkpointSHA256 { checkpoint[CheckpointKeys.sha256.rawValue] = .string(checkpointSHA256) }
        put(.format, .string(Self.format))
        put(.task, .string(task))
        put(.dataset, .string(dataset))
        put(.split, .string(split))
        put(.model, .string(model))
        put(.checkpoint, .object(checkpoint))
        put(.images, .int(imageCount))
        put(.testMode, .object(testMode))
        put(.metrics, .object(metrics))
        put(.parameters, parameters.map(JSONValue.int))
        put(.parametersConvention, parameters.map { _ in .string(Self.parametersConvention) })
        put(.flops, flops.map(JSONValue.double))
        put(.flopsConvention, flops.map { _ in .string(Self.flopsConvention) })
        put(.flopsInput, flopsInput.map { .array($0.map(JSONValue.int)) })
        put(.throughput, throughput.map(JSONValue.double))
        put(.latencyMs, latencyMs.map(JSONValue.double))
        put(.threads, .int(threads))
        put(.engineVersion, engineVersion.map(JSONValue.string))
        put(.depthwise, depthwise.map(JSONValue.string))
        put(.precision, precision.map(JSONValue.string))
        put(.shards, shards.map(JSONValue.int))
        put(.shardSeconds, shardSeconds.map(JSONValue.double))
        put(.splitImages, splitImages.map(JSONValue.int))
        put(.samplesDigest, samplesDigest.map(JSONValue.string))
        put(.partial, partial.map(JSONValue.bool))
        put(.date, date.map(JSONValue.string))
        put(.command, command.map(JSONValue.string))
        return o
    }
}

// MARK: reading

/// Why a file (or a shard partial's header) holds no readable results record: one line that
/// starts with the file's name.
public struct ResultsRecordError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Problem: Equatable, Sendable {
        /// The file cannot be read.
        case unreadable
        /// The text is not JSON.
        case notJSON
        /// The JSON is not an object: `found` is "array" or "value".
        case notAnObject(found: String)
        /// The object has no `"format": "replk-results/1"`.
        case notAResultsRecord
        /// A key every record has is absent (`checkpoint.file` for nested keys).
        case missing(key: String)
        /// A key holds another kind of value: `expected` and `found` as ``JSONValue/kind`` says them.
        case wrongType(key: String, expected: String, found: String)
    }

    /// The file, or what the record was read from.
    public var file: String
    /// What is wrong.
    public var problem: Problem

    /// The error for `file`.
    public init(file: String, problem: Problem) {
        self.file = file; self.problem = problem
    }

    /// `<file>: <problem>`, one line.
    public var description: String {
        switch problem {
        case .unreadable: return "\(file): cannot read"
        case .notJSON: return "\(file): not valid JSON"
        case let .notAnObject(found): return "\(file): not a RepLK results record (a JSON \(found), not an object)"
        case .notAResultsRecord: return "\(file): not a RepLK results record (no \"format\": \"\(ResultsRecord.format)\")"
        case let .missing(key): return "\(file): no \"\(key)\""
        case let .wrongType(key, expected, found): return "\(file): \"\(key)\" is \(found), not \(expected)"
        }
    }
}

extension ResultsRecord {
    /// Reads the record in the file at `path`.
    /// - Throws: ``ResultsRecordError`` naming `path`.
    public init(contentsOfFile path: String) throws(ResultsRecordError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ResultsRecordError(file: path, problem: .unreadable)
        }
        try self.init(data: data, file: path)
    }

    /// Reads a record from JSON text; `file` names it in errors.
    /// - Throws: ``ResultsRecordError``.
    public init(data: Data, file: String) throws(ResultsRecordError) {
        let json: JSONValue
        do { json = try JSONValue(parsing: data) } catch { throw ResultsRecordError(file: file, problem: .notJSON) }
        try self.init(json: json, file: file)
    }

    /// Reads a record from a Foundation JSON object: what ToolSupport's `object()` returns, or a
    /// shard partial's header as `JSONSerialization` parsed it. `file` names it in errors.
    /// - Throws: ``ResultsRecordError``.
    public init(object: [String: Any], file: String = "results record template") throws(ResultsRecordError) {
        guard let json = JSONValue(foundation: object) else { throw ResultsRecordError(file: file, problem: .notJSON) }
        try self.init(json: json, file: file)
    }

    /// Reads a record from a JSON value. Required: `format` ("replk-results/1"), `task`,
    /// `dataset`, `split`, `model`, `checkpoint` (`file`, `sha256`), `images`, `test_mode` and
    /// `metrics`, which every version of the tools wrote; every other key may be absent or null.
    /// Integers may be written as whole numbers with a fraction (`50000.0`). Unknown keys are ignored.
    /// - Throws: ``ResultsRecordError`` naming `file` and the first key that is absent or of the wrong kind.
    public init(json: JSONValue, file: String) throws(ResultsRecordError) {
        guard let o = json.object else {
            throw ResultsRecordError(file: file, problem: .notAnObject(found: json.array != nil ? "array" : "value"))
        }
        guard o[CodingKeys.format.rawValue]?.string == Self.format else {
            throw ResultsRecordError(file: file, problem: .notAResultsRecord)
        }
        let r = Fields<CodingKeys>(members: o, file: file, prefix: "")
        // In the order of docs/formats.md, so that the first problem is the one reported.
        let task = try r.required(.task, "a string", \.string), dataset = try r.required(.dataset, "a string", \.string)
        let split = try r.required(.split, "a string", \.string), model = try r.required(.model, "a string", \.string)
        let ck = Fields<CheckpointKeys>(members: try r.required(.checkpoint, "an object", \.object), file: file, prefix: "checkpoint.")
        self.init(task: task, dataset: dataset, split: split, model: model,
                  checkpointPath: try ck.required(.file, "a string", \.string),
                  imageCount: try r.required(.images, "an integer", \.integer),
                  testMode: try r.required(.testMode, "an object", \.object),
                  metrics: try r.required(.metrics, "an object", \.object),
                  parameters: try r.optional(.parameters, "an integer", \.integer),
                  flops: try r.optional(.flops, "a number", \.number),
                  throughput: try r.optional(.throughput, "a number", \.number),
                  latencyMs: try r.optional(.latencyMs, "a number", \.number),
                  threads: try r.optional(.threads, "an integer", \.integer) ?? 1)
        checkpointSHA256 = try ck.required(.sha256, "a string", \.string)
        flopsInput = try r.optional(.flopsInput, "an array of integers") { v in
            v.array.flatMap { a in
                let ints = a.compactMap(\.integer)
                return ints.count == a.count ? ints : nil
            }
        }
        depthwise = try r.optional(.depthwise, "a string", \.string)
        precision = try r.optional(.precision, "a string", \.string)
        shards = try r.optional(.shards, "an integer", \.integer)
        shardSeconds = try r.optional(.shardSeconds, "a number", \.number)
        splitImages = try r.optional(.splitImages, "an integer", \.integer)
        samplesDigest = try r.optional(.samplesDigest, "a string", \.string)
        partial = try r.optional(.partial, "a boolean", \.bool)
        engineVersion = try r.optional(.engineVersion, "a string", \.string)
        date = try r.optional(.date, "a string", \.string)
        command = try r.optional(.command, "a string", \.string)
    }

    /// The members of one JSON object, each read as the kind the record stores.
    private struct Fields<Key: CodingKey> {
        let members: [String: JSONValue]
        let file: String
        /// Put before a key in errors: "checkpoint." for the checkpoint's keys.
        let prefix: String

        func required<T>(_ key: Key, _ expected: String, _ read: (JSONValue) -> T?) throws(ResultsRecordError) -> T {
            guard let v = members[key.stringValue] else {
                throw ResultsRecordError(file: file, problem: .missing(key: prefix + key.stringValue))
            }
            return try value(v, key, expected, read)
        }

        /// Nil when the key is absent or null.
        func optional<T>(_ key: Key, _ expected: String, _ read: (JSONValue) -> T?) throws(ResultsRecordError) -> T? {
            guard let v = members[key.stringValue], v != .null else { return nil }
            return try value(v, key, expected, read)
        }

        private func value<T>(_ v: JSONValue, _ key: Key, _ expected: String, _ read: (JSONValue) -> T?) throws(ResultsRecordError) -> T {
            guard let t = read(v) else {
                throw ResultsRecordError(file: file, problem: .wrongType(key: prefix + key.stringValue, expected: expected, found: v.kind))
            }
            return t
        }
    }
}

// MARK: Codable

extension ResultsRecord: Codable {
    /// Reads the object that ``init(json:file:)`` reads; its errors become `DecodingError.dataCorrupted`
    /// with the one-line description.
    public init(from decoder: Decoder) throws {
        let json = try JSONValue(from: decoder)
        do {
            try self.init(json: json, file: "results record")
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description, underlyingError: error))
        }
    }

    /// Writes ``jsonObject``.
    public func encode(to encoder: Encoder) throws {
        try JSONValue.object(jsonObject).encode(to: encoder)
    }
}
