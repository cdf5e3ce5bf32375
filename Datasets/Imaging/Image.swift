import CCodecs
import Foundation

/// Errors from decoding, encoding and reading image files. Each names the file.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case notAnImage(file: String)
    case corrupt(file: String, detail: String)
    case unwritable(file: String, reason: String)
    case invalid(file: String, detail: String)

    public var description: String {
        switch self {
        case let .unreadable(f, r): return "\(f): cannot read: \(r)"
        case let .notAnImage(f): return "\(f): not an image (expected JPEG or PNG data)"
        case let .corrupt(f, d): return "\(f): corrupt image: \(d)"
        case let .unwritable(f, r): return "\(f): cannot write: \(r)"
        case let .invalid(f, d): return "\(f): \(d)"
        }
    }
}

/// An 8-bit image, row-major HWC. Decoded images are RGB (3 channels); label maps have 1.
public struct Image: Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * channels, "image buffer size mismatch")
        self.width = width; self.height = height; self.channels = channels; self.pixels = pixels
    }

    public init(width: Int, height: Int, channels: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: fill, count: width * height * channels))
    }

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
    public init(contentsOf path: String) throws {
        try self.init(data: try Image.readFile(path), name: path)
    }

    /// Decodes JPEG or PNG bytes to RGB; `name` appears in errors.
    public init(data: [UInt8], name: String) throws {
        var img = replk_image()
        var err = replk_error()
        let rc: Int32
        if data.count >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF {
            rc = data.withUnsafeBufferPointer { replk_jpeg_decode($0.baseAddress, $0.count, &img, &err) }
        } else if data.count >= 8 && data[0] == 0x89 && data[1] == 0x50 && data[2] == 0x4E && data[3] == 0x47 {
            rc = data.withUnsafeBufferPointer { replk_png_decode($0.baseAddress, $0.count, 0, &img, &err) }
        } else {
            throw ImageError.notAnImage(file: name)
        }
        guard rc == 0 else { throw ImageError.corrupt(file: name, detail: Image.message(&err)) }
        self = Image.adopt(img)
    }

    /// Reads a label PNG as raw sample values (palette indices, never colours; 16-bit values keep
    /// their low byte, as numpy's uint8 cast does).
    public static func readLabelMap(_ path: String) throws -> Image {
        let data = try readFile(path)
        guard data.count >= 8 && data[0] == 0x89 && data[1] == 0x50 && data[2] == 0x4E && data[3] == 0x47 else {
            throw ImageError.invalid(file: path, detail: "label map is not a PNG file")
        }
        var img = replk_image()
        var err = replk_error()
        let rc = data.withUnsafeBufferPointer { replk_png_decode($0.baseAddress, $0.count, 1, &img, &err) }
        guard rc == 0 else { throw ImageError.corrupt(file: path, detail: message(&err)) }
        return adopt(img)
    }

    private static func message(_ err: inout replk_error) -> String {
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
    public var width: Int
    public var height: Int
    public var values: [UInt16]

    public init(contentsOf path: String) throws {
        let data = try Image.readFile(path)
        var img = replk_image()
        var err = replk_error()
        let rc = data.withUnsafeBufferPointer { replk_png_decode($0.baseAddress, $0.count, 2, &img, &err) }
        guard rc == 0 else {
            let msg = withUnsafeBytes(of: &err.message) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            throw ImageError.corrupt(file: path, detail: msg)
        }
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
