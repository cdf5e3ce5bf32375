// libFuzzer target: safetensors files, through SafeTensors.read(bytes:name:) and Checkpoint(bytes:name:)
// (the tools' path), reading every tensor as floats.
import RepLKWeights

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let sd = try? SafeTensors.read(bytes: bytes, name: "fuzz.safetensors") {
        _ = sd.parameterCount
        for key in sd.keys { _ = try? sd[key]?.floats(file: "fuzz.safetensors", key: key) }
    }
    if let checkpoint = try? Checkpoint(bytes: bytes, name: "fuzz.safetensors"), let sd = try? checkpoint.stateDict() {
        for key in sd.keys { _ = try? sd[key]?.floats(file: checkpoint.path, key: key) }
    }
    return 0
}
