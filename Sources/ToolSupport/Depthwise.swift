import ArgumentParser
import RepLKEngine

extension DepthwiseAlgorithm: ExpressibleByArgument {}

/// The help of the tools' `--depthwise` option.
public let depthwiseOptionHelp = ArgumentHelp(
    "Depth-wise conv algorithm: auto (direct tiles, the rounding the reference tables were reproduced with), bands, strips, fft (FFT tiles where they pay: large kernels on large maps, faster there, rounded differently), fft-all. Default: REPLK_DEPTHWISE, else auto.",
    valueName: "algorithm")

/// Applies `--depthwise` when given; otherwise checks `REPLK_DEPTHWISE`, which the engine read at
/// start-up: a name that is not an algorithm is refused rather than quietly run as `auto`.
public func configureDepthwise(_ algorithm: DepthwiseAlgorithm?) throws {
    if let algorithm {
        ConvKernel.depthwiseAlgorithm = algorithm
        return
    }
    if let env = DepthwiseAlgorithm.environmentValue, DepthwiseAlgorithm(rawValue: env) == nil {
        let names = DepthwiseAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
        throw ToolError.setting("REPLK_DEPTHWISE=\(env) is not a depth-wise algorithm (\(names))")
    }
}

/// Records the depth-wise algorithm in a resume journal's settings when it is not `auto`, so that
/// an evaluation is not resumed with another rounding (journals of `auto` runs stay as they were).
public func recordDepthwise(in settings: inout [String: Any]) {
    if ConvKernel.depthwiseAlgorithm != .auto { settings["depthwise"] = ConvKernel.depthwiseAlgorithm.rawValue }
}
