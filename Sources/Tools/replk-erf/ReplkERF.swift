import ArgumentParser
import RepLKDatasets
import RepLKEngine
import RepLKERF
import Foundation
import RepLKImaging
import RepLKToolSupport
import RepLKWeights

@main
struct ReplkERF: ParsableCommand {
    static func main() { mainCheckingCPU("replk-erf") }

    static let configuration = CommandConfiguration(
        commandName: "replk-erf",
        abstract: "Effective receptive fields of RepLKNet checkpoints, as the official erf/visualize_erf.py and erf/analyze_erf.py compute them.",
        subcommands: [Compute.self, Compare.self],
        defaultSubcommand: Compute.self)
}

/// The ERF of one checkpoint over an image folder or a tensor.
struct Compute: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compute",
        abstract: "Average the input-gradient maps of the central output pixel over N images; write erf.npy, erf.png, erf.json.",
        discussion: """
          replk-erf --checkpoint RepLKNet-31B_ImageNet-1K_224.pth \\
              --root imagenet/val --num-images 50 --out erf-31b
          replk-erf --checkpoint model.pth --tensor input.npy --out erf
        The score is the sum over channels of ReLU(out[:, :, H/2, W/2]) of the last stage's output (forward_features,
        before the final norm); the map is ReLU(∂score/∂input) summed over the RGB channels.
        """)

    @Option(help: "RepLKNet checkpoint: classification, or mmseg/mmdet (the backbone is used).")
    var checkpoint: String

    @Option(help: "ImageNet-style folder (class sub-folders, sorted; files sorted): the first --num-images images.")
    var root: String?

    @Option(help: "An already-normalised N×3×H×W float32 .npy tensor (each item one image).")
    var tensor: String?

    @Option(parsing: .unconditional, help: "Images to average (with --tensor: the first this many items).")
    var numImages: Int = 50

    @Option(parsing: .unconditional, help: "Resize((S, S), bicubic) before ToTensor and Normalize (with --root).")
    var inputSize: Int = 1024

    @Option(help: "Output folder for erf.npy, erf.png and erf.json.")
    var out: String

    @Option(help: "Thresholds of the area ratio table.")
    var thresholds = NumberList(ERFAnalysis.thresholds)

    @Flag(help: "Apply the last stage's norm (mmseg/mmdet backbones with norm_intermediate_features).")
    var stageNorm = false

    @Flag(help: "Run the training-time graph (separate BNs and kernel branches) instead of the re-parameterised one; the gradient is the same.")
    var noReparam = false

    @Option(parsing: .unconditional, help: "Threads (default: all CPUs).")
    var threads: Int?

    @Flag(help: "Print one JSON object (erf.json's) instead of the table.")
    var json = false

    func validate() throws {
        try checkOption("--num-images", numImages, in: OptionLimits.positive)
        try checkOption("--input-size", inputSize, in: OptionLimits.imageSide)
        try checkOption("--thresholds", thresholds, in: 0...1, form: "comma-separated fractions, e.g. 0.2,0.3,0.5,0.99")
        try checkThreads(threads)
        guard (root == nil) != (tensor == nil) else {
            throw ValidationError("give exactly one of --root (an image folder) and --tensor (an N×3×H×W .npy)")
        }
    }

    func run() throws {
        do {
            // replk-erf has no --depthwise: REPLK_DEPTHWISE applies as the engine read it before, a
            // name that is not an algorithm running as auto.
            var engine = EngineConfiguration.fromEnvironment()
            if let threads { engine.threads = threads }
            let outDir = out.count > 1 && out.hasSuffix("/") ? String(out.dropLast()) : out
            let outputs = ["erf.npy", "erf.png", "erf.json"].map { outDir + "/" + $0 }
            // Never write over an input (the checkpoint, the tensor, or an image).
            var inputPaths = [checkpoint] + (tensor.map { [$0] } ?? [])
            var samples = [String]()
            if let root {
                let ds = try ImageFolderDataset(root: root)
                samples = ds.samples.map(\.path)
                inputPaths += samples.prefix(numImages)
            }
            let inputs = InputFiles(inputPaths)
            for o in outputs { try inputs.checkNotAnInput(o) }

            let sd = try Checkpoint(path: checkpoint).stateDict()
            let model = try ERFModel(stateDict: sd, file: checkpoint,
                                     options: ERFModelOptions(reparameterize: !noReparam, stageNorm: stageNorm, engine: engine))
            var tensorInput: (shape: [Int], values: [Float])?
            if let tensor {
                let (shape, values) = try NPY.read(path: tensor)
                guard shape.count == 4 else {
                    throw ERFError.badTensor(file: tensor, shape: shape, detail: "expected rank 4 (N×3×H×W), not rank \(shape.count)")
                }
                guard shape[1] == model.config.inChannels else {
                    throw ERFError.badTensor(file: tensor, shape: shape, detail: "expected \(model.config.inChannels) channels in dimension 1")
                }
                guard shape.allSatisfy({ $0 > 0 }) else { throw ERFError.badTensor(file: tensor, shape: shape, detail: "empty") }
                tensorInput = (shape, values)
            }
            // Created once the inputs have been read: a bad input leaves no empty folder behind.
            try makeDirectory(outDir)
            var acc: ERFAccumulator?
            var skipped = [String]()
            var size = inputSize
            func accumulate(_ x: Tensor, name: String) {
                let map = model.contributionMap(x)
                if acc == nil { acc = ERFAccumulator(height: x.height, width: x.width) }
                if !acc!.add(map) {
                    skipped.append(name)
                    printError("replk-erf: \(name): got NaN, next image")
                }
            }
            if let tensor, let (shape, values) = tensorInput {
                let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
                size = h
                let count = min(n, numImages)
                let per = c * h * w   // fits: NPY checked the product against the file size
                let progress = Progress(total: count, label: "erf")
                for i in 0..<count {
                    let x = values.withUnsafeBufferPointer {
                        Tensor.fromNCHW(UnsafeBufferPointer(rebasing: $0[(i * per)..<((i + 1) * per)]), n: 1, c: c, h: h, w: w)
                    }
                    accumulate(x, name: "\(tensor)[\(i)]")
                    progress.step()
                }
            } else if let root {
                let chosen = Array(samples.prefix(numImages))
                let pre = ERFPreprocess(inputSize: inputSize)
                let progress = Progress(total: chosen.count, label: "erf")
                for path in chosen {
                    let image = try Image(contentsOf: path)
                    accumulate(pre(image), name: path)
                    progress.step()
                }
                if chosen.count < numImages {
                    printError("replk-erf: \(root) holds \(chosen.count) images, fewer than --num-images \(numImages); averaged them all")
                }
            }
            guard let acc, acc.count > 0 else {
                throw ERFError.noImages(source: tensor ?? root ?? "", detail: "every image gave NaN; nothing to average")
            }
            let mean = acc.mean
            let normalised = ERFAnalysis.normalised(mean)
            let table = ERFAnalysis.areaRatios(normalised: normalised, height: acc.height, width: acc.width,
                                               thresholds: thresholds.values)
            try NPY.write(path: outputs[0], shape: [acc.height, acc.width], values: mean)
            let title = "\(model.config.name)  \((checkpoint as NSString).lastPathComponent)  \(acc.count) images  \(acc.height)x\(acc.width)"
            let png = ERFHeatmap.render(normalised: normalised, height: acc.height, width: acc.width,
                                        side: min(512, max(acc.height, acc.width)), title: title)
            try png.write(to: outputs[1])
            var record: [String: Any] = [
                "area_ratio": table.map { r -> [String: Any] in
                    ["thresh": r.thresh, "side": r.side as Any? ?? NSNull(), "area_ratio": r.areaRatio as Any? ?? NSNull()]
                },
                "images": acc.count, "input_size": size, "checkpoint": checkpoint, "model": model.config.name,
                "height": acc.height, "width": acc.width, "reparameterized": !noReparam, "stage_norm": stageNorm,
                "max": mean.max() ?? 0,
            ]
            if !skipped.isEmpty { record["skipped_nan"] = skipped }
            try writeText(jsonText(record), to: outputs[2])
            if json {
                print(jsonText(record))
            } else {
                print(markdownTable(header: ["thresh", "side", "area ratio"], rows: table.map {
                    [String(format: "%g", $0.thresh), $0.side.map(String.init) ?? "none", $0.areaRatio.map { String(format: "%.6f", $0) } ?? "-"]
                }, rightAligned: [0, 1, 2]))
                print("\(acc.count) images of \(acc.height)×\(acc.width)\(skipped.isEmpty ? "" : ", \(skipped.count) skipped (NaN)"); wrote \(outputs.joined(separator: ", "))")
            }
        } catch {
            exitWithError("replk-erf", error)
        }
    }
}

/// The paper's figure: several models' heatmaps and tables side by side.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put several ERF results (folders written by replk-erf) side by side in one PNG.",
        discussion: "  replk-erf compare erf-31b erf-13 --out sheet.png")

    @Argument(help: "Folders holding erf.npy and erf.json.")
    var dirs: [String]

    @Option(help: "The sheet (PNG).")
    var out: String

    @Option(parsing: .unconditional, help: "Side of each heatmap in pixels.")
    var side: Int = 256

    func validate() throws {
        guard !dirs.isEmpty else { throw ValidationError("give at least one result folder") }
        try checkOption("--side", side, in: 16...2048)
    }

    func run() throws {
        do {
            var panels = [ERFHeatmap.Panel]()
            var inputs = [String]()
            for d in dirs {
                let base = d.count > 1 && d.hasSuffix("/") ? String(d.dropLast()) : d
                let npy = base + "/erf.npy", js = base + "/erf.json"
                inputs += [npy, js]
                let (shape, values) = try NPY.read(path: npy)
                guard shape.count == 2, shape[0] > 0, shape[1] > 0 else {
                    throw ERFError.badResult(path: npy, detail: "expected an H×W map, found shape \(shape)")
                }
                guard let data = FileManager.default.contents(atPath: js),
                      let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    throw ERFError.badResult(path: js, detail: "missing or not a JSON object")
                }
                var lines = [String]()
                if let images = obj["images"] as? Int { lines.append("\(images) images, \(shape[0])x\(shape[1])") }
                for row in obj["area_ratio"] as? [[String: Any]] ?? [] {
                    let t = (row["thresh"] as? Double).map { String(format: "%g", $0) } ?? "?"
                    let s = (row["side"] as? Int).map(String.init) ?? "none"
                    let r = (row["area_ratio"] as? Double).map { String(format: "%.4f", $0) } ?? "-"
                    lines.append("t=\(t): side \(s), ratio \(r)")
                }
                let model = obj["model"] as? String
                let name = (base as NSString).lastPathComponent
                panels.append(ERFHeatmap.Panel(title: model.map { "\(name): \($0)" } ?? name,
                                               normalised: ERFAnalysis.normalised(values),
                                               height: shape[0], width: shape[1], lines: lines))
            }
            try InputFiles(inputs).checkNotAnInput(out)
            try ERFHeatmap.sheet(panels, side: side).write(to: out)
            print("wrote \(out) (\(panels.count) panel\(panels.count == 1 ? "" : "s"))")
        } catch {
            exitWithError("replk-erf", error)
        }
    }
}
