import RepLKEngine
import RepLKImaging

/// How a segmentation model is run over an image: mmsegmentation's test pipeline and test_cfg.
public struct SegmentationTestConfig: Sendable {
    /// mmsegmentation's `test_cfg.mode`: the whole resized image at once, or overlapping windows
    /// whose logits are averaged.
    public enum Mode: Sendable, Equatable {
        /// The whole resized image in one pass.
        case whole
        /// Sliding windows (crop and stride as height, width); windows are not padded.
        case slide(crop: (Int, Int), stride: (Int, Int))

        /// The same mode with the same crop and stride.
        public static func == (a: Mode, b: Mode) -> Bool {
            switch (a, b) {
            case (.whole, .whole): return true
            case let (.slide(c1, s1), .slide(c2, s2)): return c1 == c2 && s1 == s2
            default: return false
            }
        }
    }

    /// Keep-ratio resize target (long, short), e.g. (2048, 512).
    public var scale: (Int, Int)
    /// Whole image or sliding windows.
    public var mode: Mode
    /// The `align_corners` of the bilinear resize of the logits to the original image's size (the
    /// model's head has its own, given when it is loaded).
    public var alignCorners: Bool
    /// Per-channel RGB mean subtracted from the 0–255 pixel values.
    public var mean: [Float]
    /// Per-channel RGB standard deviation, in 0–255 units, divided by after the mean.
    public var std: [Float]
    /// Multi-scale + flip test: ratios of `scale` (nil = single scale, no flip).
    public var augRatios: [Double]?

    /// A test configuration; mean and std default to the ImageNet statistics on the 0–255 scale.
    ///
    /// - Parameters:
    ///   - scale: Keep-ratio resize target (long, short), in pixels.
    ///   - mode: Whole image or sliding windows.
    ///   - alignCorners: The `align_corners` of the logits' bilinear resize.
    ///   - mean: Per-channel RGB mean on the 0–255 scale.
    ///   - std: Per-channel RGB standard deviation on the 0–255 scale.
    ///   - augRatios: Ratios of `scale` for the multi-scale + flip test, or nil for single scale.
    public init(scale: (Int, Int), mode: Mode, alignCorners: Bool, mean: [Float] = [123.675, 116.28, 103.53],
                std: [Float] = [58.395, 57.12, 57.375], augRatios: [Double]? = nil) {
        self.scale = scale; self.mode = mode; self.alignCorners = alignCorners; self.mean = mean; self.std = std
        self.augRatios = augRatios
    }

    /// ADE20K configs: resize to (2048, 512), whole, align_corners False.
    public static let ade20k = SegmentationTestConfig(scale: (2048, 512), mode: .whole, alignCorners: false)
    /// The RepLKNet Cityscapes config: whole image at (2049, 1025), align_corners True.
    public static let cityscapes = SegmentationTestConfig(scale: (2049, 1025), mode: .whole, alignCorners: true)
    /// `tools/test.py --aug-test`.
    public static let augRatios: [Double] = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
}

/// mmcv `rescale_size`: factor = min(long/max(h, w), short/min(h, w)), sizes int(x·f + 0.5).
public func rescaleSize(width w: Int, height h: Int, scale: (Int, Int)) -> (width: Int, height: Int) {
    let long = Double(max(scale.0, scale.1)), short = Double(min(scale.0, scale.1))
    let f = min(long / Double(max(h, w)), short / Double(min(h, w)))
    return (Int(Double(w) * f + 0.5), Int(Double(h) * f + 0.5))
}

/// Result of segmenting one image.
public struct SegmentationOutput {
    /// Class index per pixel at the original size.
    public var labels: [Int32]
    /// The original image's width, in pixels.
    public var width: Int
    /// The original image's height, in pixels.
    public var height: Int
    /// Logits (single scale) or averaged probabilities (aug test) at the original size, NHWC.
    public var scores: Tensor
    /// Logits at the model input size (single scale only).
    public var modelSizeLogits: Tensor?
}

/// Runs a `Segmenter` with a test configuration.
public struct SegmentationPipeline {
    /// The segmentation model.
    public let model: Segmenter
    /// How it is run: resize, mode, normalisation, single or multi-scale.
    public let config: SegmentationTestConfig

    /// A pipeline running `model` with `config` (e.g. `SegmentationTestConfig.ade20k`).
    public init(model: Segmenter, config: SegmentationTestConfig) {
        self.model = model
        self.config = config
    }

    /// The 8-bit network input for `image` at a keep-ratio scale (cv2 bilinear).
    public func resized(_ image: Image, scale: (Int, Int)) -> Image {
        let s = rescaleSize(width: image.width, height: image.height, scale: scale)
        return image.resizedBilinearCV(width: s.width, height: s.height)
    }

    /// Normalised NHWC input tensor from an 8-bit RGB image.
    public func inputTensor(_ image: Image) -> Tensor {
        Tensor(shape: [1, image.height, image.width, 3], values: image.normalized(mean: config.mean, std: config.std))
    }

    /// Logits [1, H, W, classes] at the input's size, whole or by sliding windows.
    public func logits(_ x: Tensor) -> Tensor {
        switch config.mode {
        case .whole:
            return model.logits(x)
        case let .slide(crop, stride):
            let (H, W, C) = (x.height, x.width, model.numClasses)
            let hGrids = max(H - crop.0 + stride.0 - 1, 0) / stride.0 + 1
            let wGrids = max(W - crop.1 + stride.1 - 1, 0) / stride.1 + 1
            var sum = Tensor(zeros: [1, H, W, C])
            var count = [Float](repeating: 0, count: H * W)
            for hi in 0..<hGrids {
                for wi in 0..<wGrids {
                    var y1 = hi * stride.0, x1 = wi * stride.1
                    let y2 = min(y1 + crop.0, H), x2 = min(x1 + crop.1, W)
                    y1 = max(y2 - crop.0, 0)
                    x1 = max(x2 - crop.1, 0)
                    let part = model.logits(RepLKEngine.crop(x, y0: y1, y1: y2, x0: x1, x1: x2))
                    let pp = part.storage.pointer
                    let w = x2 - x1
                    sum.withUnsafeMutableBufferPointer { s in
                        for r in y1..<y2 {
                            for c in x1..<x2 {
                                let dst = s.baseAddress! + (r * W + c) * C
                                let src = pp + ((r - y1) * w + (c - x1)) * C
                                for k in 0..<C { dst[k] += src[k] }
                                count[r * W + c] += 1
                            }
                        }
                    }
                }
            }
            sum.withUnsafeMutableBufferPointer { s in
                for p in 0..<(H * W) {
                    let n = count[p]
                    for k in 0..<C { s[p * C + k] /= n }
                }
            }
            return sum
        }
    }

    /// Segments one RGB image.
    public func callAsFunction(_ image: Image) -> SegmentationOutput {
        let pool = model.backbone.pool
        guard let ratios = config.augRatios else {
            let x = inputTensor(resized(image, scale: config.scale))
            let modelLogits = logits(x)
            let ori = resizeBilinear(modelLogits, height: image.height, width: image.width, alignCorners: config.alignCorners,
                                     pool: pool)
            return SegmentationOutput(labels: argmaxChannels(ori, pool: pool), width: image.width, height: image.height,
                                      scores: ori, modelSizeLogits: modelLogits)
        }
        // Multi-scale + flip (mmseg 0.x MultiScaleFlipAug): softmax at the original size, averaged.
        var total: Tensor?
        var passes = 0
        for r in ratios {
            let scale = (Int(Double(config.scale.0) * r), Int(Double(config.scale.1) * r))
            let img = resized(image, scale: scale)
            for flip in [false, true] {
                let x = inputTensor(flip ? img.flippedHorizontally() : img)
                var p = softmax(resizeBilinear(logits(x), height: image.height, width: image.width, alignCorners: config.alignCorners,
                                               pool: pool))
                if flip { p = flipHorizontal(p) }
                total = total.map { add($0, p, pool: pool) } ?? p
                passes += 1
            }
        }
        var avg = total!
        avg.withUnsafeMutableBufferPointer { b in for i in 0..<b.count { b[i] /= Float(passes) } }
        return SegmentationOutput(labels: argmaxChannels(avg, pool: pool), width: image.width, height: image.height,
                                  scores: avg, modelSizeLogits: nil)
    }
}
