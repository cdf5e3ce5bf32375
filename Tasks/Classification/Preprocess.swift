import RepLKBackbone
import RepLKImaging

/// The official RepLKNet ImageNet evaluation transform (`datasets.build_transform(is_train=False)`):
/// below 384 px, resize the short side to int(size / 0.875) with bicubic and centre-crop; at 384 and
/// above, warp to size × size. Then ToTensor and Normalize.
public struct ClassificationPreprocess: Sendable {
    /// Side of the square network input, in pixels.
    public var inputSize: Int
    /// Below 384 px, the short side is resized to int(inputSize / cropPct) before the centre crop
    /// (the official transform's `crop_pct`, 0.875 by default).
    public var cropPct: Double
    /// Per-channel RGB mean subtracted after scaling pixels to [0, 1].
    public var mean: [Float]
    /// Per-channel RGB standard deviation on the same scale: input = (pixel / 255 − mean) / std.
    public var std: [Float]
    /// The resampling filter of the resize (PIL's; bicubic in the official transform).
    public var filter: Image.PILFilter

    /// A transform with the given settings; the defaults are the official ImageNet ones.
    ///
    /// - Parameters:
    ///   - inputSize: Side of the square network input, in pixels.
    ///   - cropPct: Fraction of the resized short side kept by the centre crop (below 384 px).
    ///   - mean: Per-channel RGB mean on the [0, 1] scale.
    ///   - std: Per-channel RGB standard deviation on the [0, 1] scale.
    ///   - filter: The resize filter.
    public init(inputSize: Int, cropPct: Double = 0.875, mean: [Float] = [0.485, 0.456, 0.406],
                std: [Float] = [0.229, 0.224, 0.225], filter: Image.PILFilter = .bicubic) {
        self.inputSize = inputSize; self.cropPct = cropPct; self.mean = mean; self.std = std; self.filter = filter
    }

    /// The settings the released checkpoints were evaluated with: XL uses mean = std = 0.5 at 320 px,
    /// 31L 384 px, everything else ImageNet statistics at 224 px unless `inputSize` says otherwise.
    public static func official(for config: RepLKNetConfig, inputSize: Int? = nil) -> ClassificationPreprocess {
        let isXL = config.name == "RepLKNet-XL"
        let size = inputSize ?? (isXL ? 320 : config.name == "RepLKNet-31L" ? 384 : 224)
        if isXL { return ClassificationPreprocess(inputSize: size, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]) }
        return ClassificationPreprocess(inputSize: size)
    }

    /// The 8-bit image the network sees (before normalisation).
    public func crop(_ image: Image) -> Image {
        let s = inputSize
        if s >= 384 { return image.resizedPIL(width: s, height: s, filter: filter) }
        let target = Int(Double(s) / cropPct)
        // torchvision Resize(int): the short side becomes `target`, the long side int(target·long/short);
        // an image whose short side already matches is left alone.
        var resized = image
        let short = min(image.width, image.height), long = max(image.width, image.height)
        if short != target {
            let newLong = Int(Double(target) * Double(long) / Double(short))
            let (w, h) = image.width <= image.height ? (target, newLong) : (newLong, target)
            resized = image.resizedPIL(width: w, height: h, filter: filter)
        }
        return centerCrop(resized, size: s)
    }

    /// torchvision CenterCrop: offsets round((H − S) / 2) with Python's half-to-even rounding;
    /// zero padding when the image is smaller than the crop.
    func centerCrop(_ image: Image, size s: Int) -> Image {
        if image.width < s || image.height < s {
            var padded = Image(width: max(s, image.width), height: max(s, image.height), channels: image.channels)
            let ox = (padded.width - image.width) / 2, oy = (padded.height - image.height) / 2
            for y in 0..<image.height {
                for x in 0..<image.width {
                    for c in 0..<image.channels { padded[x + ox, y + oy, c] = image[x, y, c] }
                }
            }
            return centerCrop(padded, size: s)
        }
        let top = Int((Double(image.height - s) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(image.width - s) / 2).rounded(.toNearestOrEven))
        return image.cropped(x: left, y: top, width: s, height: s)
    }

    /// Network input values, HWC float32.
    public func callAsFunction(_ image: Image) -> [Float] {
        crop(image).normalizedTorchvision(mean: mean, std: std)
    }
}
