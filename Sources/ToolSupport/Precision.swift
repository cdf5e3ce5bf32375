import ArgumentParser
import Foundation
import RepLKEngine
import RepLKKernels

extension Precision: ExpressibleByArgument {}

/// The help of the tools' `--precision` option.
public let precisionOptionHelp = ArgumentHelp(
    "Arithmetic of the convs and linear layers: fp32 (the reference digits) or bf16 (bf16 operands, float32 sums; AVX512_BF16 CPUs only, about twice as fast; Winograd 3×3 convs too, their products in bf16; resizes, softmax, RoIAlign, NMS and the metrics stay float32).",
    valueName: "precision")

/// Refuses to run, as `requireSupportedCPU` does, when this CPU cannot run `precision`: one line
/// naming the missing CPU feature, exit 2 (never SIGILL). The tools call it from their options'
/// `validate()`, so that it comes before any file is read.
public func requirePrecision(_ precision: Precision, tool: String) {
    if let reason = precision.unsupportedReason {
        printError("\(tool): error: \(reason)")
        exit(2)
    }
}

/// Records the precision in a resume journal's settings when it is not fp32, so that an
/// evaluation is not resumed at another precision (journals of fp32 runs stay as they were).
public func recordPrecision(_ precision: Precision, in settings: inout [String: Any]) {
    if precision != .fp32 { settings["precision"] = precision.rawValue }
}
