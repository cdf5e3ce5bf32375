import RepLKCCodecs
import Foundation

/// Errors from decoding, encoding and reading image files. Each names the file.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    /// The file is missing, a directory, or cannot be read.
    case unreadable(file: String, reason: String)
    /// The bytes are neither JPEG nor PNG.
    case notAnImage(file: String)
    /// The decoder failed on the data.
    case corrupt(file: String, detail: String)
    /// The output file cannot be created.
    case unwritable(file: String, reason: String)
    /// A label map that is not a PNG, or an image that cannot be encoded (then `file` is `<png>` or
    /// `<jpeg>`).
    case invalid(file: String, detail: String)
    /// The file declares more pixels than `ImageLimits.maxPixels`; refused before decoding.
    case tooLarge(file: String, width: Int, height: Int, limit: Int)
    /// A pixel limit setting (environment variable or option) that is not a positive whole number.
    case badLimit(setting: String, value: String)

    /// The message for the user, naming the file (or the setting, for `badLimit`).
    public var description: String {
        switch self {
        case let .unreadable(f, r): return "\(f): cannot read: \(r)"
        case let .notAnImage(f): return "\(f): not an image (expected JPEG or PNG data)"
        case let .corrupt(f, d): return "\(f): corrupt image: \(d)"
        case let .unwritable(f, r): return "\(f): cannot write: \(r)"
        case let .invalid(f, d): return "\(f): \(d)"
        case let .tooLarge(f, w, h, limit):
            let (n, overflow) = w.multipliedReportingOverflow(by: h)
            return "\(f): image is \(w)×\(h) = \(overflow ? "too many" : String(n)) pixels, more than the limit of \(limit) "
                + "(a possible decompression bomb; set \(ImageLimits.environmentVariable) to raise the limit)"
        case let .badLimit(setting, value):
            return "\(setting)=\(value): the image pixel limit must be a positive whole number"
        }
    }
}

/// How large an image the decoders accept. The check is Pillow's decompression-bomb check: on the
/// width × height a file declares, before any pixel memory is allocated.
public struct ImageLimits: Sendable, Equatable {
    /// Pillow's: `PIL.Image.open` raises `DecompressionBombError` above 2 × `Image.MAX_IMAGE_PIXELS`
    /// = 2 × 89,478,485 pixels (it only warns between the two).
    public static let pillowMaxPixels = 178_956_970
    /// The environment variable that replaces the default limit (for users who mean to decode more).
    public static let environmentVariable = "REPLK_MAX_IMAGE_PIXELS"

    /// Images of more than this many pixels are refused (`ImageError.tooLarge`).
    public var maxPixels: Int

    /// - Parameter maxPixels: a positive number of pixels.
    public init(maxPixels: Int = ImageLimits.pillowMaxPixels) {
        precondition(maxPixels > 0, "the image pixel limit must be positive")
        self.maxPixels = maxPixels
    }

    /// Parses a limit given as text (an option's value or the environment's); `setting` names it in errors.
    public static func parse(_ text: String, setting: String) throws -> ImageLimits {
        let digits = text.trimmingCharacters(in: .whitespaces)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(digits), n > 0 else {
            throw ImageError.badLimit(setting: setting, value: text)
        }
        return ImageLimits(maxPixels: n)
    }

    /// `REPLK_MAX_IMAGE_PIXELS` when it is set, else Pillow's limit.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ImageLimits {
        guard let text = environment[environmentVariable] else { return ImageLimits() }
        return try parse(text, setting: environmentVariable)
    }
}

/// An 8-bit image, row-major HWC. Decoded images are RGB (3 channels); label maps have 1.
public struct Image: Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// Samples per pixel: 3 (RGB) for decoded images, 1 for label maps; PNG encoding also takes 4 (RGBA).
    public var channels: Int
    /// The samples, row-major HWC: pixel (x, y) channel c is at `(y * width + x) * channels + c`.
    public var pixels: [UInt8]

    /// An image over `pixels` (row-major HWC).
    ///
    /// - Precondition: `pixels.count == width * height * channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * channels, "image buffer size mismatch")
        self.width = width; self.height = height; self.channels = channels; self.pixels = pixels
    }

    /// An image with every sample set to `fill`.
    public init(width: Int, height: Int, channels: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: fill, count: width * height * channels))
    }

    /// The sample of channel `c` at column `x`, row `y` (0-based).
    ///
    /// - Precondition: `x < width`, `y < height`, `c < channels`, none negative (only the array's own
    ///   bounds are checked).
    @inline(__always) public subscript(x: Int, y: Int, c: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    /// Reads a whole file.
    public static func readFile(_ path: String) throws -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ImageError.unreadable(file: path, reason: "No such file or directory")
        }
        if isDir.boolValue { throw ImageError.unreadable(file: path, reason: "is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImageError.unreadable(file: path, reason: "permission denied or I/O error")
        }
        return [UInt8](data)
    }

    /// Decodes a JPEG or PNG file to RGB: grayscale is replicated, alpha dropped, palettes expanded
    /// (what `PIL.Image.convert('RGB')` and `cv2.imread(IMREAD_COLOR)` give).
    ///
    /// - Parameters:
    ///   - path: the file to decode.
    ///   - limits: nil for `ImageLimits.fromEnvironment()`.
    /// - Throws: `ImageError` when the file cannot be read, is not JPEG or PNG, is corrupt, or has
    ///   more pixels than the limit.
    public init(contentsOf path: String, limits: ImageLimits? = nil) throws {
        try self.init(data: try Image.readFile(path), name: path, limits: limits)
    }

    /// Decodes JPEG or PNG bytes to RGB.
    ///
    /// - Parameters:
    ///   - data: the encoded file's bytes.
    ///   - name: the name errors give for the data (a path, usually).
    ///   - limits: nil for `ImageLimits.fromEnvironment()`.
    /// - Throws: `ImageError` when the data is not JPEG or PNG, is corrupt, or has more pixels than
    ///   the limit.
    public init(data: [UInt8], name: String, limits: ImageLimits? = nil) throws {
        let maxPixels = try Image.pixelLimit(limits)
        var img = replk_image()
        var err = replk_error()
        let rc: Int32
        if data.count >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF {
            rc = data.withUnsafeBufferPointer { replk_jpeg_decode($0.baseAddress, $0.count, maxPixels, &img, &err) }
        } else if data.count >= 8 && data[0] == 0x89 && data[1] == 0x50 && data[2] == 0x4E && data[3] == 0x47 {
            rc = data.withUnsafeBufferPointer { replk_png_decode($0.baseAddress, $0.count, 0, maxPixels, &img, &err) }
        } else {
            throw ImageError.notAnImage(file: name)
        }
        try Image.check(rc, &err, name: name, maxPixels: maxPixels)
        self = Image.adopt(img)
    }

    /// Reads a label PNG as raw sample values (palette indices, never colours; 16-bit values keep
    /// their low byte, as numpy's uint8 cast does).
    ///
    /// - Parameters:
    ///   - path: the PNG file.
    ///   - limits: nil for `ImageLimits.fromEnvironment()`.
    /// - Returns: a 1-channel image of the values.
    /// - Throws: `ImageError`: `invalid` when the file is not a PNG, `corrupt` for a colour PNG or
    ///   bad data, `tooLarge` above the limit, `unreadable` when it cannot be read.
    public static func readLabelMap(_ path: String, limits: ImageLimits? = nil) throws -> Image {
        let data = try readFile(path)
        guard data.count >= 8 && data[0] == 0x89 && data[1] == 0x50 && data[2] == 0x4E && data[3] == 0x47 else {
            throw ImageError.invalid(file: path, detail: "label map is not a PNG file")
        }
        let maxPixels = try Image.pixelLimit(limits)
        var img = replk_image()
        var err = replk_error()
        let rc = data.withUnsafeBufferPointer { replk_png_decode($0.baseAddress, $0.count, 1, maxPixels, &img, &err) }
        try check(rc, &err, name: path, maxPixels: maxPixels)
        return adopt(img)
    }

    static func pixelLimit(_ limits: ImageLimits?) throws -> UInt64 {
        if let limits { return UInt64(limits.maxPixels) }
        return UInt64(try ImageLimits.fromEnvironment().maxPixels)
    }

    /// Turns a decoder's return code into the error it stands for.
    static func check(_ rc: Int32, _ err: inout replk_error, name: String, maxPixels: UInt64) throws {
        if rc == Int32(REPLK_OK) { return }
        if rc == Int32(REPLK_TOO_LARGE) {
            throw ImageError.tooLarge(file: name, width: Int(err.width), height: Int(err.height), limit: Int(maxPixels))
        }
        throw ImageError.corrupt(file: name, detail: message(&err))
    }

    static func message(_ err: inout replk_error) -> String {
        withUnsafeBytes(of: &err.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    private static func adopt(_ img: replk_image) -> Image {
        let n = Int(img.width) * Int(img.height) * Int(img.channels)
        let pixels = Array(UnsafeBufferPointer(start: img.data, count: n))
        replk_free(img.data)
        return Image(width: Int(img.width), height: Int(img.height), channels: Int(img.channels), pixels: pixels)
    }

    /// PNG bytes (1, 3 or 4 channels; a 1-channel image may carry a palette of RGB triples).
    public func pngData(palette: [UInt8]? = nil) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var len = 0
        var err = replk_error()
        let rc = pixels.withUnsafeBufferPointer { p in
            if let palette {
                return palette.withUnsafeBufferPointer { pal in
                    replk_png_encode(p.baseAddress, Int32(width), Int32(height), Int32(channels), pal.baseAddress,
                                     Int32(palette.count / 3), &out, &len, &err)
                }
            }
            return replk_png_encode(p.baseAddress, Int32(width), Int32(height), Int32(channels), nil, 0, &out, &len, &err)
        }
        guard rc == 0, let out else { throw ImageError.invalid(file: "<png>", detail: Image.message(&err)) }
        defer { replk_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: len))
    }

    /// Baseline JPEG bytes (1 or 3 channels).
    public func jpegData(quality: Int = 90) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var err = replk_error()
        var outLen = 0
        let rc = pixels.withUnsafeBufferPointer {
            replk_jpeg_encode($0.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(quality), &out, &outLen, &err)
        }
        guard rc == 0, let out else { throw ImageError.invalid(file: "<jpeg>", detail: Image.message(&err)) }
        defer { replk_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: outLen))
    }

    /// Writes PNG or JPEG, chosen by the path's extension.
    public func write(to path: String, palette: [UInt8]? = nil, quality: Int = 90) throws {
        let lower = path.lowercased()
        let bytes = lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") ? try jpegData(quality: quality) : try pngData(palette: palette)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw ImageError.unwritable(file: path, reason: "cannot create the file")
        }
    }
}

/// A single-channel 16-bit map (Cityscapes `*_instanceIds.png`); 8-bit files are widened.
public struct Map16: Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// The values, row-major: pixel (x, y) is at `y * width + x`.
    public var values: [UInt16]

    /// Reads a single-channel (greyscale or palette) PNG's values as 16-bit integers; files of 8 bits
    /// or fewer are widened.
    ///
    /// - Parameters:
    ///   - path: the PNG file.
    ///   - limits: nil for `ImageLimits.fromEnvironment()`.
    /// - Throws: `ImageError` when the file cannot be read, is not a single-channel PNG, or has more
    ///   pixels than the limit.
    public init(contentsOf path: String, limits: ImageLimits? = nil) throws {
        let data = try Image.readFile(path)
        let maxPixels = try Image.pixelLimit(limits)
        var img = replk_image()
        var err = replk_error()
        let rc = data.withUnsafeBufferPointer { replk_png_decode($0.baseAddress, $0.count, 2, maxPixels, &img, &err) }
        try Image.check(rc, &err, name: path, maxPixels: maxPixels)
        defer { replk_free(img.data) }
        width = Int(img.width); height = Int(img.height)
        let n = width * height
        if img.channels == 2 {
            values = (0..<n).map { UInt16(img.data[2 * $0]) | UInt16(img.data[2 * $0 + 1]) << 8 }
        } else {
            values = (0..<n).map { UInt16(img.data[$0]) }
        }
    }
}
