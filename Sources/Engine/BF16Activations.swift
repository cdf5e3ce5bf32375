import RepLKKernels

/// An NHWC activation map kept in bf16 between two bf16 1×1 convs (`ConvKernel.bf16Output`, then
/// `ConvKernel.callAsFunction(_:activation:residual:pool:)` on it).
///
/// The second conv rounds its input to bf16 as it packs it anyway, so keeping the map in bf16
/// changes no result; it halves the bytes written, read, and passed between cores.
/// The values are fixed once made.
public struct BF16Activations {
    /// `[batch, height, width, channels]`.
    public let shape: [Int]
    let storage: TensorStorage

    /// Uninitialised room for `shape`'s values, two to each float of the storage.
    init(uninitializedShape shape: [Int]) {
        precondition(shape.count == 4 && shape.allSatisfy { $0 >= 0 }, "bf16 activations are NHWC, got \(shape)")
        self.shape = shape
        storage = TensorStorage(count: (shape.reduce(1, *) + 1) / 2)
    }

    /// Images.
    public var batch: Int { shape[0] }
    /// Rows.
    public var height: Int { shape[1] }
    /// Columns.
    public var width: Int { shape[2] }
    /// Channels.
    public var channels: Int { shape[3] }
    /// Number of values.
    public var count: Int { shape.reduce(1, *) }

    var pointer: UnsafeMutablePointer<UInt16> {
        UnsafeMutableRawPointer(storage.pointer).assumingMemoryBound(to: UInt16.self)
    }

    /// The values widened to float32 (exactly), in NHWC order.
    public var scalars: [Float] { (0..<count).map { bf16Value(pointer[$0]) } }

    /// The map widened to float32: the tensor whose bf16 rounding this is.
    public func tensor() -> Tensor { Tensor(shape: shape, values: scalars) }
}
