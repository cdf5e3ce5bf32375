/// Where a tensor's bytes live.
enum TensorSource {
    /// A region of a file: `numel` elements of `dtype` starting at `byteOffset`.
    case file(BinaryFile, byteOffset: Int, numel: Int, bigEndian: Bool)
    /// Float32 values held in memory, C-contiguous.
    case floats([Float])
    /// Int64 values held in memory, C-contiguous.
    case ints([Int64])
    /// A storage the archive lacks (named by key): reading it is an error.
    case missing(String)
}

/// One named tensor of a checkpoint: dtype, shape, and a strided view of its storage. Values are
/// read on demand, so an unused tensor never costs memory.
public struct WeightTensor {
    /// The element type as stored; `floats(file:key:)` converts every type but `bool` to float32.
    public let dtype: DType
    /// Size of each dimension, outermost first, as PyTorch lists it (e.g. `[out, in, kH, kW]` for a
    /// convolution weight); empty for a scalar.
    public let shape: [Int]
    let source: TensorSource
    /// Element offset and strides into the source.
    let offset: Int
    let strides: [Int]

    /// The number of elements: the product of `shape` (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }

    init(dtype: DType, shape: [Int], source: TensorSource, offset: Int, strides: [Int]) {
        self.dtype = dtype; self.shape = shape; self.source = source; self.offset = offset; self.strides = strides
    }

    /// An in-memory float32 tensor.
    public init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "shape \(shape) does not hold \(values.count) values")
        self.init(dtype: .float32, shape: shape, source: .floats(values), offset: 0, strides: contiguousStrides(shape))
    }

    /// An in-memory int64 tensor.
    public init(shape: [Int], int64Values: [Int64]) {
        self.init(dtype: .int64, shape: shape, source: .ints(int64Values), offset: 0, strides: contiguousStrides(shape))
    }

    /// True when the elements are stored densely in C order.
    public var isContiguous: Bool { strides == contiguousStrides(shape) || count <= 1 }

    /// The values as float32 in C order (float16, bfloat16, float64 and integers converted).
    public func floats(file: String, key: String) throws -> [Float] {
        switch source {
        case let .missing(storage):
            throw WeightsError.truncated(file: file, detail: "tensor '\(key)' refers to storage '\(storage)', which the archive does not contain")
        case let .floats(v):
            return gather(count: count) { v[$0] }
        case let .ints(v):
            return gather(count: count) { Float(v[$0]) }
        case let .file(f, byteOffset, numel, bigEndian):
            if dtype == .bool { throw WeightsError.unsupportedDType(file: file, key: key, dtype: dtype.rawValue) }
            // The view's extent is checked against the storage before anything is allocated.
            guard let count = Checked.elementCount(shape),
                  let hi = Checked.lastElement(offset: offset, shape: shape, strides: strides) else {
                throw WeightsError.malformed(file: file, detail: "tensor '\(key)' has an impossible view (offset \(offset), shape \(describe(shape)), strides \(describe(strides)))")
            }
            guard count == 0 || hi < numel else {
                throw WeightsError.malformed(file: file, detail: "tensor '\(key)' reads past its storage (\(hi) + 1 > \(numel) elements)")
            }
            // A view may repeat storage elements (stride 0, as expand() saves), but not into more
            // elements than the file has bytes.
            guard count <= max(numel, f.size) else {
                throw WeightsError.malformed(file: file, detail: "tensor '\(key)' repeats \(numel) storage elements into \(count), more than the file's \(f.size) bytes")
            }
            if count == 0 { return [] }
            let lo = offset
            let n = hi - lo + 1
            let size = dtype.itemSize
            var raw = try f.bytes(at: byteOffset + lo * size, count: n * size)
            if bigEndian && size > 1 {
                for i in 0..<n { raw[(i * size)..<((i + 1) * size)].reverse() }
            }
            let base = offset - lo
            return raw.withUnsafeBytes { buf -> [Float] in
                switch dtype {
                case .float32:
                    let p = buf.bindMemory(to: Float.self)
                    if isContiguous { return Array(p) }
                    return gather(count: count, base: base) { p[$0] }
                case .float64:
                    let p = buf.bindMemory(to: Double.self)
                    return gather(count: count, base: base) { Float(p[$0]) }
                case .float16:
                    let p = buf.bindMemory(to: UInt16.self)
                    return gather(count: count, base: base) { halfToFloat(p[$0]) }
                case .bfloat16:
                    let p = buf.bindMemory(to: UInt16.self)
                    return gather(count: count, base: base) { Float(bitPattern: UInt32(p[$0]) << 16) }
                case .int64:
                    let p = buf.bindMemory(to: Int64.self)
                    return gather(count: count, base: base) { Float(p[$0]) }
                case .int32:
                    let p = buf.bindMemory(to: Int32.self)
                    return gather(count: count, base: base) { Float(p[$0]) }
                case .int16:
                    let p = buf.bindMemory(to: Int16.self)
                    return gather(count: count, base: base) { Float(p[$0]) }
                case .int8:
                    let p = buf.bindMemory(to: Int8.self)
                    return gather(count: count, base: base) { Float(p[$0]) }
                case .uint8:
                    let p = buf.bindMemory(to: UInt8.self)
                    return gather(count: count, base: base) { Float(p[$0]) }
                case .bool:
                    return []
                }
            }
        }
    }

    /// Walks the view in C order, calling `element(storageIndex - lo)`.
    private func gather(count: Int, base: Int? = nil, _ element: (Int) -> Float) -> [Float] {
        let start = base ?? offset
        var out = [Float](repeating: 0, count: count)
        if count == 0 { return out }
        let rank = shape.count
        if rank == 0 { out[0] = element(start); return out }
        var index = [Int](repeating: 0, count: rank)
        var pos = start
        for i in 0..<count {
            out[i] = element(pos)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                pos += strides[d]
                if index[d] < shape[d] { break }
                pos -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }
}

/// A shape or stride list for an error message, shortened when a hostile file makes it long.
func describe(_ dims: [Int]) -> String {
    dims.count <= 8 ? "\(dims)" : "[" + dims.prefix(8).map(String.init).joined(separator: ", ") + ", … (\(dims.count) dims)]"
}

func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) { strides[i] = s; s *= shape[i] }
    return strides
}

/// IEEE half → float.
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exp = Int((h >> 10) & 0x1F)
    let mant = UInt32(h & 0x3FF)
    if exp == 0 {
        if mant == 0 { return Float(bitPattern: sign) }
        let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
}

/// Named tensors in file order.
public struct StateDict {
    /// The keys in insertion order (the file's order for a loaded checkpoint).
    public private(set) var keys: [String] = []
    private var tensors: [String: WeightTensor] = [:]

    /// An empty state dict.
    public init() {}

    /// The tensor stored under `key`, or nil.
    public subscript(_ key: String) -> WeightTensor? { tensors[key] }
    /// The number of tensors.
    public var count: Int { keys.count }

    /// Stores `tensor` under `key`. A new key goes last in `keys`; replacing a key keeps its place.
    public mutating func insert(_ key: String, _ tensor: WeightTensor) {
        if tensors[key] == nil { keys.append(key) }
        tensors[key] = tensor
    }

    /// Removes `key` and its tensor; does nothing when `key` is absent.
    public mutating func remove(_ key: String) {
        if tensors.removeValue(forKey: key) != nil { keys.removeAll { $0 == key } }
    }

    /// The entries whose key starts with `prefix`, with the prefix removed.
    public func stripping(prefix: String) -> StateDict {
        var out = StateDict()
        for k in keys where k.hasPrefix(prefix) { out.insert(String(k.dropFirst(prefix.count)), tensors[k]!) }
        return out
    }

    /// Total number of elements (Int.max if that does not fit).
    public var parameterCount: Int { keys.reduce(0) { Checked.add($0, tensors[$1]!.count) ?? .max } }
}
