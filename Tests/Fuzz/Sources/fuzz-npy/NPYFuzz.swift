// libFuzzer target: numpy .npy files (v1–v3 headers, dtypes, C and Fortran order) through NPY.read(bytes:name:).
import RepLKWeights

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let (shape, values) = try? NPY.read(bytes: bytes, name: "fuzz.npy") {
        // The element count must be what the shape says.
        let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
        precondition(count == values.count, "NPY.read returned \(values.count) values for shape \(shape)")
    }
    return 0
}
