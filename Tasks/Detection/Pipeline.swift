#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RepLKEngine
import RepLKFormats
import RepLKImaging

/// A binary mask inside a window of the original image.
public struct MaskWindow: Equatable, Sendable {
    /// The window's top-left corner in the image and its size, in pixels.
    public var x0: Int, y0: Int, width: Int, height: Int
    /// Row-major window pixels, 1 = object.
    public var bits: [UInt8]

    /// A window of `width × height` pixels whose top-left corner is (x0, y0) in the image.
    public init(x0: Int, y0: Int, width: Int, height: Int, bits: [UInt8]) {
        precondition(bits.count == width * height, "mask window bits do not match its size")
        self.x0 = x0; self.y0 = y0; self.width = width; self.height = height; self.bits = bits
    }

    /// The full-image mask (row-major, `imageHeight × imageWidth`).
    public func full(imageWidth w: Int, imageHeight h: Int) -> [UInt8] {
        var m = [UInt8](repeating: 0, count: w * h)
        for y in 0..<height { for x in 0..<width where bits[y * width + x] != 0 { m[(y0 + y) * w + x0 + x] = 1 } }
        return m
    }
}

/// One final detection in original-image coordinates.
public struct Detection: Sendable {
    /// The box [x1, y1, x2, y2] in original-image pixels.
    public var box: Box
    /// The class probability (softmax over the classes and background of the stage-averaged logits).
    public var score: Float
    /// The class index, from 0 to `numClasses − 1` (not a COCO category id).
    public var label: Int
    /// The binary mask, for models with mask heads.
    public var mask: MaskWindow?

    /// A detection: box in original pixels, score, class index, and its mask when there is one.
    public init(box: Box, score: Float, label: Int, mask: MaskWindow? = nil) {
        self.box = box; self.score = score; self.label = label; self.mask = mask
    }
}

/// mmdetection's COCO test pipeline: keep-ratio resize to (1333, 800) with cv2 bilinear, normalise,
/// zero-pad to a multiple of 32; boxes rescaled to the original image; masks pasted with
/// `grid_sample` and thresholded.
public struct DetectionPipeline {
    /// The detector.
    public let model: CascadeMaskRCNN
    /// Keep-ratio target (long, short).
    public var scale: (Int, Int) = (1333, 800)
    /// Per-channel RGB mean subtracted from the 0–255 pixel values (127.5 each for RepLKNet-XL).
    public var mean: [Float] = [123.675, 116.28, 103.53]
    /// Per-channel RGB standard deviation, in 0–255 units, divided by after the mean (127.5 each for RepLKNet-XL).
    public var std: [Float] = [58.395, 57.12, 57.375]
    /// The padded input's height and width are multiples of this (zero padding at the bottom and right).
    public var padDivisor = 32

    /// The official pipeline for `model`, with mean = std = 127.5 for a RepLKNet-XL backbone.
    public init(model: CascadeMaskRCNN) {
        self.model = model
        if model.backbone.config.name == "RepLKNet-XL" { mean = [127.5, 127.5, 127.5]; std = [127.5, 127.5, 127.5] }
    }

    /// The resized 8-bit image and the padded, normalised network input.
    public func prepare(_ image: Image) -> (resized: Image, input: Tensor) {
        let long = Double(max(scale.0, scale.1)), short = Double(min(scale.0, scale.1))
        let f = min(long / Double(max(image.width, image.height)), short / Double(min(image.width, image.height)))
        let (w, h) = (Int(Double(image.width) * f + 0.5), Int(Double(image.height) * f + 0.5))
        let resized = image.resizedBilinearCV(width: w, height: h)
        let values = resized.normalized(mean: mean, std: std)
        let ph = (h + padDivisor - 1) / padDivisor * padDivisor, pw = (w + padDivisor - 1) / padDivisor * padDivisor
        var x = Tensor(zeros: [1, ph, pw, 3])
        x.withUnsafeMutableBufferPointer { buf in
            for r in 0..<h {
                for c in 0..<(w * 3) { buf[r * pw * 3 + c] = values[r * w * 3 + c] }
            }
        }
        return (resized, x)
    }

    /// Detects objects in an RGB image.
    public func callAsFunction(_ image: Image) -> (detections: [Detection], raw: RawDetections) {
        let (resized, x) = prepare(image)
        let raw = model.detect(x, imageShape: (resized.height, resized.width))
        // mmdet 3.x divides by the float32 scale factors (new size / old size).
        let sw = Float(Double(resized.width) / Double(image.width)), sh = Float(Double(resized.height) / Double(image.height))
        var dets = [Detection]()
        for (i, b) in raw.boxes.enumerated() {
            let box = Box(b.x1 / sw, b.y1 / sh, b.x2 / sw, b.y2 / sh)
            var mask: MaskWindow?
            if !raw.maskProbabilities.isEmpty {
                mask = pasteMask(raw.maskProbabilities[i], size: raw.maskSize, box: box, imageWidth: image.width,
                                 imageHeight: image.height, threshold: model.config.maskThreshold)
            }
            dets.append(Detection(box: box, score: raw.scores[i], label: raw.labels[i], mask: mask))
        }
        return (dets, raw)
    }
}

/// mmdet `_do_paste_mask` (skip_empty) + threshold: samples the S×S probability map at each pixel
/// centre of the box's window with `grid_sample(align_corners=False, padding_mode='zeros')`, in the
/// float32 operation order of PyTorch's CPU kernel.
public func pasteMask(_ probs: [Float], size S: Int, box: Box, imageWidth W: Int, imageHeight H: Int, threshold: Float) -> MaskWindow {
    let x0i = max(Int(floorf(box.x1)) - 1, 0), y0i = max(Int(floorf(box.y1)) - 1, 0)
    let x1i = min(Int(ceilf(box.x2)) + 1, W), y1i = min(Int(ceilf(box.y2)) + 1, H)
    let w = max(x1i - x0i, 0), h = max(y1i - y0i, 0)
    var bits = [UInt8](repeating: 0, count: w * h)
    func normalized(_ p: Int, _ lo: Float, _ hi: Float) -> Float {
        var v = (Float(p) + 0.5 - lo) / (hi - lo) * 2 - 1
        if v.isInfinite { v = 0 }
        return v
    }
    let half = Float(S) / 2
    for yy in 0..<h {
        let gy = normalized(y0i + yy, box.y1, box.y2)
        let iy = (gy + 1) * half - 0.5
        let yn = floorf(iy)
        let n = iy - yn, s = 1 - n
        let iyn = Int(yn), iys = iyn + 1
        for xx in 0..<w {
            let gx = normalized(x0i + xx, box.x1, box.x2)
            let ix = (gx + 1) * half - 0.5
            let xw = floorf(ix)
            let we = ix - xw, e = 1 - we
            let ixw = Int(xw), ixe = ixw + 1
            func at(_ y: Int, _ x: Int) -> Float { (y >= 0 && y < S && x >= 0 && x < S) ? probs[y * S + x] : 0 }
            let v = at(iyn, ixw) * (s * e) + at(iyn, ixe) * (s * we) + at(iys, ixw) * (n * e) + at(iys, ixe) * (n * we)
            if v >= threshold { bits[yy * w + xx] = 1 }
        }
    }
    return MaskWindow(x0: x0i, y0: y0i, width: w, height: h, bits: bits)
}

extension Detection {
    /// The COCO results entry (mmdet `results2json`): bbox as x, y, w, h (differences in float64
    /// of the float32 corners), the box score, the category id, and the mask as compressed RLE.
    public func cocoResult(imageId: Int, categoryIds: [Int], imageWidth: Int, imageHeight: Int) -> [String: Any] {
        let x1 = Double(box.x1), y1 = Double(box.y1)
        var r: [String: Any] = [
            "image_id": imageId, "category_id": categoryIds[label],
            "bbox": [x1, y1, Double(box.x2) - x1, Double(box.y2) - y1], "score": Double(score),
        ]
        if let mask {
            let rle = RLE(mask: mask.full(imageWidth: imageWidth, imageHeight: imageHeight), height: imageHeight, width: imageWidth)
            r["segmentation"] = ["size": [imageHeight, imageWidth], "counts": rle.compressedString]
        }
        return r
    }

    /// The same entry as evaluator input.
    public func cocoDetection(imageId: Int, categoryIds: [Int], imageWidth: Int, imageHeight: Int) -> COCODetection {
        let x1 = Double(box.x1), y1 = Double(box.y1)
        let seg = mask.map { COCOSegmentation.rle(RLE(mask: $0.full(imageWidth: imageWidth, imageHeight: imageHeight),
                                                        height: imageHeight, width: imageWidth)) }
        return COCODetection(imageId: imageId, categoryId: categoryIds[label], score: Double(score),
                             bbox: [x1, y1, Double(box.x2) - x1, Double(box.y2) - y1], segmentation: seg)
    }
}
