#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
// Models, heads and tools name the pool of a configuration through Engine.
@_exported import class RepLKParallel.ThreadPool

/// How the engine runs a model: threads, arithmetic, depth-wise algorithm and Winograd. A value,
/// given where a model (or a single `ConvKernel`) is built; each conv keeps what it needs, so two
/// models built with different configurations run side by side in one process, each its own way.
///
/// `EngineConfiguration()` reads no environment: all online CPUs, fp32, `auto`, Winograd on.
/// `fromEnvironment()` applies the variables the tools start from (`REPLK_THREADS`,
/// `REPLK_DEPTHWISE`, `REPLK_WINOGRAD`).
///
/// Not part of it: the kernel variant (AVX-512 or AVX2 + FMA, chosen by CPUID and `REPLK_KERNELS`
/// in `RepLKKernels`). Like XNNPACK's hardware configuration it describes the machine, not a
/// choice per model: it is detected once per process, every conv must use the variant the CPU
/// runs, and the two variants' results are meant to be the same computation.
public struct EngineConfiguration: Sendable, Equatable {
    /// Threads of a conv or op, the calling thread included (at least 1). Default: all online CPUs.
    public var threads: Int
    /// The arithmetic of the convs and linear layers (bf16 only where `Precision.bf16.isSupported`).
    /// Default: fp32.
    public var precision: Precision
    /// How stride-1 depth-wise convs run. Default: `auto`.
    public var depthwise: DepthwiseAlgorithm
    /// Whether dense 3×3 stride-1 convs with at least 16 input and output channels run as Winograd
    /// F(4×4, 3×3) (differing from the direct conv by rounding only; at bf16 its products are bf16
    /// and its rounding about nine times a direct bf16 conv's). Default: true.
    public var winograd: Bool

    /// A configuration; every argument left out takes its default (all online CPUs, fp32, `auto`,
    /// Winograd on). `threads` below 1 counts as 1.
    public init(threads: Int = ThreadPool.onlineCPUCount, precision: Precision = .fp32,
                depthwise: DepthwiseAlgorithm = .auto, winograd: Bool = true) {
        self.threads = max(1, threads)
        self.precision = precision
        self.depthwise = depthwise
        self.winograd = winograd
    }

    /// The defaults as the tools start from them: `REPLK_THREADS` (a positive integer; otherwise
    /// all online CPUs), `REPLK_DEPTHWISE` (an algorithm's name; otherwise `auto`, see
    /// `DepthwiseAlgorithm.environmentValue` to refuse such a name) and `REPLK_WINOGRAD` (`0` turns
    /// Winograd off), each over the defaults of `init()`; fp32.
    public static func fromEnvironment() -> EngineConfiguration {
        var c = EngineConfiguration()
        if let env = getenv("REPLK_THREADS"), let n = Int(String(cString: env)), n > 0 { c.threads = n }
        if let name = DepthwiseAlgorithm.environmentValue, let algorithm = DepthwiseAlgorithm(rawValue: name) {
            c.depthwise = algorithm
        }
        if let v = getenv("REPLK_WINOGRAD") { c.winograd = String(cString: v) != "0" }
        return c
    }

    /// The process-wide pool of `threads` threads (`ThreadPool.shared(threads:)`): configurations
    /// with the same thread count share one pool.
    public var pool: ThreadPool { ThreadPool.shared(threads: threads) }
}
