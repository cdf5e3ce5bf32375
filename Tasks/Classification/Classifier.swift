import RepLKBackbone
import RepLKEngine
import RepLKImaging
import RepLKWeights
import RepLKEngine

/// A RepLKNet classifier loaded from a checkpoint, with its evaluation transform.
public final class Classifier {
    /// The network, with its classification head.
    public let model: RepLKNet
    /// The evaluation transform applied to each image before the network.
    public let preprocess: ClassificationPreprocess
    /// The checkpoint file the model was loaded from, as given.
    public let checkpointPath: String

    /// Loads a classification checkpoint (plain, `{'model': …}`, `{'state_dict': …}`, EMA, merged
    /// or un-merged); the configuration comes from the tensor shapes. `engine` (default
    /// `EngineConfiguration()`) says how every conv and the head run: threads, precision (bf16 only
    /// where `Precision.bf16.isSupported`), depth-wise algorithm, Winograd.
    public init(checkpoint path: String, reparameterize: Bool = true, variant: StateDictVariant = .model,
                inputSize: Int? = nil, mean: [Float]? = nil, std: [Float]? = nil,
                engine: EngineConfiguration = EngineConfiguration()) throws {
        let sd = try Checkpoint(path: path).stateDict(variant)
        let kind = CheckpointKind(sd)
        if kind == .segmentation || kind == .cascadeDetector || kind == .fcosDetector {
            throw kind.mismatch(file: path, expected: "a classifier")
        }
        model = try RepLKNet(stateDict: sd, file: path, options: RepLKNetOptions(reparameterize: reparameterize, engine: engine))
        guard model.hasHead else {
            throw WeightsError.invalidModel(file: path, detail: "the checkpoint has no classification head ('head.weight')")
        }
        var p = ClassificationPreprocess.official(for: model.config, inputSize: inputSize)
        if let mean { p.mean = mean }
        if let std { p.std = std }
        preprocess = p
        checkpointPath = path
    }

    /// Number of classes of the head (1000 for ImageNet-1K checkpoints).
    public var numClasses: Int { model.config.numClasses ?? 0 }

    /// Multiply-accumulates of one image at the input size, counted by the engine without computing.
    public var macs: Double {
        let s = preprocess.inputSize
        return FLOPCounter.dryRunMACs { _ = model.logits(Tensor(zeros: [1, s, s, 3])) }
    }

    /// Logits [N, classes] for decoded images (each preprocessed to the input size).
    public func logits(_ images: [Image]) -> Tensor {
        let s = preprocess.inputSize
        var values = [Float]()
        values.reserveCapacity(images.count * s * s * 3)
        for img in images { values += preprocess(img) }
        return model.logits(Tensor(shape: [images.count, s, s, 3], values: values))
    }

    /// Logits for an already-normalised NCHW float32 array (`--tensor`): no preprocessing.
    public func logits(nchw values: [Float], shape: [Int]) -> Tensor {
        precondition(shape.count == 4, "expected an NCHW tensor")
        let x = values.withUnsafeBufferPointer { Tensor.fromNCHW($0, n: shape[0], c: shape[1], h: shape[2], w: shape[3]) }
        return model.logits(x)
    }
}
