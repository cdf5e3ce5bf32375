/// An ImageNet-style folder: one sub-folder per class; class index = position of the folder name
/// in sorted order (torchvision `ImageFolder`).
public struct ImageFolderDataset {
    /// One image and its class.
    public struct Sample: Equatable {
        /// The image's path: `<root>/<class>/<file>` (files in sub-folders of a class folder included).
        public let path: String
        /// The class index (0-based), a position in `classNames`.
        public let label: Int
    }

    /// The dataset folder.
    public let root: String
    /// The class folder names, sorted by code point as Python's `sorted()` does; index = class index.
    public let classNames: [String]
    /// The images, class by class, in `os.walk` + `sorted` order within each class folder.
    public let samples: [Sample]

    /// Extensions torchvision's ImageFolder accepts. Only JPEG and PNG decode; others are reported.
    public static let imageExtensions: Set<String> = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"]

    /// Lists the dataset (file names only: images are decoded one at a time by the caller).
    public init(root: String) throws {
        guard Listing.isDirectory(root) else { throw DatasetError.missing(path: root, what: "dataset folder") }
        self.root = root
        classNames = try Listing.entries(root).filter { Listing.isDirectory(root + "/" + $0) }
        guard !classNames.isEmpty else {
            throw DatasetError.layout(path: root, detail: "no class folders (expected <root>/<class>/<image>)")
        }
        var samples = [Sample]()
        for (i, c) in classNames.enumerated() {
            for f in try Listing.files(under: root + "/" + c, extensions: Self.imageExtensions) {
                samples.append(Sample(path: root + "/" + c + "/" + f, label: i))
            }
        }
        guard !samples.isEmpty else { throw DatasetError.layout(path: root, detail: "class folders hold no images") }
        self.samples = samples
    }
}
