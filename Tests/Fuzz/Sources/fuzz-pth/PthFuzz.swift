// libFuzzer target: torch.save ZIP checkpoints (.pth) and the pickle subset inside them.
// The input goes through Checkpoint(bytes:name:) (which opens the ZIP with ZipArchive and unpickles
// data.pkl), then both state dicts are built and every tensor is read as floats, as the tools do.
// An input that is not a ZIP is also unpickled directly (Pickle.load), so raw pickles are fuzzed too.
// A thrown error is a pass; a trap, a crash, a leak, a timeout or an allocation past -rss_limit_mb fails.
import RepLKWeights

func readAllTensors(_ checkpoint: Checkpoint) {
    for variant in [StateDictVariant.model, .ema] {
        guard let sd = try? checkpoint.stateDict(variant) else { continue }
        _ = sd.parameterCount
        for key in sd.keys { _ = try? sd[key]?.floats(file: checkpoint.path, key: key) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let checkpoint = try? Checkpoint(bytes: bytes, name: "fuzz.pth") { readAllTensors(checkpoint) }
    if !bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) { _ = try? Pickle.load(bytes, file: "fuzz.pkl") }
    return 0
}
