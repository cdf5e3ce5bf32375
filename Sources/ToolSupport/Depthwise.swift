import ArgumentParser
import RepLKEngine

extension DepthwiseAlgorithm: ExpressibleByArgument {}

/// The help of the tools' `--depthwise` option.
public let depthwiseOptionHelp = ArgumentHelp(
    "Depth-wise conv algorithm: auto (direct tiles, the rounding the reference tables were reproduced with), bands, strips, fft (FFT tiles where they pay: large kernels on large maps, faster there, rounded differently), fft-all. Default: REPLK_DEPTHWISE, else auto.",
    valueName: "algorithm")

/// The engine configuration of a tool run: `EngineConfiguration.fromEnvironment()` (`REPLK_THREADS`,
/// `REPLK_DEPTHWISE`, `REPLK_WINOGRAD`) with the options given over it: `--threads` (nil or 0:
/// the environment's, else all online CPUs), `--depthwise` (nil: the environment's, else `auto`)
/// and `--precision` (default fp32). Without `--depthwise`, a `REPLK_DEPTHWISE` that names no
/// algorithm is a setting error (`ToolError.setting`, exit 2) rather than quietly run as `auto`.
public func engineConfiguration(threads: Int?, depthwise: DepthwiseAlgorithm?,
                                precision: Precision = .fp32) throws -> EngineConfiguration {
    var engine = EngineConfiguration.fromEnvironment()
    if let threads, threads > 0 { engine.threads = threads }
    if let depthwise {
        engine.depthwise = depthwise
    } else if let env = DepthwiseAlgorithm.environmentValue, DepthwiseAlgorithm(rawValue: env) == nil {
        let names = DepthwiseAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
        throw ToolError.setting("REPLK_DEPTHWISE=\(env) is not a depth-wise algorithm (\(names))")
    }
    engine.precision = precision
    return engine
}

/// Records the depth-wise algorithm of `engine` in a resume journal's settings when it is not
/// `auto`, so that an evaluation is not resumed with another rounding (journals of `auto` runs
/// stay as they were).
public func recordDepthwise(_ engine: EngineConfiguration, in settings: inout [String: Any]) {
    if engine.depthwise != .auto { settings["depthwise"] = engine.depthwise.rawValue }
}
