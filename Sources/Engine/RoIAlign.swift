import RepLKKernels

extension Tensor {
    /// RoIAlign (torchvision / mmcv `roi_align`) of one box over this feature map.
    ///
    /// - Parameters:
    ///   - box: `(x1, y1, x2, y2)` in input-image pixels.
    ///   - spatialScale: feature pixels per input pixel (1 / the map's stride).
    ///   - outputSize: the side `S` of the pooled grid.
    ///   - aligned: mmcv's `aligned=True` (half-pixel offset), as mmdetection's RoI extractors use.
    ///   - samplingRatio: samples per bin side, or 0 for the adaptive grid (ceil(bin size)).
    ///   - output: an `[N, S, S, C]` tensor with this map's `C` channels; item `item` is written.
    ///   - item: the index along N of `output` that receives the pooled grid.
    /// - Precondition: this tensor is `[1, H, W, C]` and `item < N`.
    public func roiAlign(box: (Float, Float, Float, Float), spatialScale: Float, outputSize: Int, aligned: Bool = true,
                         samplingRatio: Int = 0, into output: inout Tensor, item: Int) {
        precondition(rank == 4 && batch == 1, "roiAlign needs a [1, H, W, C] map, not \(shape)")
        precondition(output.rank == 4 && output.shape[1] == outputSize && output.shape[2] == outputSize
                     && output.shape[3] == channels && item >= 0 && item < output.shape[0],
                     "roiAlign output \(output.shape) does not hold item \(item) of \(outputSize)×\(outputSize)×\(channels)")
        let (h, w, c) = (height, width, channels)
        let n = outputSize * outputSize * c
        withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { out in
                roiAlignNHWC(x.baseAddress!, height: h, width: w, channels: c, box: box, spatialScale: spatialScale,
                             outputSize: outputSize, aligned: aligned, samplingRatio: samplingRatio,
                             into: out.baseAddress! + item * n)
            }
        }
    }
}
