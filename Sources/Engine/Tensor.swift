#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// 64-byte aligned float32 storage shared by tensors until one of them writes.
package final class TensorStorage {
    package let count: Int
    package let pointer: UnsafeMutablePointer<Float>
    private let capacityBytes: Int

    /// Allocates `count` floats. The contents are undefined unless `zeroed`.
    package init(count: Int, zeroed: Bool = false) {
        precondition(count >= 0, "negative tensor size")
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw: UnsafeMutableRawPointer
        if let (cached, capacity) = LargeBufferCache.shared.take(bytes) {
            raw = cached
            capacityBytes = capacity
        } else {
            capacityBytes = LargeBufferCache.capacity(for: bytes)
            var p: UnsafeMutableRawPointer?
            let rc = posix_memalign(&p, 64, capacityBytes)
            guard rc == 0, let p else { fatalError("out of memory allocating \(bytes) bytes for a tensor") }
            raw = p
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { memset(raw, 0, bytes) }
    }

    deinit {
        if !LargeBufferCache.shared.put(UnsafeMutableRawPointer(pointer), capacityBytes) { free(pointer) }
    }
}

/// Keeps freed buffers of 32 MB and more for reuse. malloc hands out buffers that large as fresh
/// `mmap`s, so every one of them page-faults and is zeroed by the kernel on first touch: for
/// UperNet at 512² that was about 150 000 faults per forward pass. Sizes are rounded up to a
/// quarter power of two so that similar requests share buffers; at most 1 GB (and at most a
/// sixteenth of the machine's memory) is kept, and the kept buffers count in the peak RSS. With
/// 256 MB UperNet at 512² still took about 140 000 faults per pass (its large buffers add up to
/// more than 512 MB) and ran 1.1–1.2× slower; Cascade at 1333×800 likewise (peak RSS 1.45 → 1.85 GB).
final class LargeBufferCache: @unchecked Sendable {
    static let shared = LargeBufferCache()
    static let threshold = 32 << 20
    static let limit: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        let memory = pages > 0 && pageSize > 0 ? pages * pageSize : 4 << 30
        return min(1 << 30, memory / 16)
    }()

    private let lock = NSLockLike()
    private var buffers: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []
    private var kept = 0

    /// Bytes actually allocated for a request of `bytes`.
    static func capacity(for bytes: Int) -> Int {
        guard bytes >= threshold else { return bytes }
        var step = 1 << (Int.bitWidth - 1 - bytes.leadingZeroBitCount - 2)   // a quarter of the power of two below
        step = max(step, 1 << 20)
        return (bytes + step - 1) / step * step
    }

    /// A kept buffer of exactly the capacity `bytes` rounds to, if there is one.
    func take(_ bytes: Int) -> (UnsafeMutableRawPointer, Int)? {
        guard bytes >= LargeBufferCache.threshold else { return nil }
        let want = LargeBufferCache.capacity(for: bytes)
        return lock.locked {
            guard let i = buffers.lastIndex(where: { $0.bytes == want }) else { return nil }
            let b = buffers.remove(at: i)
            kept -= b.bytes
            return (b.pointer, b.bytes)
        }
    }

    /// Keeps a buffer for reuse; false when it is small or the cache is full (the caller frees it).
    func put(_ p: UnsafeMutableRawPointer, _ bytes: Int) -> Bool {
        guard bytes >= LargeBufferCache.threshold else { return false }
        return lock.locked {
            if kept + bytes > LargeBufferCache.limit {
                // Make room by dropping the oldest kept buffers.
                while let first = buffers.first, kept + bytes > LargeBufferCache.limit {
                    free(first.pointer)
                    kept -= first.bytes
                    buffers.removeFirst()
                }
                if kept + bytes > LargeBufferCache.limit { return false }
            }
            buffers.append((p, bytes))
            kept += bytes
            return true
        }
    }
}

/// A dense float32 tensor: a value type over copy-on-write storage.
///
/// Four-dimensional activations use one layout everywhere in the engine: NHWC
/// (`shape = [batch, height, width, channels]`). PyTorch's NCHW arrays are converted once, at the
/// boundary (`fromNCHW`, `toNCHW`).
public struct Tensor {
    /// The size of each dimension, outermost first; four-dimensional activations are NHWC
    /// `[batch, height, width, channels]`.
    public private(set) var shape: [Int]
    package private(set) var storage: TensorStorage

    /// A tensor of `shape` whose contents are undefined (every kernel that produces one writes all of it).
    public init(uninitializedShape shape: [Int]) {
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *))
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *), zeroed: true)
    }

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(uninitializedShape: shape)
        storage.pointer.update(repeating: value, count: count)
    }

    /// A tensor holding `values` in row-major order.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.init(uninitializedShape: shape)
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    /// Number of elements.
    public var count: Int { storage.count }
    /// Number of dimensions (`shape.count`).
    public var rank: Int { shape.count }

    /// Read access to the elements in row-major order.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Write access; copies the storage first if another tensor shares it.
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            let copy = TensorStorage(count: count)
            copy.pointer.update(from: storage.pointer, count: count)
            storage = copy
        }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Elements as an array, row-major.
    public var scalars: [Float] { withUnsafeBufferPointer { Array($0) } }

    /// Element at a multi-index.
    public subscript(_ index: Int...) -> Float {
        get { storage.pointer[flatIndex(index)] }
        set {
            let i = flatIndex(index)
            withUnsafeMutableBufferPointer { $0[i] = newValue }
        }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index rank \(index.count) for a tensor of rank \(shape.count)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "index \(index) out of range for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    /// The same elements viewed with another shape of equal size (shares storage).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        var t = self
        t.shape = newShape
        return t
    }

    // NHWC accessors.
    /// Batch size N of an NHWC tensor (`shape[0]`).
    public var batch: Int { shape[0] }
    /// Height H of an NHWC tensor in pixels (`shape[1]`).
    public var height: Int { shape[1] }
    /// Width W of an NHWC tensor in pixels (`shape[2]`).
    public var width: Int { shape[2] }
    /// Channel count C of an NHWC tensor (`shape[3]`).
    public var channels: Int { shape[3] }

    /// Converts a row-major NCHW array to an NHWC tensor.
    public static func fromNCHW(_ values: UnsafeBufferPointer<Float>, n: Int, c: Int, h: Int, w: Int) -> Tensor {
        precondition(values.count == n * c * h * w, "NCHW buffer has \(values.count) values, expected \(n * c * h * w)")
        let t = Tensor(uninitializedShape: [n, h, w, c])
        let dst = t.storage.pointer
        for b in 0..<n {
            for ch in 0..<c {
                let src = values.baseAddress! + (b * c + ch) * h * w
                for i in 0..<(h * w) { dst[(b * h * w + i) * c + ch] = src[i] }
            }
        }
        return t
    }

    /// Converts a rank-4 NHWC tensor to a row-major NCHW array.
    public func toNCHW() -> [Float] {
        precondition(rank == 4, "toNCHW needs a rank-4 tensor, got \(shape)")
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        var out = [Float](repeating: 0, count: count)
        let src = storage.pointer
        out.withUnsafeMutableBufferPointer { dst in
            for b in 0..<n {
                for i in 0..<(h * w) {
                    let s = src + (b * h * w + i) * c
                    for ch in 0..<c { dst[(b * c + ch) * h * w + i] = s[ch] }
                }
            }
        }
        return out
    }
}

extension Tensor: CustomStringConvertible {
    /// The shape only, as `Tensor([1, 56, 56, 128])`; the elements are not printed.
    public var description: String { "Tensor(\(shape))" }
}
