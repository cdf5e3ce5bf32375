/// A COCO segmentation as stored in annotation and result files.
public enum COCOSegmentation: Sendable {
    /// Polygon rings `[x1, y1, x2, y2, …]`, rasterised with the image size and OR-merged.
    case polygons([[Double]])
    /// A run-length mask (from a compressed string or an uncompressed `counts` list).
    case rle(RLE)
}

/// One entry of `images`.
public struct COCOImage: Sendable {
    /// The image's `id`, which annotations and detections refer to.
    public var id: Int
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// The `file_name`, relative to the split's image folder (empty when the file gives none).
    public var fileName: String

    /// An image entry; `width` and `height` in pixels.
    public init(id: Int, width: Int, height: Int, fileName: String = "") {
        self.id = id; self.width = width; self.height = height; self.fileName = fileName
    }
}

/// One entry of `categories`.
public struct COCOCategory: Sendable {
    /// The category's `id` as the file gives it (COCO's are 1–90, with gaps).
    public var id: Int
    /// The category's name (e.g. `person`).
    public var name: String
    /// A category entry.
    public init(id: Int, name: String) { self.id = id; self.name = name }
}

/// One ground-truth object.
public struct COCOAnnotation: Sendable {
    /// The annotation's `id`.
    public var id: Int
    /// The `image_id` of the image it belongs to.
    public var imageId: Int
    /// The `category_id` of its category.
    public var categoryId: Int
    /// [x, y, w, h]
    public var bbox: [Double]
    /// Used verbatim for the area ranges, in both bbox and segm evaluation.
    public var area: Double
    /// COCO's `iscrowd` (non-zero): a crowd region. As in pycocotools, it is ignored in matching
    /// (a detection matched to it is neither a true nor a false positive) and its IoU takes the
    /// detection's own area as the union.
    public var isCrowd: Bool
    /// The object's outline (polygons or RLE), or nil when absent or `null`; needed only for `segm`
    /// evaluation.
    public var segmentation: COCOSegmentation?

    /// A ground-truth object.
    ///
    /// - Parameters:
    ///   - id: the annotation's `id`.
    ///   - imageId: the `image_id` of its image.
    ///   - categoryId: the `category_id` of its category.
    ///   - bbox: `[x, y, w, h]` in pixels, COCO's layout (top-left corner, then size).
    ///   - area: the file's `area` in square pixels, used as given for the area ranges.
    ///   - isCrowd: COCO's `iscrowd`.
    ///   - segmentation: the object's polygons or RLE, or nil.
    public init(id: Int, imageId: Int, categoryId: Int, bbox: [Double], area: Double, isCrowd: Bool,
                segmentation: COCOSegmentation? = nil) {
        self.id = id; self.imageId = imageId; self.categoryId = categoryId; self.bbox = bbox
        self.area = area; self.isCrowd = isCrowd; self.segmentation = segmentation
    }
}

/// A ground-truth file's content.
public struct COCOGroundTruth: Sendable {
    /// The `images` entries, in file order.
    public var images: [COCOImage]
    /// The `categories` entries, in file order.
    public var categories: [COCOCategory]
    /// The `annotations` entries, in file order.
    public var annotations: [COCOAnnotation]
    /// Where it was read from (a path), named in evaluation errors; empty when unknown.
    public var source: String

    /// A ground truth built in memory; `source` is named in evaluation errors.
    public init(images: [COCOImage], categories: [COCOCategory], annotations: [COCOAnnotation], source: String = "") {
        self.images = images; self.categories = categories; self.annotations = annotations; self.source = source
    }
}

/// One detection of a results file.
public struct COCODetection: Sendable {
    /// The `image_id` of the image it was found in.
    public var imageId: Int
    /// The predicted `category_id` (a ground-truth category id, not a class index).
    public var categoryId: Int
    /// The confidence, by which detections are ranked (highest first).
    public var score: Double
    /// [x, y, w, h], or nil for mask-only results.
    public var bbox: [Double]?
    /// The predicted mask, or nil. Mask-only results (no `bbox`) need an RLE; in `segm` evaluation
    /// a box result without a mask is scored with its box as the mask.
    public var segmentation: COCOSegmentation?

    /// A detection.
    ///
    /// - Parameters:
    ///   - imageId: the `image_id` of the image it was found in.
    ///   - categoryId: the predicted `category_id`.
    ///   - score: the confidence.
    ///   - bbox: `[x, y, w, h]` in pixels, or nil for mask-only results.
    ///   - segmentation: the predicted mask (an RLE for mask-only results), or nil.
    public init(imageId: Int, categoryId: Int, score: Double, bbox: [Double]?, segmentation: COCOSegmentation? = nil) {
        self.imageId = imageId; self.categoryId = categoryId; self.score = score; self.bbox = bbox; self.segmentation = segmentation
    }
}

/// Problems with evaluation inputs.
public enum EvalError: Error, CustomStringConvertible, Equatable {
    /// A detection names an image the ground truth does not list.
    case unknownImage(imageId: Int)
    /// An input the evaluation refuses (a missing field, mismatched sizes, an out-of-range value, a
    /// mask pycocotools cannot make); the message says which.
    case invalid(String)

    /// The message for the user.
    public var description: String {
        switch self {
        case let .unknownImage(id): return "result for image id \(id), which is not in the ground truth"
        case let .invalid(s): return s
        }
    }
}
