import Foundation
import CPUInfo
import Kernels

/// Refuses to run, with a message, when this CPU lacks the instructions the kernels were built
/// for. Every tool calls this before any engine code runs, so an unsupported CPU gets an error
/// instead of SIGILL.
public func requireSupportedCPU(_ tool: String) {
    let ok: Bool
    switch kernelTarget {
    case "x86-64-v4": ok = replk_cpu_supports_x86_64_v4() != 0
    case "x86-64-v3": ok = replk_cpu_supports_x86_64_v3() != 0
    default: ok = true
    }
    if !ok {
        printError("\(tool): error: this build's kernels need \(kernelTarget == "x86-64-v4" ? "AVX-512 (x86-64-v4)" : "AVX2 and FMA (x86-64-v3)"), which this CPU lacks; rebuild with `REPLK_MARCH=\(kernelTarget == "x86-64-v4" ? "x86-64-v3" : "x86-64") swift build -c release`")
        exit(2)
    }
}
