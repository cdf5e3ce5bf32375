import RepLKEngine
import RepLKLayers
import RepLKWeights

/// mmdet `FPN` (no extra convs): 1×1 laterals, nearest top-down, 3×3 outputs, and a stride-2
/// max-pool (kernel 1) of the top output as an extra level.
final class FPN {
    let lateral: [Conv2d]
    let output: [Conv2d]
    let channels: Int
    let pool: ThreadPool

    init(binder b: WeightBinder, inChannels: [Int], engine: EngineConfiguration) throws {
        pool = engine.pool
        let shape = try b.requireShape("lateral_convs.0.conv.weight", rank: 4)
        channels = shape[0]
        let c = channels
        lateral = try inChannels.enumerated().map { i, cin in
            Conv2d(weight: try b.floats("lateral_convs.\(i).conv.weight", shape: [c, cin, 1, 1]),
                   bias: try b.floats("lateral_convs.\(i).conv.bias", shape: [c]), outChannels: c, inChannels: cin, kernelSize: (1, 1), engine: engine)
        }
        output = try inChannels.indices.map { i in
            Conv2d(weight: try b.floats("fpn_convs.\(i).conv.weight", shape: [c, c, 3, 3]),
                   bias: try b.floats("fpn_convs.\(i).conv.bias", shape: [c]), outChannels: c, inChannels: c, kernelSize: (3, 3),
                   padding: (1, 1), engine: engine)
        }
    }

    /// P2…P5 and the pooled P6.
    func callAsFunction(_ features: [Tensor]) -> [Tensor] {
        var lat = zip(lateral, features).map { $0($1) }
        for i in stride(from: lat.count - 1, to: 0, by: -1) {
            lat[i - 1] = add(lat[i - 1], resizeNearest(lat[i], height: lat[i - 1].height, width: lat[i - 1].width, pool: pool),
                           pool: pool)
        }
        var outs = zip(output, lat).map { $0($1) }
        outs.append(maxPool2d(outs[outs.count - 1], kernel: 1, stride: 2))
        return outs
    }
}

/// mmdet `RPNHead`: shared 3×3 conv + ReLU, sigmoid objectness and box deltas per anchor.
final class RPNHead {
    let conv: Conv2d
    let cls: Conv2d
    let reg: Conv2d
    let anchorsPerLocation: Int

    init(binder b: WeightBinder, channels c: Int, engine: EngineConfiguration) throws {
        let clsShape = try b.requireShape("rpn_cls.weight", rank: 4)
        anchorsPerLocation = clsShape[0]
        let feat = try b.requireShape("rpn_conv.weight", rank: 4)[0]
        conv = Conv2d(weight: try b.floats("rpn_conv.weight", shape: [feat, c, 3, 3]), bias: try b.floats("rpn_conv.bias", shape: [feat]),
                      outChannels: feat, inChannels: c, kernelSize: (3, 3), padding: (1, 1), engine: engine)
        let a = anchorsPerLocation
        cls = Conv2d(weight: try b.floats("rpn_cls.weight", shape: [a, feat, 1, 1]), bias: try b.floats("rpn_cls.bias", shape: [a]),
                     outChannels: a, inChannels: feat, kernelSize: (1, 1), engine: engine)
        reg = Conv2d(weight: try b.floats("rpn_reg.weight", shape: [4 * a, feat, 1, 1]), bias: try b.floats("rpn_reg.bias", shape: [4 * a]),
                     outChannels: 4 * a, inChannels: feat, kernelSize: (1, 1), engine: engine)
    }

    /// (objectness logits [H·W·A], deltas [H·W·A·4]) for one level.
    func callAsFunction(_ p: Tensor) -> (logits: [Float], deltas: [Float]) {
        let t = conv(p, activation: .relu)
        return (cls(t).scalars, reg(t).scalars)
    }
}

/// mmdet `ConvFCBBoxHead` (shared convs with BN + ReLU, then shared FCs), class-specific regression.
final class BBoxHead {
    let convs: [Conv2d]
    let fcs: [Linear]
    let cls: Linear
    let reg: Linear
    let numClasses: Int
    let roiSize: Int

    init(binder b: WeightBinder, inChannels: Int, roiSize: Int, engine: EngineConfiguration) throws {
        self.roiSize = roiSize
        var convs = [Conv2d]()
        var cin = inChannels
        while b.contains("shared_convs.\(convs.count).conv.weight") {
            let k = convs.count
            let out = try b.requireShape("shared_convs.\(k).conv.weight", rank: 4)[0]
            convs.append(Conv2d(weight: try b.floats("shared_convs.\(k).conv.weight", shape: [out, cin, 3, 3]), bias: nil,
                                outChannels: out, inChannels: cin, kernelSize: (3, 3), padding: (1, 1),
                                norm: try b.batchNorm("shared_convs.\(k).bn", channels: out), engine: engine))
            cin = out
        }
        self.convs = convs
        // The first FC sees the RoI map flattened channel-major (c·S² + y·S + x); our maps are NHWC,
        // so its columns are permuted once here to (y·S + x)·C + c.
        let area = roiSize * roiSize
        var fcs = [Linear]()
        var fin = cin * area
        var first = true
        while b.contains("shared_fcs.\(fcs.count).weight") {
            let k = fcs.count
            let out = try b.requireShape("shared_fcs.\(k).weight", rank: 2)[0]
            var w = try b.floats("shared_fcs.\(k).weight", shape: [out, fin])
            if first {
                let src = w
                for o in 0..<out {
                    for c in 0..<cin { for s in 0..<area { w[o * fin + s * cin + c] = src[o * fin + c * area + s] } }
                }
                first = false
            }
            fcs.append(Linear(weight: w, bias: try b.floats("shared_fcs.\(k).bias", shape: [out]), outFeatures: out, inFeatures: fin, engine: engine))
            fin = out
        }
        self.fcs = fcs
        let clsRows = try b.requireShape("fc_cls.weight", rank: 2)[0]
        numClasses = clsRows - 1
        cls = Linear(weight: try b.floats("fc_cls.weight", shape: [clsRows, fin]), bias: try b.floats("fc_cls.bias", shape: [clsRows]),
                     outFeatures: clsRows, inFeatures: fin, engine: engine)
        reg = Linear(weight: try b.floats("fc_reg.weight", shape: [4 * numClasses, fin]),
                     bias: try b.floats("fc_reg.bias", shape: [4 * numClasses]), outFeatures: 4 * numClasses, inFeatures: fin, engine: engine)
    }

    /// Class logits [N, classes + 1] (background last) and deltas [N, 4·classes].
    func callAsFunction(_ rois: Tensor) -> (cls: [Float], reg: [Float]) {
        var t = rois
        for c in convs { t = c(t, activation: .relu) }
        var f = t.reshaped([t.batch, t.height * t.width * t.channels])
        for fc in fcs { f = fc(f, activation: .relu) }
        return (cls(f).scalars, reg(f).scalars)
    }
}

/// mmdet `FCNMaskHead`: 3×3 convs (bias, ReLU), a 2×2 stride-2 transposed conv + ReLU, 1×1 logits.
final class MaskHead {
    let convs: [Conv2d]
    let upsample: ConvTranspose2x2
    let logits: Conv2d
    let numClasses: Int

    init(binder b: WeightBinder, inChannels: Int, engine: EngineConfiguration) throws {
        var convs = [Conv2d]()
        var cin = inChannels
        while b.contains("convs.\(convs.count).conv.weight") {
            let k = convs.count
            let out = try b.requireShape("convs.\(k).conv.weight", rank: 4)[0]
            convs.append(Conv2d(weight: try b.floats("convs.\(k).conv.weight", shape: [out, cin, 3, 3]),
                                bias: try b.floats("convs.\(k).conv.bias", shape: [out]), outChannels: out, inChannels: cin,
                                kernelSize: (3, 3), padding: (1, 1), engine: engine))
            cin = out
        }
        self.convs = convs
        let up = try b.requireShape("upsample.weight", rank: 4)
        guard up[0] == cin, up[2] == 2, up[3] == 2 else {
            throw WeightsError.shapeMismatch(file: b.file, key: "upsample.weight", expected: [cin, up[1], 2, 2], found: up)
        }
        upsample = ConvTranspose2x2(weight: try b.floats("upsample.weight", shape: up), bias: try b.floats("upsample.bias", shape: [up[1]]),
                                    inChannels: cin, outChannels: up[1], engine: engine)
        numClasses = try b.requireShape("conv_logits.weight", rank: 4)[0]
        logits = Conv2d(weight: try b.floats("conv_logits.weight", shape: [numClasses, up[1], 1, 1]),
                        bias: try b.floats("conv_logits.bias", shape: [numClasses]), outChannels: numClasses, inChannels: up[1],
                        kernelSize: (1, 1), engine: engine)
    }

    /// Mask logits [N, 2S, 2S, classes].
    func callAsFunction(_ rois: Tensor) -> Tensor {
        var t = rois
        for c in convs { t = c(t, activation: .relu) }
        return logits(upsample(t, activation: .relu))
    }
}
