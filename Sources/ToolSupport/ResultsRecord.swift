import Foundation

/// Version of the engine written into every results record.
public let engineVersion = "0.1.0"

/// One evaluation's results: the record every `eval` command writes for the leaderboard.
public struct ResultsRecord {
    public var task: String
    public var dataset: String
    public var split: String
    public var model: String
    public var checkpointPath: String
    public var imageCount: Int
    public var testMode: [String: Any]
    public var metrics: [String: Any]
    public var parameters: Int?
    /// Multiply-accumulates of one image at `flopsInput` (the convention of the RepLKNet tables).
    public var flops: Double?
    public var flopsInput: [Int]?
    public var throughput: Double?
    public var latencyMs: Double?
    public var threads: Int
    /// The depth-wise conv algorithm the model ran (`--depthwise`), for tools that run one.
    public var depthwise: String?
    /// The arithmetic the model ran at (`--precision`: fp32 or bf16), for tools that run one.
    public var precision: String?
    /// The checkpoint's sha256 when the tool has already computed it (for its resume journal);
    /// otherwise `write` hashes the file.
    public var checkpointSHA256: String?

    public init(task: String, dataset: String, split: String, model: String, checkpointPath: String, imageCount: Int,
                testMode: [String: Any], metrics: [String: Any], parameters: Int? = nil, flops: Double? = nil,
                throughput: Double? = nil, latencyMs: Double? = nil, threads: Int) {
        self.task = task; self.dataset = dataset; self.split = split; self.model = model
        self.checkpointPath = checkpointPath; self.imageCount = imageCount; self.testMode = testMode
        self.metrics = metrics; self.parameters = parameters; self.flops = flops
        self.throughput = throughput; self.latencyMs = latencyMs; self.threads = threads
    }

    /// The number of shards merged into this record (`merge`), and their summed prediction time.
    public var shards: Int?
    public var shardSeconds: Double?

    /// The split's image count before `--limit` (what the dataset holds), the sha256 of the
    /// evaluated sample list's keys joined by "\n" (`sampleListDigest`), and whether the run
    /// covered less than the whole split (`--limit`, skipped images). Nil in records written
    /// before these fields existed.
    public var splitImages: Int?
    public var samplesDigest: String?
    public var partial: Bool?

    /// The record's fields as written (without the date and the command, which `write` adds).
    public func object() throws -> [String: Any] {
        let file = (checkpointPath as NSString).lastPathComponent
        var obj: [String: Any] = [
            "format": "replk-results/1",
            "task": task, "dataset": dataset, "split": split, "model": model,
            "checkpoint": ["file": file, "sha256": try checkpointSHA256 ?? sha256Hex(ofFile: checkpointPath)],
            "images": imageCount, "test_mode": testMode, "metrics": metrics,
            "threads": threads, "engine_version": engineVersion,
        ]
        if let parameters { obj["params"] = parameters; obj["params_convention"] = "deployed (merged) model" }
        if let flops {
            obj["flops"] = flops
            obj["flops_convention"] = "multiply-accumulates of convs and linear layers, as the RepLKNet tables count them"
        }
        if let flopsInput { obj["flops_input_wh"] = flopsInput }
        if let throughput { obj["throughput_img_per_s"] = throughput }
        if let latencyMs { obj["latency_ms"] = latencyMs }
        if let depthwise { obj["depthwise"] = depthwise }
        if let precision { obj["precision"] = precision }
        if let shards { obj["shards"] = shards }
        if let shardSeconds { obj["shard_seconds"] = shardSeconds }
        if let splitImages { obj["split_images"] = splitImages }
        if let samplesDigest { obj["samples_digest"] = samplesDigest }
        if let partial { obj["partial"] = partial }
        return obj
    }

    /// A record read back from `object()`'s fields (a shard partial keeps one for `merge`).
    public init(object o: [String: Any]) throws {
        func string(_ k: String) throws -> String {
            guard let v = o[k] as? String else { throw ToolError.usage("results record template: no \"\(k)\"") }
            return v
        }
        let ck = o["checkpoint"] as? [String: Any] ?? [:]
        guard let file = ck["file"] as? String, let sha = ck["sha256"] as? String else {
            throw ToolError.usage("results record template: no checkpoint file and sha256")
        }
        self.init(task: try string("task"), dataset: try string("dataset"), split: try string("split"), model: try string("model"),
                  checkpointPath: file, imageCount: o["images"].flatMap(JournalLine.integer) ?? 0,
                  testMode: o["test_mode"] as? [String: Any] ?? [:], metrics: o["metrics"] as? [String: Any] ?? [:],
                  parameters: o["params"].flatMap(JournalLine.integer), flops: o["flops"].flatMap(JournalLine.number),
                  throughput: o["throughput_img_per_s"].flatMap(JournalLine.number), latencyMs: o["latency_ms"].flatMap(JournalLine.number),
                  threads: o["threads"].flatMap(JournalLine.integer) ?? 1)
        checkpointSHA256 = sha
        flopsInput = (o["flops_input_wh"] as? [Any])?.compactMap(JournalLine.integer)
        depthwise = o["depthwise"] as? String
        precision = o["precision"] as? String
        splitImages = o["split_images"].flatMap(JournalLine.integer)
        samplesDigest = o["samples_digest"] as? String
        partial = o["partial"] as? Bool
    }

    /// Sets `samples_digest` and `partial` from the run's outcomes: partial when the run's list is
    /// shorter than the split (`--limit`), or fewer than its samples were evaluated (skipped images).
    public mutating func identifySamples(count samples: Int?, digest: String?, evaluated: Int) {
        samplesDigest = digest
        let listed = samples ?? evaluated
        partial = evaluated < listed || (splitImages.map { listed < $0 } ?? false)
    }

    /// Writes `<dir>/<task>-<dataset>-<checkpoint stem>-<timestamp>.json` and returns its path.
    @discardableResult
    public func write(to dir: String) throws -> String {
        try makeDirectory(dir)
        let stem = ((checkpointPath as NSString).lastPathComponent as NSString).deletingPathExtension
        let iso = ISO8601DateFormatter().string(from: Date())
        var obj = try object()
        obj["date"] = iso
        obj["command"] = CommandLine.arguments.joined(separator: " ")
        let stamp = iso.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        let base = "\(dir)/\(task)-\(dataset)-\(stem)\(shards.map { "-merged\($0)" } ?? "")-\(stamp)"
        // Two runs finished within the same second (two --scale values of a small set) keep both records.
        var path = base + ".json", n = 1
        while FileManager.default.fileExists(atPath: path) { n += 1; path = "\(base)-\(n).json" }
        try writeText(jsonText(obj) + "\n", to: path)
        return path
    }
}
