import Foundation

/// The safetensors format: u64 header length, a JSON header, then raw little-endian C-order data.
public enum SafeTensors {
    static func dtype(_ s: String) -> DType? {
        switch s {
        case "F32": return .float32
        case "F64": return .float64
        case "F16": return .float16
        case "BF16": return .bfloat16
        case "I64": return .int64
        case "I32": return .int32
        case "I16": return .int16
        case "I8": return .int8
        case "U8": return .uint8
        case "BOOL": return .bool
        default: return nil
        }
    }

    /// Reads a safetensors file held in memory; `name` stands for the path in error messages.
    public static func read(bytes: [UInt8], name: String) throws -> StateDict {
        try read(BinaryFile(bytes: bytes, name: name))
    }

    /// Reads the tensors of a safetensors file. Every entry's shape, byte size and data offsets are
    /// checked (with checked arithmetic) against the data section, and entries may not overlap.
    public static func read(_ file: BinaryFile) throws -> StateDict {
        let path = file.path
        let claimed = try file.bytes(at: 0, count: 8).le64(0)
        guard let n = Int(exactly: claimed), n > 0, n <= file.size - 8 else {
            throw WeightsError.truncated(file: path, detail: "safetensors header length \(claimed) exceeds the file")
        }
        let header = try file.bytes(at: 8, count: n)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(header))
        } catch {
            throw WeightsError.malformed(file: path, detail: "safetensors header is not valid JSON")
        }
        guard let dict = object as? [String: Any] else {
            throw WeightsError.malformed(file: path, detail: "safetensors header is not a JSON object")
        }
        let dataStart = 8 + n
        let dataSize = file.size - dataStart
        // Keep the order of the data buffer, which is the order the writer chose.
        var entries = [(name: String, tensor: WeightTensor, start: Int, end: Int)]()
        for (name, value) in dict where name != "__metadata__" {
            guard let info = value as? [String: Any], let dt = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw WeightsError.malformed(file: path, detail: "safetensors entry \(quoted(name)) lacks dtype, shape or data_offsets")
            }
            guard let dtype = dtype(dt) else {
                throw WeightsError.unsupportedDType(file: path, key: name, dtype: String(dt.prefix(20)))
            }
            guard shape.count <= Checked.maxRank, let numel = Checked.elementCount(shape, itemSize: dtype.itemSize),
                  let bytes = Checked.mul(numel, dtype.itemSize) else {
                throw WeightsError.malformed(file: path, detail: "safetensors entry \(quoted(name)) has shape \(describe(shape)), too large or negative")
            }
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= dataSize, offsets[1] - offsets[0] == bytes else {
                throw WeightsError.malformed(file: path, detail: "safetensors entry \(quoted(name)): offsets \(offsets) do not fit shape \(describe(shape)) \(dt) in \(dataSize) data bytes")
            }
            let t = WeightTensor(dtype: dtype, shape: shape,
                                 source: .file(file, byteOffset: dataStart + offsets[0], numel: numel, bigEndian: false),
                                 offset: 0, strides: contiguousStrides(shape))
            entries.append((name, t, offsets[0], offsets[1]))
        }
        entries.sort { ($0.start, $0.end, $0.name) < ($1.start, $1.end, $1.name) }
        // The format forbids overlapping entries: two names for the same bytes.
        for (a, b) in zip(entries, entries.dropFirst()) where b.start < a.end {
            throw WeightsError.malformed(file: path, detail: "safetensors entries \(quoted(a.name)) and \(quoted(b.name)) overlap (bytes \(a.start)..<\(a.end) and \(b.start)..<\(b.end))")
        }
        var sd = StateDict()
        for e in entries { sd.insert(e.name, e.tensor) }
        return sd
    }

    /// Writes float32 tensors (in the given order) with optional string metadata.
    public static func write(_ tensors: [(name: String, shape: [Int], values: [Float])],
                             metadata: [String: String] = [:], to path: String) throws {
        var header = "{"
        var parts = [String]()
        if !metadata.isEmpty {
            let m = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            parts.append("\"__metadata__\":{\(m.joined(separator: ","))}")
        }
        var offset = 0
        for t in tensors {
            precondition(t.values.count == t.shape.reduce(1, *), "tensor \(t.name): shape \(t.shape) vs \(t.values.count) values")
            let end = offset + t.values.count * 4
            parts.append("\(jsonString(t.name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var out = Data()
        var n = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for t in tensors { t.values.withUnsafeBytes { out.append(contentsOf: $0) } }
        do {
            try out.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw WeightsError.unreadable(file: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if u.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16) }
            else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
