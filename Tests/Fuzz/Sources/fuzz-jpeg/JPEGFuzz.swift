// libFuzzer target: JPEG decoding (libjpeg through the CCodecs wrapper) by Image(data:name:limits:),
// with the pixel limit lowered to 2^24 so that a big declared size is refused quickly (the check
// itself is the same at Pillow's limit); a decoded image must have the size it claims.
import RepLKImaging

let limits = ImageLimits(maxPixels: 1 << 24)

/// Runs once before fuzzing: globals are built here, outside the runs LeakSanitizer checks (a
/// lazy global first built inside a run would be reported as that run's leak).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    _ = limits
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let img = try? Image(data: bytes, name: "fuzz.jpg", limits: limits) {
        precondition(img.channels == 3 && img.pixels.count == img.width * img.height * 3, "RGB image of the wrong size")
        precondition(img.width * img.height <= limits.maxPixels, "image above the pixel limit decoded")
    }
    return 0
}
