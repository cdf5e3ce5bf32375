// libFuzzer target: pre-1.6 torch.save checkpoints (magic number, protocol, sys_info, the object,
// storage keys, then each storage's element count and raw bytes), through Checkpoint(bytes:name:)
// like the .pth target, seeded with legacy files so that mutations stay in that format.
import RepLKWeights

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let checkpoint = try? Checkpoint(bytes: bytes, name: "fuzz-legacy.pth") else { return 0 }
    for variant in [StateDictVariant.model, .ema] {
        guard let sd = try? checkpoint.stateDict(variant) else { continue }
        _ = sd.parameterCount
        for key in sd.keys { _ = try? sd[key]?.floats(file: checkpoint.path, key: key) }
    }
    return 0
}
