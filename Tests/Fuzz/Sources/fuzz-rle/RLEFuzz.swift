// libFuzzer target: COCO masks. Input: byte 0 picks the mode, bytes 1–4 are the mask's height and
// width (little-endian UInt16 each; mode bit 5 clear: taken modulo 1024, so that most inputs are
// masks small enough to run hundreds of times a second; set: up to 65535², past RLE.maxPixels), the
// rest is the payload.
//   mode bit 0 = 0: the payload is a compressed counts string, decoded by RLE(compressedCounts:height:width:);
//                   a mask that decodes must re-encode to a string that decodes to the same runs, and
//                   its decoded pixels, area, bounding box, union and intersection with itself must agree.
//   mode bit 0 = 1: the payload is polygon coordinates, as raw little-endian Doubles (mode bit 1 = 0:
//                   NaN, ±inf and huge values come through) or as Int16 / 4 (bit 1 = 1: coordinates
//                   near the image), split into 1–4 rings (mode bits 2–3); rasterised by RLE.polygons,
//                   its first four as a box by RLE.box, and both compared with a box detection.
// Checks that fail call fatalError (its message is kept in release builds), which libFuzzer reports
// as a crash.
import RepLKEval

func check(_ ok: Bool, _ what: @autoclosure () -> String) {
    if !ok { fatalError(what()) }
}

/// Consistency checks of a decoded or rasterised mask.
func checkMask(_ r: RLE, _ origin: String) {
    let pixels = r.height * r.width
    check(r.area >= 0 && r.area <= pixels, "\(origin): area \(r.area) outside 0...\(pixels)")
    check(r.counts.reduce(0) { $0 + Int($1) } == pixels, "\(origin): runs do not add up to \(r.height)×\(r.width)")
    let again = RLE(compressed: r.compressedString, height: r.height, width: r.width)
    check(again == r, "\(origin): compressedString does not decode back to the same runs")
    let box = r.boundingBox
    // pycocotools computes the box in `uint`: a mask whose runs are all empty keeps the start values
    // and its width and height wrap (RLE.boundingBox does the same); any other box lies in the image.
    check(box.count == 4 && box.allSatisfy { $0.isFinite && $0 >= 0 && $0 < 4294967296 }, "\(origin): bounding box \(box)")
    if r.area > 0 {
        check(box[0] + box[2] <= Double(r.width) && box[1] + box[3] <= Double(r.height) && box[2] >= 1 && box[3] >= 1,
              "\(origin): bounding box \(box) of a non-empty mask leaves the \(r.width)×\(r.height) image")
    }
    // pycocotools' rleMerge stops where both masks reach a zero-length run at once (its loop ends when
    // the remaining counts sum to 0), so a mask with an inner zero run merged with itself loses the
    // rest (RLE.merge does the same; EvalTests/FuzzRegressionTests pins one such case): check only
    // masks without one.
    let union = RLE.merge([r, r]), intersection = RLE.merge([r, r], intersect: true)
    check(r.counts.dropFirst().contains(0) || (union.area == r.area && intersection.area == r.area),
          "\(origin): a mask merged with itself changes its area: \(r.area) → union \(union.area), intersection \(intersection.area) (counts \(r.counts.prefix(40)))")
    if pixels <= 1 << 20 {
        let mask = r.decode()
        check(mask.count == pixels && mask.reduce(0) { $0 + Int($1) } == r.area, "\(origin): decode() disagrees with area")
    }
    if r.area > 0 {
        let iou = maskIoU(r, dBox: box, r, gBox: box, crowd: false)
        check(iou == 1, "\(origin): a mask's IoU with itself is \(iou)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 5 else { return 0 }
    let mode = data[0]
    var h = Int(data[1]) | Int(data[2]) << 8
    var w = Int(data[3]) | Int(data[4]) << 8
    if mode & 0x20 == 0 { h %= 1024; w %= 1024 }
    let payload = UnsafeBufferPointer(start: data + 5, count: size - 5)
    if mode & 1 == 0 {
        if let r = RLE(compressedCounts: payload, height: h, width: w) { checkMask(r, "counts \(h)×\(w)") }
        return 0
    }
    var xy = [Double]()
    if mode & 2 == 0 {
        xy = stride(from: 0, to: payload.count - 7, by: 8).map { i in
            var bits: UInt64 = 0
            for k in 0..<8 { bits |= UInt64(payload[i + k]) << (8 * k) }
            return Double(bitPattern: bits)
        }
    } else {
        xy = stride(from: 0, to: payload.count - 1, by: 2).map { i in
            Double(Int16(bitPattern: UInt16(payload[i]) | UInt16(payload[i + 1]) << 8)) / 4
        }
    }
    let ringCount = Int(mode >> 2 & 3) + 1
    let per = max(1, xy.count / ringCount)
    let rings = stride(from: 0, to: xy.count, by: per).map { Array(xy[$0..<min(xy.count, $0 + per)]) }
    if let r = try? RLE.polygons(rings, height: h, width: w) { checkMask(r, "polygons \(h)×\(w)") }
    if xy.count >= 4, let r = try? RLE.box(Array(xy[0..<4]), height: h, width: w) {
        checkMask(r, "box \(h)×\(w)")
        _ = boxIoU(Array(xy[0..<4]), [0, 0, Double(w), Double(h)], crowd: mode & 16 != 0)
    }
    return 0
}
