import Foundation

/// NumPy `.npy` arrays (format versions 1–3), read as float32 and written as little-endian float32.
public enum NPY {
    /// Reads an array; float64, float16, and integer arrays are converted to float32.
    public static func read(path: String) throws -> (shape: [Int], values: [Float]) {
        try read(BinaryFile(path: path))
    }

    /// Reads an array held in memory; `name` stands for the path in error messages.
    public static func read(bytes: [UInt8], name: String) throws -> (shape: [Int], values: [Float]) {
        try read(BinaryFile(bytes: bytes, name: name))
    }

    /// Reads an array from an open file (on disk or in memory). The header length, shape, byte
    /// size and strides are checked against the file's length before anything is allocated.
    public static func read(_ file: BinaryFile) throws -> (shape: [Int], values: [Float]) {
        let path = file.path
        let head = try file.bytes(at: 0, count: min(file.size, 12))
        guard head.count >= 10, Array(head[0..<6]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] else {
            throw WeightsError.unsupportedFormat(file: path, detail: "not a .npy file (bad magic)")
        }
        let major = Int(head[6])
        let headerLen: Int, headerStart: Int
        if major == 1 {
            headerLen = head.le16(8); headerStart = 10
        } else {
            guard head.count >= 12 else { throw WeightsError.truncated(file: path, detail: "npy header") }
            headerLen = head.le32(8); headerStart = 12
        }
        guard headerLen <= file.size - headerStart else {
            throw WeightsError.truncated(file: path, detail: "npy header of \(headerLen) bytes exceeds the \(file.size)-byte file")
        }
        let header = String(decoding: try file.bytes(at: headerStart, count: headerLen), as: UTF8.self)
        let fields = try NPYHeader.parse(header, file: path)
        guard case let .string(d)? = fields["descr"], case let .bool(fortran)? = fields["fortran_order"],
              case let .ints(shape)? = fields["shape"] else {
            throw WeightsError.malformed(file: path, detail: "npy header lacks descr, fortran_order or shape: \(quoted(header))")
        }
        let dtype: DType
        switch d {
        case "<f4", "=f4": dtype = .float32
        case "<f8", "=f8": dtype = .float64
        case "<f2", "=f2": dtype = .float16
        case "<i8", "=i8": dtype = .int64
        case "<i4", "=i4": dtype = .int32
        case "<i2", "=i2": dtype = .int16
        case "|i1": dtype = .int8
        case "|u1": dtype = .uint8
        default: throw WeightsError.unsupportedFormat(file: path, detail: "npy dtype \(quoted(d, limit: 20)) (expected little-endian float or int)")
        }
        guard shape.count <= Checked.maxRank, let count = Checked.elementCount(shape, itemSize: dtype.itemSize) else {
            throw WeightsError.malformed(file: path, detail: "bad npy shape \(describe(shape)): negative, too many dims, or too large")
        }
        let dataStart = headerStart + headerLen
        guard count <= (file.size - dataStart) / dtype.itemSize else {
            throw WeightsError.truncated(file: path, detail: "npy data holds \(file.size - dataStart) bytes, shape \(describe(shape)) needs \(count * dtype.itemSize)")
        }
        // elementCount bounds the product of the non-zero sizes, so neither order's strides overflow.
        var strides = contiguousStrides(shape)
        if fortran {
            var s = 1
            strides = shape.map { let v = s; s *= $0; return v }
        }
        let t = WeightTensor(dtype: dtype, shape: shape,
                             source: .file(file, byteOffset: dataStart, numel: count, bigEndian: false),
                             offset: 0, strides: strides)
        return (shape, try t.floats(file: path, key: "array"))
    }

    /// Writes a float32 array in C order.
    public static func write(path: String, shape: [Int], values: [Float]) throws {
        precondition(values.count == shape.reduce(1, *), "npy write: shape \(shape) vs \(values.count) values")
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let n = UInt16(header.utf8.count)
        out.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)])
        out.append(contentsOf: Array(header.utf8))
        values.withUnsafeBytes { out.append(contentsOf: $0) }
        do {
            try out.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw WeightsError.unreadable(file: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}

/// The header of a `.npy` file: a Python dict literal of strings, booleans and tuples of ints, as
/// numpy writes it and reads it back with `ast.literal_eval` (so a key given twice takes its last
/// value).
enum NPYHeader {
    enum Value: Equatable {
        case string(String)
        case bool(Bool)
        case ints([Int])
    }

    static func parse(_ text: String, file: String) throws -> [String: Value] {
        var p = Parser(chars: Array(text.unicodeScalars), file: file, text: text)
        return try p.dict()
    }

    private struct Parser {
        let chars: [Unicode.Scalar]
        let file: String
        let text: String
        var i = 0

        func fail(_ what: String) -> WeightsError {
            .malformed(file: file, detail: "npy header: \(what) at character \(i) of \(quoted(text))")
        }

        mutating func skipSpace() { while i < chars.count, chars[i].properties.isWhitespace { i += 1 } }

        mutating func expect(_ c: Unicode.Scalar) throws {
            skipSpace()
            guard i < chars.count, chars[i] == c else { throw fail("expected '\(c)'") }
            i += 1
        }

        /// Consumes `c` if it comes next.
        mutating func accept(_ c: Unicode.Scalar) -> Bool {
            skipSpace()
            if i < chars.count, chars[i] == c { i += 1; return true }
            return false
        }

        mutating func dict() throws -> [String: Value] {
            try expect("{")
            var out = [String: Value]()
            while !accept("}") {
                let key = try string()
                try expect(":")
                out[key] = try value()
                if !accept(",") { try expect("}"); break }
            }
            skipSpace()
            guard i == chars.count else { throw fail("text after the dict") }
            return out
        }

        mutating func string() throws -> String {
            skipSpace()
            guard i < chars.count, chars[i] == "'" || chars[i] == "\"" else { throw fail("expected a string") }
            let quote = chars[i]
            i += 1
            var s = String.UnicodeScalarView()
            while i < chars.count, chars[i] != quote {
                if chars[i] == "\\" { i += 1; guard i < chars.count else { break } }
                s.append(chars[i])
                i += 1
            }
            guard i < chars.count else { throw fail("unterminated string") }
            i += 1
            return String(s)
        }

        mutating func value() throws -> Value {
            skipSpace()
            guard i < chars.count else { throw fail("expected a value") }
            switch chars[i] {
            case "'", "\"": return .string(try string())
            case "(":
                i += 1
                var dims = [Int]()
                while !accept(")") {
                    dims.append(try int())
                    if !accept(",") { try expect(")"); break }
                }
                return .ints(dims)
            default:
                for (word, b) in [("True", true), ("False", false)] where matches(word, at: i) {
                    i += word.unicodeScalars.count
                    return .bool(b)
                }
                throw fail("unsupported value")
            }
        }

        mutating func int() throws -> Int {
            skipSpace()
            let start = i
            if i < chars.count, chars[i] == "-" { i += 1 }
            while i < chars.count, ("0"..."9").contains(chars[i]) { i += 1 }
            let digits = String(String.UnicodeScalarView(chars[start..<i]))
            if i < chars.count, chars[i] == "L" { i += 1 }   // Python 2 long
            guard let v = Int(digits) else { throw fail("bad or too large integer") }
            return v
        }

        func matches(_ word: String, at index: Int) -> Bool {
            let w = Array(word.unicodeScalars)
            return index + w.count <= chars.count && Array(chars[index..<(index + w.count)]) == w
        }
    }
}
