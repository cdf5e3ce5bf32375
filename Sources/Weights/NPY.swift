import Foundation

/// NumPy `.npy` arrays (format versions 1–3), read as float32 and written as little-endian float32.
public enum NPY {
    /// Reads an array; float64, float16, and integer arrays are converted to float32.
    public static func read(path: String) throws -> (shape: [Int], values: [Float]) {
        let file = try BinaryFile(path: path)
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
        let header = String(decoding: try file.bytes(at: headerStart, count: headerLen), as: UTF8.self)
        guard let descr = field(header, "descr"), let fortran = field(header, "fortran_order"),
              let shapeText = field(header, "shape") else {
            throw WeightsError.malformed(file: path, detail: "npy header lacks descr, fortran_order or shape: \(header)")
        }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape = [Int]()
        for d in dims {
            guard let v = Int(d), v >= 0 else { throw WeightsError.malformed(file: path, detail: "bad npy shape \(shapeText)") }
            shape.append(v)
        }
        let dtype: DType
        let d = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        switch d {
        case "<f4", "=f4": dtype = .float32
        case "<f8", "=f8": dtype = .float64
        case "<f2", "=f2": dtype = .float16
        case "<i8", "=i8": dtype = .int64
        case "<i4", "=i4": dtype = .int32
        case "<i2", "=i2": dtype = .int16
        case "|i1": dtype = .int8
        case "|u1": dtype = .uint8
        default: throw WeightsError.unsupportedFormat(file: path, detail: "npy dtype \(d) (expected little-endian float or int)")
        }
        let count = shape.reduce(1, *)
        let dataStart = headerStart + headerLen
        guard file.size - dataStart >= count * dtype.itemSize else {
            throw WeightsError.truncated(file: path, detail: "npy data holds \(file.size - dataStart) bytes, shape \(shape) needs \(count * dtype.itemSize)")
        }
        var strides = contiguousStrides(shape)
        if fortran.trimmingCharacters(in: .whitespaces) == "True" {
            var s = 1
            strides = shape.map { let v = s; s *= $0; return v }
        }
        let t = WeightTensor(dtype: dtype, shape: shape,
                             source: .file(file, byteOffset: dataStart, numel: count, bigEndian: false),
                             offset: 0, strides: strides)
        return (shape, try t.floats(file: path, key: "array"))
    }

    private static func field(_ header: String, _ name: String) -> String? {
        guard let r = header.range(of: "'\(name)':") else { return nil }
        let rest = header[r.upperBound...].trimmingCharacters(in: .whitespaces)
        if rest.hasPrefix("(") {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) ?? rest.endIndex
        return String(rest[..<end])
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
