#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RepLKKernels
import RepLKParallel

/// Splits `count` items into about `4·threads` contiguous chunks and runs them on `pool`.
///
/// The ops below that run in parallel take `pool:`, by default `ThreadPool.defaultPool` (all online
/// CPUs): models pass their configuration's pool, so that a model built for 1 thread runs on 1.
@inline(__always)
func parallelChunks(_ count: Int, pool: ThreadPool, minChunk: Int = 1,
                    _ body: (Int, Int) -> Void) {
    if count <= 0 { return }
    let chunk = max(minChunk, (count + 4 * pool.threadCount - 1) / (4 * pool.threadCount))
    let tasks = (count + chunk - 1) / chunk
    pool.parallelFor(tasks) { t in body(t * chunk, min(count, (t + 1) * chunk)) }
}

/// Element-wise activation, on `pool` (default `ThreadPool.defaultPool`).
public func activate(_ x: Tensor, _ act: Activation, pool: ThreadPool = ThreadPool.defaultPool) -> Tensor {
    if act == .none { return x }
    var y = x
    y.withUnsafeMutableBufferPointer { buf in
        let p = buf.baseAddress!
        parallelChunks(buf.count, pool: pool, minChunk: 4096) { s, e in RepLKKernels.activate(p + s, count: e - s, act) }
    }
    return y
}

/// x + y (same shape), on `pool` (default `ThreadPool.defaultPool`).
public func add(_ x: Tensor, _ y: Tensor, pool: ThreadPool = ThreadPool.defaultPool) -> Tensor {
    precondition(x.shape == y.shape, "add: shapes \(x.shape) and \(y.shape) differ")
    let z = Tensor(uninitializedShape: x.shape)
    let xp = x.storage.pointer, yp = y.storage.pointer, zp = z.storage.pointer
    parallelChunks(x.count, pool: pool, minChunk: 4096) { s, e in addArrays(xp + s, yp + s, zp + s, count: e - s) }
    return z
}

/// Per-channel affine map on an NHWC tensor: y = x·scale[c] + shift[c] (an un-folded BatchNorm), on
/// `pool` (default `ThreadPool.defaultPool`).
public func channelAffine(_ x: Tensor, scale: [Float], shift: [Float], pool: ThreadPool = ThreadPool.defaultPool) -> Tensor {
    let c = x.shape.last!
    precondition(scale.count == c && shift.count == c, "affine has \(scale.count) channels, tensor \(c)")
    let y = Tensor(uninitializedShape: x.shape)
    let pixels = x.count / c
    let xp = x.storage.pointer, yp = y.storage.pointer
    scale.withUnsafeBufferPointer { s in
        shift.withUnsafeBufferPointer { b in
            let sp = s.baseAddress!, bp = b.baseAddress!
            parallelChunks(pixels, pool: pool, minChunk: 64) { p0, p1 in
                RepLKKernels.channelAffine(xp + p0 * c, yp + p0 * c, pixels: p1 - p0, channels: c, scale: sp, shift: bp)
            }
        }
    }
    return y
}

/// Concatenates NHWC tensors of equal N, H, W along channels, on `pool` (default `ThreadPool.defaultPool`).
public func concatChannels(_ parts: [Tensor], pool: ThreadPool = ThreadPool.defaultPool) -> Tensor {
    precondition(!parts.isEmpty, "concat of nothing")
    let (n, h, w) = (parts[0].batch, parts[0].height, parts[0].width)
    for p in parts {
        precondition(p.rank == 4 && p.batch == n && p.height == h && p.width == w,
                     "concat: \(p.shape) does not match \(parts[0].shape) outside channels")
    }
    let total = parts.reduce(0) { $0 + $1.channels }
    let y = Tensor(uninitializedShape: [n, h, w, total])
    let yp = y.storage.pointer
    let pixels = n * h * w
    parallelChunks(pixels, pool: pool, minChunk: 64) { p0, p1 in
        for p in p0..<p1 {
            var off = 0
            for part in parts {
                let c = part.channels
                (yp + p * total + off).update(from: part.storage.pointer + p * c, count: c)
                off += c
            }
        }
    }
    return y
}

/// Bilinear resize of an NHWC tensor (PyTorch `F.interpolate(mode='bilinear')`), on `pool` (default
/// `ThreadPool.defaultPool`).
public func resizeBilinear(_ x: Tensor, height: Int, width: Int, alignCorners: Bool,
                           pool: ThreadPool = ThreadPool.defaultPool) -> Tensor {
    let y = Tensor(uninitializedShape: [x.batch, height, width, x.channels])
    let yTaps = bilinearTaps(inSize: x.height, outSize: height, alignCorners: alignCorners)
    let xTaps = bilinearTaps(inSize: x.width, outSize: width, alignCorners: alignCorners)
    let xp = x.storage.pointer, yp = y.storage.pointer
    parallelChunks(x.batch * height, pool: pool) { r0, r1 in
        resizeBilinearRows(xp, batch: x.batch, height: x.height, width: x.width, channels: x.channels,
                           yp, outHeight: height, outWidth: width, yTaps: yTaps, xTaps: xTaps, row0: r0, row1: r1)
    }
    return y
}

/// Nearest-neighbour resize (PyTorch `F.interpolate(mode='nearest')`), on `pool` (default
/// `ThreadPool.defaultPool`).
public func resizeNearest(_ x: Tensor, height: Int, width: Int, pool: ThreadPool = ThreadPool.defaultPool) -> Tensor {
    let y = Tensor(uninitializedShape: [x.batch, height, width, x.channels])
    let xp = x.storage.pointer, yp = y.storage.pointer
    parallelChunks(x.batch * height, pool: pool) { r0, r1 in
        resizeNearestRows(xp, batch: x.batch, height: x.height, width: x.width, channels: x.channels,
                          yp, outHeight: height, outWidth: width, row0: r0, row1: r1)
    }
    return y
}

/// Adaptive average pooling to `height × width` (PyTorch `AdaptiveAvgPool2d`).
public func adaptiveAvgPool(_ x: Tensor, height: Int, width: Int) -> Tensor {
    let y = Tensor(uninitializedShape: [x.batch, height, width, x.channels])
    RepLKKernels.adaptiveAvgPool(x.storage.pointer, batch: x.batch, height: x.height, width: x.width, channels: x.channels,
                            y.storage.pointer, outHeight: height, outWidth: width)
    return y
}

/// Global average pooling: [N, H, W, C] → [N, C].
public func globalAvgPool(_ x: Tensor) -> Tensor {
    let (n, hw, c) = (x.batch, x.height * x.width, x.channels)
    var y = Tensor(zeros: [n, c])
    let xp = x.storage.pointer
    y.withUnsafeMutableBufferPointer { out in
        for b in 0..<n {
            for p in 0..<hw {
                let s = xp + (b * hw + p) * c
                for ch in 0..<c { out[b * c + ch] += s[ch] }
            }
            for ch in 0..<c { out[b * c + ch] /= Float(hw) }
        }
    }
    return y
}

/// Max pooling (PyTorch `max_pool2d`, floor mode).
public func maxPool2d(_ x: Tensor, kernel: Int, stride: Int, padding: Int = 0) -> Tensor {
    let oh = (x.height + 2 * padding - kernel) / stride + 1
    let ow = (x.width + 2 * padding - kernel) / stride + 1
    let y = Tensor(uninitializedShape: [x.batch, oh, ow, x.channels])
    RepLKKernels.maxPool(x.storage.pointer, batch: x.batch, height: x.height, width: x.width, channels: x.channels,
                    kernel: kernel, stride: stride, padding: padding, y.storage.pointer, outHeight: oh, outWidth: ow)
    return y
}

/// Softmax over the last dimension.
public func softmax(_ x: Tensor) -> Tensor {
    let c = x.shape.last!
    var y = x
    y.withUnsafeMutableBufferPointer { buf in
        let rows = buf.count / c
        for r in 0..<rows {
            let p = buf.baseAddress! + r * c
            var m = -Float.infinity
            for i in 0..<c { m = max(m, p[i]) }
            var s: Float = 0
            for i in 0..<c { p[i] = expf(p[i] - m); s += p[i] }
            for i in 0..<c { p[i] /= s }
        }
    }
    return y
}

/// Logistic sigmoid, element-wise.
public func sigmoid(_ x: Tensor) -> Tensor {
    var y = x
    y.withUnsafeMutableBufferPointer { buf in
        for i in 0..<buf.count { buf[i] = 1 / (1 + expf(-buf[i])) }
    }
    return y
}

/// The window rows y0..<y1, columns x0..<x1 of an NHWC tensor.
public func crop(_ x: Tensor, y0: Int, y1: Int, x0: Int, x1: Int) -> Tensor {
    precondition(y0 >= 0 && x0 >= 0 && y1 <= x.height && x1 <= x.width && y0 < y1 && x0 < x1, "crop window outside \(x.shape)")
    let (h, w, c) = (y1 - y0, x1 - x0, x.channels)
    let y = Tensor(uninitializedShape: [x.batch, h, w, c])
    let xp = x.storage.pointer, yp = y.storage.pointer
    for b in 0..<x.batch {
        for r in 0..<h {
            (yp + ((b * h + r) * w) * c).update(from: xp + ((b * x.height + y0 + r) * x.width + x0) * c, count: w * c)
        }
    }
    return y
}

/// Mirror an NHWC tensor left-right.
public func flipHorizontal(_ x: Tensor) -> Tensor {
    let y = Tensor(uninitializedShape: x.shape)
    let (w, c) = (x.width, x.channels)
    let xp = x.storage.pointer, yp = y.storage.pointer
    for row in 0..<(x.batch * x.height) {
        for col in 0..<w {
            (yp + (row * w + col) * c).update(from: xp + (row * w + w - 1 - col) * c, count: c)
        }
    }
    return y
}

/// Index of the largest channel per pixel (the first on ties, as `torch.argmax`), on `pool`
/// (default `ThreadPool.defaultPool`).
public func argmaxChannels(_ x: Tensor, pool: ThreadPool = ThreadPool.defaultPool) -> [Int32] {
    let c = x.shape.last!
    let n = x.count / c
    var out = [Int32](repeating: 0, count: n)
    let p = x.storage.pointer
    out.withUnsafeMutableBufferPointer { o in
        let op = o.baseAddress!
        parallelChunks(n, pool: pool, minChunk: 1024) { s, e in
            for i in s..<e {
                let row = p + i * c
                var best = row[0], arg = 0
                for k in 1..<c where row[k] > best { best = row[k]; arg = k }
                op[i] = Int32(arg)
            }
        }
    }
    return out
}
