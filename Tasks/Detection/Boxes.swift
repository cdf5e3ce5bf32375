#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An axis-aligned box (x1, y1, x2, y2) in pixels.
public struct Box: Equatable, Sendable {
    /// Left, top, right and bottom edges in pixels (x to the right, y down).
    public var x1: Float, y1: Float, x2: Float, y2: Float
    /// A box from its left, top, right and bottom edges, in pixels.
    public init(_ x1: Float, _ y1: Float, _ x2: Float, _ y2: Float) { self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2 }
    /// x2 − x1, in pixels (negative or zero for an empty box).
    public var width: Float { x2 - x1 }
    /// y2 − y1, in pixels (negative or zero for an empty box).
    public var height: Float { y2 - y1 }
}

/// mmdet's `DeltaXYWHBBoxCoder.decode` (delta2bbox) in float32: deltas · stds (means 0), dw/dh
/// clamped to ±|ln(16/1000)|, clipped to `maxShape` (height, width) when given.
public func decodeDelta(_ roi: Box, _ d: (Float, Float, Float, Float), stds: (Float, Float, Float, Float),
                        maxShape: (Int, Int)?) -> Box {
    let maxRatio = Float(abs(log(16.0 / 1000.0)))
    let dx = d.0 * stds.0, dy = d.1 * stds.1
    var dw = d.2 * stds.2, dh = d.3 * stds.3
    let px = (roi.x1 + roi.x2) * 0.5, py = (roi.y1 + roi.y2) * 0.5
    let pw = roi.x2 - roi.x1, ph = roi.y2 - roi.y1
    let dxw = pw * dx, dyh = ph * dy
    dw = min(max(dw, -maxRatio), maxRatio)
    dh = min(max(dh, -maxRatio), maxRatio)
    let gx = px + dxw, gy = py + dyh
    let gw = pw * expf(dw), gh = ph * expf(dh)
    var b = Box(gx - gw * 0.5, gy - gh * 0.5, gx + gw * 0.5, gy + gh * 0.5)
    if let (h, w) = maxShape {
        let fw = Float(w), fh = Float(h)
        b.x1 = min(max(b.x1, 0), fw); b.x2 = min(max(b.x2, 0), fw)
        b.y1 = min(max(b.y1, 0), fh); b.y2 = min(max(b.y2, 0), fh)
    }
    return b
}

/// Greedy NMS as torchvision's CPU kernel: stable descending score order, suppress IoU > threshold
/// (areas without "+1"). Returns kept indices in score order.
public func nms(_ boxes: [Box], _ scores: [Float], iouThreshold: Float) -> [Int] {
    let order = boxes.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    let areas = boxes.map { ($0.x2 - $0.x1) * ($0.y2 - $0.y1) }
    var suppressed = [Bool](repeating: false, count: boxes.count)
    var keep = [Int]()
    for (oi, i) in order.enumerated() {
        if suppressed[i] { continue }
        keep.append(i)
        let bi = boxes[i], ai = areas[i]
        for j in order[(oi + 1)...] where !suppressed[j] {
            let bj = boxes[j]
            let w = max(0, min(bi.x2, bj.x2) - max(bi.x1, bj.x1))
            let h = max(0, min(bi.y2, bj.y2) - max(bi.y1, bj.y1))
            let inter = w * h
            if inter / (ai + areas[j] - inter) > iouThreshold { suppressed[j] = true }
        }
    }
    return keep
}

/// mmcv's `batched_nms`: NMS per class (`idxs`) by offsetting each class's boxes by
/// idx·(max coordinate + 1) in float32 (below 10 000 boxes), or class by class and re-sorted.
/// Returns kept indices in descending score order.
public func batchedNMS(_ boxes: [Box], _ scores: [Float], _ idxs: [Int], iouThreshold: Float) -> [Int] {
    if boxes.isEmpty { return [] }
    var maxCoord = -Float.infinity
    for b in boxes { maxCoord = max(maxCoord, b.x1, b.y1, b.x2, b.y2) }
    let offsets = idxs.map { Float($0) * (maxCoord + 1) }
    let shifted = zip(boxes, offsets).map { b, o in Box(b.x1 + o, b.y1 + o, b.x2 + o, b.y2 + o) }
    if boxes.count < 10000 { return nms(shifted, scores, iouThreshold: iouThreshold) }
    var keep = [Int]()
    var byClass = [Int: [Int]]()
    for (i, c) in idxs.enumerated() { byClass[c, default: []].append(i) }
    for c in byClass.keys.sorted() {
        let members = byClass[c]!
        keep += nms(members.map { shifted[$0] }, members.map { scores[$0] }, iouThreshold: iouThreshold).map { members[$0] }
    }
    keep.sort { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    return keep
}

/// RPN anchors of one level (mmdet `AnchorGenerator`, centre offset 0, scale-major): for each grid
/// point (x·stride, y·stride) and ratio (h/w), `[-w/2, -h/2, w/2, h/2]` shifted; flat index (y·W + x)·A + a.
public func anchors(featureHeight: Int, featureWidth: Int, stride: Int, scales: [Float], ratios: [Float]) -> [Box] {
    var base = [Box]()
    let size = Float(stride)
    for r in ratios {
        let hr = r.squareRoot(), wr = 1 / hr
        for s in scales {
            let w = size * wr * s, h = size * hr * s
            base.append(Box(0 - 0.5 * w, 0 - 0.5 * h, 0 + 0.5 * w, 0 + 0.5 * h))
        }
    }
    var out = [Box]()
    out.reserveCapacity(featureHeight * featureWidth * base.count)
    for y in 0..<featureHeight {
        let sy = Float(y) * Float(stride)
        for x in 0..<featureWidth {
            let sx = Float(x) * Float(stride)
            for b in base { out.append(Box(b.x1 + sx, b.y1 + sy, b.x2 + sx, b.y2 + sy)) }
        }
    }
    return out
}
