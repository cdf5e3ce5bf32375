import RepLKCFreeType
import Foundation

/// Where the text of drawings (detection labels, segmentation legends) comes from.
public enum FontSource: Equatable, Sendable {
    /// A TrueType file rendered with FreeType (anti-aliased, any Unicode the font covers).
    case trueType(path: String)
    /// The built-in 6×12 bitmap font (ASCII only, scaled by whole pixels): used when no TrueType
    /// font was found.
    case bitmap
}

/// The extent of a line of text: `width` pixels from the pen's start, `height` = ascent + descent
/// (the line box), `ascent` from the top of that box to the baseline.
public struct TextExtent: Equatable, Sendable {
    /// Advance from the pen's start to its end, pixels.
    public var width: Int
    /// Ascent + descent, pixels.
    public var height: Int
    /// Top of the line box to the baseline, pixels.
    public var ascent: Int
}

/// Renders lines of UTF-8 text into images, with DejaVu Sans through FreeType where a copy is
/// found, else the built-in bitmap font scaled up. One renderer serves the whole process (`shared`);
/// its calls are serialised by a lock, as a FreeType face is not thread-safe.
public final class TextRenderer: @unchecked Sendable {
    /// The environment variable naming a TrueType/OpenType file to use instead of DejaVu Sans.
    public static let environmentVariable = "REPLK_FONT"

    /// DejaVu Sans where the distributions put it: Debian/Ubuntu (`fonts-dejavu-core`), Fedora,
    /// Arch, openSUSE, Alpine, macOS with a user copy.
    public static let knownFontPaths = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/DejaVuSans.ttf",
        "/usr/local/share/fonts/DejaVuSans.ttf",
    ]

    /// The process-wide renderer: `REPLK_FONT` when set (and loadable), else the first of
    /// `knownFontPaths` that FreeType opens, else what fontconfig's `fc-match "DejaVu Sans"`
    /// names, else the bitmap font.
    public static let shared = TextRenderer(environment: ProcessInfo.processInfo.environment)

    /// What this renderer draws with.
    public let source: FontSource
    /// Why a TrueType font was not used (nil when one is): a line a tool may print as a notice.
    public let fallbackReason: String?

    private var library: FT_Library?
    private var face: FT_Face?
    private var currentPixelSize = 0
    private let lock = NSLock()

    /// A renderer with the font found as `shared` describes, from `environment`'s `REPLK_FONT`.
    public convenience init(environment: [String: String]) {
        if let path = environment[TextRenderer.environmentVariable], !path.isEmpty {
            self.init(candidates: [path], useFontconfig: false)
        } else {
            self.init(candidates: TextRenderer.knownFontPaths, useFontconfig: true)
        }
    }

    /// A renderer with the first of `candidates` that FreeType can open (then fontconfig's DejaVu
    /// Sans when `useFontconfig`); the bitmap font when none opens. An empty list gives the bitmap font.
    public init(candidates: [String], useFontconfig: Bool = false) {
        var lib: FT_Library?
        var chosen: (String, FT_Face)?
        if FT_Init_FreeType(&lib) == 0, let lib {
            library = lib
            var paths = candidates
            if useFontconfig, let fc = TextRenderer.fontconfigPath() { paths.append(fc) }
            for p in paths where FileManager.default.isReadableFile(atPath: p) {
                var f: FT_Face?
                if FT_New_Face(lib, p, 0, &f) == 0, let f {
                    if f.pointee.face_flags & Int(FT_FACE_FLAG_SCALABLE) != 0 { chosen = (p, f); break }
                    FT_Done_Face(f)
                }
            }
        }
        if let (path, f) = chosen {
            face = f
            source = .trueType(path: path)
            fallbackReason = nil
        } else {
            source = .bitmap
            let tried = candidates.isEmpty ? "no font given" : "no TrueType font at \(candidates.joined(separator: ", "))\(useFontconfig ? " nor from fc-match" : "")"
            fallbackReason = "\(tried); text is drawn with the built-in bitmap font (install fonts-dejavu-core, or set \(TextRenderer.environmentVariable)=FILE.ttf)"
        }
    }

    deinit {
        if let face { FT_Done_Face(face) }
        if let library { FT_Done_FreeType(library) }
    }

    /// `fc-match -f %{file} "DejaVu Sans"`, when fontconfig's tool is installed and names a file.
    static func fontconfigPath() -> String? {
        let tool = ["/usr/bin/fc-match", "/usr/local/bin/fc-match", "/opt/homebrew/bin/fc-match"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let tool else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = ["-f", "%{file}", "DejaVu Sans"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let path = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              !path.isEmpty else { return nil }
        return path
    }

    /// The bitmap font's whole-pixel scale for a nominal `size`.
    private static func bitmapScale(_ size: Int) -> Int { max(1, Int((Double(size) / 10).rounded())) }

    /// Sets the face's size (lock held).
    private func setSize(_ size: Int) {
        guard let face, size != currentPixelSize else { return }
        FT_Set_Pixel_Sizes(face, 0, FT_UInt(max(1, size)))
        currentPixelSize = size
    }

    /// The extent of `text` at `size` pixels per em (the bitmap font: 12 px lines at size 10 and
    /// whole multiples of that).
    public func measure(_ text: String, size: Int) -> TextExtent {
        guard let face else {
            let s = TextRenderer.bitmapScale(size)
            return TextExtent(width: 6 * s * text.unicodeScalars.count, height: 12 * s, ascent: 10 * s)
        }
        lock.lock(); defer { lock.unlock() }
        setSize(size)
        let m = face.pointee.size.pointee.metrics
        let ascent = Int((m.ascender + 63) >> 6), descent = Int((-m.descender + 63) >> 6)
        var width = 0
        for u in text.unicodeScalars {
            if FT_Load_Char(face, FT_ULong(u.value), FT_Int32(0)) == 0 {   // FT_LOAD_DEFAULT: metrics only
                width += Int((face.pointee.glyph.pointee.advance.x + 32) >> 6)
            }
        }
        return TextExtent(width: width, height: ascent + descent, ascent: ascent)
    }

    /// Draws one line of `text` with the top-left corner of its line box at (x, y) (clipped to
    /// the image), anti-aliased with the TrueType font; returns its extent.
    @discardableResult
    public func draw(_ text: String, into image: inout Image, x: Int, y: Int, size: Int, color: Image.RGB) -> TextExtent {
        guard let face else {
            let s = TextRenderer.bitmapScale(size)
            image.drawText(text, x: x, y: y, color: color, scale: s)
            return TextExtent(width: 6 * s * text.unicodeScalars.count, height: 12 * s, ascent: 10 * s)
        }
        lock.lock(); defer { lock.unlock() }
        setSize(size)
        let m = face.pointee.size.pointee.metrics
        let ascent = Int((m.ascender + 63) >> 6), descent = Int((-m.descender + 63) >> 6)
        var pen = x
        let baseline = y + ascent
        for u in text.unicodeScalars {
            guard FT_Load_Char(face, FT_ULong(u.value), FT_Int32(4)) == 0 else { continue }   // FT_LOAD_RENDER
            let g = face.pointee.glyph.pointee
            let bm = g.bitmap
            if let buffer = bm.buffer, bm.pixel_mode == UInt8(FT_PIXEL_MODE_GRAY.rawValue) {
                let rows = Int(bm.rows), cols = Int(bm.width), pitch = Int(bm.pitch)
                let left = pen + Int(g.bitmap_left), top = baseline - Int(g.bitmap_top)
                for r in 0..<rows {
                    for c in 0..<cols {
                        let a = buffer[r * pitch + c]
                        if a != 0 { image.blendPixel(left + c, top + r, color, Float(a) / 255) }
                    }
                }
            }
            pen += Int((g.advance.x + 32) >> 6)
        }
        return TextExtent(width: pen - x, height: ascent + descent, ascent: ascent)
    }
}
