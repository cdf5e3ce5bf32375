import RepLKLayers

/// Binds tensors to a model by key path. Every lookup checks the shape; keys that are never taken
/// are reported by `finish`, so a checkpoint for another architecture fails loudly instead of
/// running with silently ignored weights.
public final class WeightBinder {
    /// The checkpoint's path, used in error messages.
    public let file: String
    /// The tensors being bound.
    public let stateDict: StateDict
    private var used = Set<String>()

    /// A binder over `stateDict`, with `file` named in its errors.
    public init(_ stateDict: StateDict, file: String) {
        self.stateDict = stateDict
        self.file = file
    }

    /// Whether `key` is present (does not mark it used).
    public func contains(_ key: String) -> Bool { stateDict[key] != nil }

    /// Shape of a key, if present.
    public func shape(_ key: String) -> [Int]? { stateDict[key]?.shape }

    /// The values of `key` as float32, checked against `shape`.
    public func floats(_ key: String, shape: [Int]) throws -> [Float] {
        guard let t = stateDict[key] else { throw WeightsError.missingKey(file: file, key: key, expectedShape: shape) }
        guard t.shape == shape else { throw WeightsError.shapeMismatch(file: file, key: key, expected: shape, found: t.shape) }
        used.insert(key)
        return try t.floats(file: file, key: key)
    }

    /// The shape that must be present (for reading a hyper-parameter off a tensor).
    public func requireShape(_ key: String, rank: Int) throws -> [Int] {
        guard let t = stateDict[key] else { throw WeightsError.missingKey(file: file, key: key, expectedShape: nil) }
        guard t.shape.count == rank else {
            throw WeightsError.invalidModel(file: file, detail: "key '\(key)' has shape \(t.shape), expected rank \(rank)")
        }
        return t.shape
    }

    /// A BatchNorm at `prefix` (`.weight`, `.bias`, `.running_mean`, `.running_var`).
    public func batchNorm(_ prefix: String, channels: Int, eps: Float = 1e-5) throws -> BatchNorm {
        BatchNorm(weight: try floats(prefix + ".weight", shape: [channels]),
                  bias: try floats(prefix + ".bias", shape: [channels]),
                  runningMean: try floats(prefix + ".running_mean", shape: [channels]),
                  runningVar: try floats(prefix + ".running_var", shape: [channels]), eps: eps)
    }

    /// Keys never taken, minus those under `ignoring` prefixes.
    public func unusedKeys(ignoring prefixes: [String] = []) -> [String] {
        stateDict.keys.filter { k in !used.contains(k) && !prefixes.contains { k.hasPrefix($0) } }
    }

    /// Marks keys as deliberately not used (e.g. an auxiliary head read for completeness).
    public func markUsed(prefix: String) {
        for k in stateDict.keys where k.hasPrefix(prefix) { used.insert(k) }
    }

    /// Fails when any key was left unused (outside `ignoring`).
    public func finish(ignoring prefixes: [String] = []) throws {
        let unused = unusedKeys(ignoring: prefixes)
        if !unused.isEmpty { throw WeightsError.unusedKeys(file: file, keys: unused) }
    }
}
