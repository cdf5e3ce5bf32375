import RepLKImaging

/// A label map: one class index per pixel, row-major.
public struct LabelMap: Equatable, Sendable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// One value per pixel, row-major (pixel (x, y) at `y * width + x`); in ground truth, 255 marks
    /// ignored pixels.
    public var values: [UInt8]
    /// A label map over `values` (row-major, `width × height` of them).
    public init(width: Int, height: Int, values: [UInt8]) { self.width = width; self.height = height; self.values = values }
}

/// One image of a semantic-segmentation split.
public struct SegmentationSample: Equatable, Sendable {
    /// The image file.
    public let imagePath: String
    /// The ground-truth label PNG (for Cityscapes the `_labelTrainIds.png` path, which `label(_:)`
    /// replaces with the `_labelIds.png` file when it is absent).
    public let labelPath: String
    /// Path relative to the split's image folder (predictions are stored under the same name, `.png`).
    public let relativePath: String
}

/// A semantic-segmentation dataset on disk in its official layout.
public protocol SegmentationDataset {
    /// A short name for the dataset: `ade20k` or `cityscapes`.
    var name: String { get }
    /// The dataset folder.
    var root: String { get }
    /// The split's images, in the order `os.walk` + `sorted` visits them.
    var samples: [SegmentationSample] { get }
    /// The class names, indexed by train id.
    var classNames: [String] { get }
    /// One RGB colour per class, indexed by train id (for drawing predictions).
    var palette: [(UInt8, UInt8, UInt8)] { get }
    /// The ground truth in train-id space (0..<classes, 255 = ignore), as the metric consumes it.
    func label(_ sample: SegmentationSample) throws -> LabelMap
}

extension SegmentationDataset {
    /// Where a prediction for `sample` lives under `dir`: the relative image path with `.png`.
    public func predictionPath(_ sample: SegmentationSample, in dir: String) -> String {
        let rel = sample.relativePath
        let stem = rel.lastIndex(of: ".").map { String(rel[..<$0]) } ?? rel
        return dir + "/" + stem + ".png"
    }
}

func readLabel(_ path: String) throws -> LabelMap {
    let m = try Image.readLabelMap(path)
    return LabelMap(width: m.width, height: m.height, values: m.pixels)
}

/// ADE20K (ADEChallengeData2016): `images/<split>/*.jpg` with `annotations/<split>/*.png`;
/// 0 = other (ignored), 1…150 = classes, reduced to 0…149 (mmseg `reduce_zero_label`).
public struct ADE20KDataset: SegmentationDataset {
    /// `ade20k`.
    public let name = "ade20k"
    /// The `ADEChallengeData2016` folder.
    public let root: String
    /// The split's folder name: `validation` or `training`.
    public let split: String
    /// The split's `.jpg` images, in the order `os.walk` + `sorted` visits them.
    public let samples: [SegmentationSample]
    /// The 150 class names as mmsegmentation lists them, indexed by reduced label (0…149).
    public let classNames = ade20kClasses.map(\.name)
    /// mmsegmentation's RGB colour for each of the 150 classes.
    public let palette = ade20kClasses.map(\.color)

    /// Lists a split: the `.jpg` files under `<root>/images/<split>`, each paired with the PNG of the
    /// same name under `<root>/annotations/<split>` (not checked to exist until read).
    ///
    /// - Throws: `DatasetError.layout` when `<root>/images/<split>` is missing or holds no `.jpg`.
    public init(root: String, split: String = "validation") throws {
        self.root = root
        self.split = split
        let imgDir = root + "/images/" + split, annDir = root + "/annotations/" + split
        guard Listing.isDirectory(imgDir) else {
            throw DatasetError.layout(path: root, detail: "not an ADEChallengeData2016 folder: \(imgDir) is missing")
        }
        let files = try Listing.files(under: imgDir, extensions: [".jpg"])
        guard !files.isEmpty else { throw DatasetError.layout(path: imgDir, detail: "no .jpg images") }
        samples = files.map { rel in
            let stem = String(rel.dropLast(4))
            return SegmentationSample(imagePath: imgDir + "/" + rel, labelPath: annDir + "/" + stem + ".png", relativePath: rel)
        }
    }

    /// The ground truth with mmseg's `reduce_zero_label`: 0 (other) becomes 255 (ignored), classes
    /// 1…150 become 0…149.
    ///
    /// - Throws: `ImageError` when the PNG is missing or cannot be decoded.
    public func label(_ sample: SegmentationSample) throws -> LabelMap {
        var m = try readLabel(sample.labelPath)
        m.values = ADE20KDataset.reduceZeroLabel(m.values)
        return m
    }

    /// mmseg's uint8 arithmetic: 0 → 255, v → v − 1, and 254 (from 255) → 255.
    public static func reduceZeroLabel(_ v: [UInt8]) -> [UInt8] {
        v.map { x in
            let y = (x == 0 ? 255 : x) &- 1
            return y == 254 ? 255 : y
        }
    }
}

/// Cityscapes: `leftImg8bit/<split>/<city>/*_leftImg8bit.png` with
/// `gtFine/<split>/<city>/*_gtFine_labelTrainIds.png`, or `*_gtFine_labelIds.png` mapped to train ids.
public struct CityscapesDataset: SegmentationDataset {
    /// `cityscapes`.
    public let name = "cityscapes"
    /// The Cityscapes folder, holding `leftImg8bit/` and `gtFine/`.
    public let root: String
    /// The split's folder name: `val`, `train` or `test`.
    public let split: String
    /// The split's `*_leftImg8bit.png` images (all cities), in the order `os.walk` + `sorted` visits
    /// them.
    public let samples: [SegmentationSample]
    /// The 19 train classes, indexed by train id.
    public let classNames = cityscapesClasses.map(\.name)
    /// The RGB colour of each train class, indexed by train id.
    public let palette = cityscapesClasses.map(\.color)

    /// labelId → trainId (cityscapesScripts `labels.py`), 255 = ignored.
    public static let trainIds: [UInt8] = [255, 255, 255, 255, 255, 255, 255, 0, 1, 255, 255, 2, 3, 4, 255, 255, 255,
                                           5, 255, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 16, 17, 18]
    /// trainId → labelId (the first label with that train id).
    public static let labelIds: [UInt8] = [7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33]

    /// Lists a split: the `*_leftImg8bit.png` files under `<root>/leftImg8bit/<split>`, each paired with
    /// its `gtFine` ground truth (not checked to exist until read).
    ///
    /// - Throws: `DatasetError.layout` when `<root>/leftImg8bit/<split>` is missing or holds no
    ///   `*_leftImg8bit.png`.
    public init(root: String, split: String = "val") throws {
        self.root = root
        self.split = split
        let imgDir = root + "/leftImg8bit/" + split, gtDir = root + "/gtFine/" + split
        guard Listing.isDirectory(imgDir) else {
            throw DatasetError.layout(path: root, detail: "not a Cityscapes folder: \(imgDir) is missing")
        }
        let files = try Listing.files(under: imgDir, extensions: [".png"]).filter { $0.hasSuffix("_leftImg8bit.png") }
        guard !files.isEmpty else { throw DatasetError.layout(path: imgDir, detail: "no *_leftImg8bit.png images") }
        samples = files.map { rel in
            let stem = String(rel.dropLast("_leftImg8bit.png".count))
            return SegmentationSample(imagePath: imgDir + "/" + rel, labelPath: gtDir + "/" + stem + "_gtFine_labelTrainIds.png",
                                      relativePath: rel)
        }
    }

    /// The `labelIds` ground truth next to a sample's train-id file.
    public func labelIdsPath(_ s: SegmentationSample) -> String {
        String(s.labelPath.dropLast("_labelTrainIds.png".count)) + "_labelIds.png"
    }

    /// The `instanceIds` ground truth (for iIoU).
    public func instanceIdsPath(_ s: SegmentationSample) -> String {
        String(s.labelPath.dropLast("_labelTrainIds.png".count)) + "_instanceIds.png"
    }

    /// The ground truth in train ids (0…18, 255 ignored): the `_labelTrainIds.png` file, or else the
    /// `_labelIds.png` file mapped through `trainIds`.
    ///
    /// - Throws: `DatasetError.missing` when neither file exists, `DatasetError.invalid` for a label id
    ///   above 33, `ImageError` when a PNG cannot be decoded.
    public func label(_ sample: SegmentationSample) throws -> LabelMap {
        if Listing.exists(sample.labelPath) { return try readLabel(sample.labelPath) }
        let ids = labelIdsPath(sample)
        guard Listing.exists(ids) else {
            throw DatasetError.missing(path: sample.labelPath, what: "ground truth (neither labelTrainIds nor labelIds)")
        }
        var m = try readLabel(ids)
        for (i, v) in m.values.enumerated() {
            guard Int(v) < CityscapesDataset.trainIds.count else {
                throw DatasetError.invalid(path: ids, detail: "label id \(v) is not a Cityscapes label (0–33)")
            }
            m.values[i] = CityscapesDataset.trainIds[Int(v)]
        }
        return m
    }
}
