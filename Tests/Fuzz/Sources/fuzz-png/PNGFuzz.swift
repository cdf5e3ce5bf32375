// libFuzzer target: PNG decoding (libpng through the CCodecs wrapper) by every entry point the tools
// use: Image(data:name:limits:) (RGB), and from a file Image.readLabelMap (raw samples) and Map16
// (16-bit samples). The pixel limit is lowered to 2^24 so that a big declared size is refused quickly
// (the check itself is the same at Pillow's limit); decoded images must have the size they claim.
#if canImport(Glibc)
import Glibc
#endif
import RepLKImaging

let limits = ImageLimits(maxPixels: 1 << 24)
let scratch = "/tmp/replk-fuzz-png-\(getpid()).png"

func writeScratch(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let f = fopen(scratch, "wb") else { return false }
    defer { fclose(f) }
    return bytes.isEmpty || fwrite(bytes.baseAddress, 1, bytes.count, f) == bytes.count
}

/// Runs once before fuzzing: globals are built here, outside the runs LeakSanitizer checks (a
/// lazy global first built inside a run would be reported as that run's leak).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    _ = limits
    // Foundation keeps a buffer from its first file read; make that read happen here.
    _ = scratch.withCString { unlink($0) }
    _ = writeScratch(UnsafeBufferPointer(start: nil, count: 0))
    _ = try? Image.readLabelMap(scratch, limits: limits)
    _ = try? Map16(contentsOf: scratch, limits: limits)
    unlink(scratch)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let img = try? Image(data: Array(bytes), name: "fuzz.png", limits: limits) {
        precondition(img.channels == 3 && img.pixels.count == img.width * img.height * 3, "RGB image of the wrong size")
    }
    guard writeScratch(bytes) else { return 0 }
    if let map = try? Image.readLabelMap(scratch, limits: limits) {
        precondition(map.pixels.count == map.width * map.height * map.channels, "label map of the wrong size")
    }
    if let map = try? Map16(contentsOf: scratch, limits: limits) {
        precondition(map.values.count == map.width * map.height, "16-bit map of the wrong size")
    }
    unlink(scratch)
    return 0
}
