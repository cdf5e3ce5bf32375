/// A COCO segmentation as stored in annotation and result files.
public enum COCOSegmentation: Sendable {
    /// Polygon rings `[x1, y1, x2, y2, …]`, rasterised with the image size and OR-merged.
    case polygons([[Double]])
    /// A run-length mask (from a compressed string or an uncompressed `counts` list).
    case rle(RLE)
}

/// One entry of `images`.
public struct COCOImage: Sendable {
    public var id: Int
    public var width: Int
    public var height: Int
    public var fileName: String

    public init(id: Int, width: Int, height: Int, fileName: String = "") {
        self.id = id; self.width = width; self.height = height; self.fileName = fileName
    }
}

/// One entry of `categories`.
public struct COCOCategory: Sendable {
    public var id: Int
    public var name: String
    public init(id: Int, name: String) { self.id = id; self.name = name }
}

/// One ground-truth object.
public struct COCOAnnotation: Sendable {
    public var id: Int
    public var imageId: Int
    public var categoryId: Int
    /// [x, y, w, h]
    public var bbox: [Double]
    /// Used verbatim for the area ranges, in both bbox and segm evaluation.
    public var area: Double
    public var isCrowd: Bool
    public var segmentation: COCOSegmentation?

    public init(id: Int, imageId: Int, categoryId: Int, bbox: [Double], area: Double, isCrowd: Bool,
                segmentation: COCOSegmentation? = nil) {
        self.id = id; self.imageId = imageId; self.categoryId = categoryId; self.bbox = bbox
        self.area = area; self.isCrowd = isCrowd; self.segmentation = segmentation
    }
}

/// A ground-truth file's content.
public struct COCOGroundTruth: Sendable {
    public var images: [COCOImage]
    public var categories: [COCOCategory]
    public var annotations: [COCOAnnotation]
    /// Where it was read from (a path), named in evaluation errors; empty when unknown.
    public var source: String

    public init(images: [COCOImage], categories: [COCOCategory], annotations: [COCOAnnotation], source: String = "") {
        self.images = images; self.categories = categories; self.annotations = annotations; self.source = source
    }
}

/// One detection of a results file.
public struct COCODetection: Sendable {
    public var imageId: Int
    public var categoryId: Int
    public var score: Double
    /// [x, y, w, h], or nil for mask-only results.
    public var bbox: [Double]?
    public var segmentation: COCOSegmentation?

    public init(imageId: Int, categoryId: Int, score: Double, bbox: [Double]?, segmentation: COCOSegmentation? = nil) {
        self.imageId = imageId; self.categoryId = categoryId; self.score = score; self.bbox = bbox; self.segmentation = segmentation
    }
}

/// Problems with evaluation inputs.
public enum EvalError: Error, CustomStringConvertible, Equatable {
    case unknownImage(imageId: Int)
    case invalid(String)

    public var description: String {
        switch self {
        case let .unknownImage(id): return "result for image id \(id), which is not in the ground truth"
        case let .invalid(s): return s
        }
    }
}
