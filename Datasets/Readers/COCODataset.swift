import RepLKFormats

/// A COCO split on disk: `<root>/<split>/<file_name>` images and `<root>/annotations/instances_<split>.json`.
public struct COCODataset {
    /// The dataset folder.
    public let root: String
    /// The split's name (e.g. `val2017`); its images are in `<root>/<split>`.
    public let split: String
    /// The annotation file that was read: `<root>/annotations/instances_<split>.json` unless given.
    public let annotationPath: String
    /// The parsed annotation file.
    public let groundTruth: COCOGroundTruth

    /// Opens a split and reads its annotation file.
    ///
    /// - Parameters:
    ///   - root: the folder holding `<split>/` and `annotations/`.
    ///   - split: the image folder's name.
    ///   - annotations: an annotation file to read instead of `<root>/annotations/instances_<split>.json`.
    /// - Throws: `DatasetError.layout` when `<root>/<split>` is not a folder, `DatasetError.missing`
    ///   when the annotation file is absent, `DatasetError.malformedJSON` or `DatasetError.invalid` when
    ///   it cannot be parsed as COCO or lists no images.
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

    /// The path of `image`'s file: `<root>/<split>/<file_name>`.
    public func imagePath(_ image: COCOImage) -> String { root + "/" + split + "/" + image.fileName }
}
