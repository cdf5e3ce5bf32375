import ArgumentParser
import Foundation
import RepLKToolSupport

/// A detection run's per-image outcome, for timing `merge` without a model: the partials are
/// written by the same `runEvaluation` as `replk-det eval --shard` writes them, from synthetic
/// COCO results.
private struct SyntheticDetections: EvaluationTask {
    let texts: [Int: String]

    func key(of id: Int) -> String { String(id) }
    func decodeEntry(key: String, line: JournalLine) throws -> DetectionEntry {
        try DetectionEntry(line, imageId: Int(key)!, height: 480, width: 640, categoryIds: Set(1...80))
    }
    func evaluate(_ batch: [Int]) throws -> [Result<DetectionEntry, Error>] { batch.map { .success(.results(texts[$0]!)) } }
    func skipEntry(_ reason: String) -> DetectionEntry? { .skipped(reason) }
    func outcome(of e: DetectionEntry) -> DetectionEntry { e }
    static func skipReason(_ e: DetectionEntry) -> String? { if case let .skipped(w) = e { return w }; return nil }
}

struct MergeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Time `replk-det merge` on synthetic partials (default: 5000 COCO images × 100 detections with masks, 8 shards): reading, checking and ordering the partials and writing the results file; the COCO evaluation after it is `coco-eval`'s.")

    @Option(parsing: .unconditional, help: "Images.")
    var images = 5000

    @Option(parsing: .unconditional, help: "Detections per image.")
    var detections = 100

    @Option(parsing: .unconditional, help: "Shards.")
    var shards = 8

    @Option(parsing: .unconditional, help: "Timed runs.")
    var `repeat` = 3

    @Flag var json = false

    func validate() throws {
        try checkOption("--images", images, in: 1...1_000_000)
        try checkOption("--detections", detections, in: 0...1000)
        try checkOption("--shards", shards, in: 1...10_000)
        try checkOption("--repeat", `repeat`, in: OptionLimits.positive)
    }

    func run() throws {
        do {
            let dir = NSTemporaryDirectory() + "replk-bench-merge-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var texts = [Int: String]()
            var state: UInt64 = 0x9E3779B97F4A7C15
            func next() -> Double {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Double(state >> 11) / Double(1 << 53)
            }
            for id in 1...images {
                texts[id] = jsonText((0..<detections).map { _ -> [String: Any] in
                    let x = next() * 600, y = next() * 440
                    return ["image_id": id, "category_id": 1 + Int(next() * 80), "bbox": [x, y, 1 + next() * 40, 1 + next() * 40],
                            "score": next(), "segmentation": ["size": [480, 640], "counts": "PQS1b0Z8`0a7<E:F9G5K5K4L3M3M2N2N1O1N2O0O2O0O1000O100O10000O10O100000000"]]
                }, pretty: false)
            }
            let task = SyntheticDetections(texts: texts)
            let identity = EvaluationIdentity(tool: "replk-bench", kind: "det", checkpoint: "synthetic.pth",
                                              checkpointSHA256: String(repeating: "0", count: 64), settings: ["scale": "1333,800"])
            let t0 = Date()
            for i in 0..<shards {
                let options = try EvaluationOptions.parse(["--results", dir, "--shard", "\(i)/\(shards)", "--quiet"])
                _ = try runEvaluation(task, samples: Array(1...images), identity: identity, options: options, report: [:])
            }
            let writeSeconds = Date().timeIntervalSince(t0)
            let bytes = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("-partial-") }
                .reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: "\(dir)/\($1)")[.size] as? Int) ?? 0) }
            var count = 0
            let t = measure(warmup: 0, repeats: `repeat`) {
                let merged = try! mergePartials(SyntheticDetections.self, kind: "det", in: dir) { _ in
                    { key, line in try DetectionEntry(line, imageId: Int(key)!, height: 480, width: 640, categoryIds: Set(1...80)) }
                }
                // The finishing step's first part: the results file in image-id order.
                var parts = [String]()
                for (_, e) in merged.outcomes.outcomes { if case let .results(r) = e { parts.append(String(r.dropFirst().dropLast())) } }
                try! writeText("[" + parts.joined(separator: ",") + "]\n", to: dir + "/merged.segm.json")
                count = merged.outcomes.outcomes.count
            }
            let obj: [String: Any] = ["images": images, "detections_per_image": detections, "shards": shards, "partial_bytes": bytes,
                                      "merged_images": count, "median_ms": t.median, "min_ms": t.min, "runs": `repeat`,
                                      "samples_ms": t.samples, "partials_written_s": writeSeconds]
            if json { print(jsonText(obj)); return }
            print(String(format: "merge: %d images × %d detections in %d partials (%.0f MB): %.0f ms median (min %.0f, %d runs); writing the partials took %.1f s",
                         images, detections, shards, Double(bytes) / 1e6, t.median, t.min, `repeat`, writeSeconds))
        } catch {
            exitWithError("replk-bench", error)
        }
    }
}
