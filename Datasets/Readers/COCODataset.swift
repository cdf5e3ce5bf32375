import RepLKFormats

/// A COCO split on disk: `<root>/<split>/<file_name>` images and `<root>/annotations/instances_<split>.json`.
public struct COCODataset {
    public let root: String
    public let split: String
    public let annotationPath: String
    public let groundTruth: COCOGroundTruth

    public init(root: String, split: String = "val2017", annotations: String? = nil) throws {
        self.root = root
        self.split = split
        annotationPath = annotations ?? root + "/annotations/instances_\(split).json"
        guard Listing.isDirectory(root + "/" + split) else {
            throw DatasetError.layout(path: root, detail: "not a COCO folder: \(root)/\(split) is missing")
        }
        guard Listing.exists(annotationPath) else { throw DatasetError.missing(path: annotationPath, what: "annotation file") }
        groundTruth = try COCOFile.groundTruth(path: annotationPath)
        guard !groundTruth.images.isEmpty else { throw DatasetError.invalid(path: annotationPath, detail: "lists no images") }
    }

    /// Images in ascending id order (the order pycocotools evaluates them).
    public var images: [COCOImage] { groundTruth.images.sorted { $0.id < $1.id } }

    public func imagePath(_ image: COCOImage) -> String { root + "/" + split + "/" + image.fileName }
}
