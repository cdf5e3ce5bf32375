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

    /// Writes `<dir>/<task>-<dataset>-<checkpoint stem>-<timestamp>.json` and returns its path.
    @discardableResult
    public func write(to dir: String) throws -> String {
        try makeDirectory(dir)
        let file = (checkpointPath as NSString).lastPathComponent
        let stem = (file as NSString).deletingPathExtension
        let now = Date()
        let iso = ISO8601DateFormatter().string(from: now)
        var obj: [String: Any] = [
            "format": "replk-results/1",
            "task": task, "dataset": dataset, "split": split, "model": model,
            "checkpoint": ["file": file, "sha256": try checkpointSHA256 ?? sha256Hex(ofFile: checkpointPath)],
            "images": imageCount, "test_mode": testMode, "metrics": metrics,
            "threads": threads, "engine_version": engineVersion, "date": iso,
            "command": CommandLine.arguments.joined(separator: " "),
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
        let stamp = iso.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        let path = "\(dir)/\(task)-\(dataset)-\(stem)-\(stamp).json"
        try writeText(jsonText(obj) + "\n", to: path)
        return path
    }
}
