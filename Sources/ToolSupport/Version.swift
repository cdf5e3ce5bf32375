import RepLKEngine
import RepLKKernels
import RepLKRecords

/// What `--version` prints for `tool`: the engine version, the kernel build chosen on this CPU
/// (or forced by `REPLK_KERNELS`) and whether `--precision bf16` runs here.
public func toolVersion(_ tool: String) -> String {
    let kernels: String
    switch kernelVariant {
    case .v4?: kernels = "x86-64-v4 (AVX-512)"
    case .v3?: kernels = "x86-64-v3 (AVX2 + FMA)"
    case nil: kernels = "none (this CPU lacks AVX2 and FMA)"
    }
    let bf16 = Precision.bf16.isSupported ? "available" : "not available"
    return "\(tool) \(engineVersion) (RepLK engine \(engineVersion)); kernels: \(kernels), chosen on this CPU; bf16: \(bf16)"
}
