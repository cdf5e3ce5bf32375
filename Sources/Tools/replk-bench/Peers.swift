import Foundation
import ToolSupport

/// The peer harness run with the user's Python: the same workloads through PyTorch (eager,
/// channels_last), onnxruntime and OpenVINO (fp32 forced), each timed like ours (median after a
/// warm-up). The networks are built from the architecture description (merged form), not loaded.
let peerScript = #"""
import argparse, json, os, sys, tempfile, time, contextlib, io

def median_ms(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    n = len(ts)
    return ts[n // 2] if n % 2 else (ts[n // 2 - 1] + ts[n // 2]) / 2

def build(args, torch, nn, F):
    class LK(nn.Module):
        def __init__(s, c, d, k):
            super().__init__(); s.pw1 = nn.Conv2d(c, d, 1); s.lk = nn.Conv2d(d, d, k, 1, k // 2, groups=d); s.pw2 = nn.Conv2d(d, c, 1)
        def forward(s, x): return x + s.pw2(F.relu(s.lk(F.relu(s.pw1(x)))))
    class FFN(nn.Module):
        def __init__(s, c, f):
            super().__init__(); s.pw1 = nn.Conv2d(c, f, 1); s.pw2 = nn.Conv2d(f, c, 1)
        def forward(s, x): return x + s.pw2(F.gelu(s.pw1(x)))
    class RepLKNet(nn.Module):
        def __init__(s, ch, ks, layers, dw, classes):
            super().__init__()
            c0 = ch[0]
            s.stem = nn.ModuleList([nn.Conv2d(3, c0, 3, 2, 1), nn.Conv2d(c0, c0, 3, 1, 1, groups=c0), nn.Conv2d(c0, c0, 1), nn.Conv2d(c0, c0, 3, 2, 1, groups=c0)])
            s.stages = nn.ModuleList([nn.Sequential(*[m for _ in range(n) for m in (LK(c, int(c * dw), k), FFN(c, 4 * c))]) for c, k, n in zip(ch, ks, layers)])
            s.trans = nn.ModuleList([nn.Sequential(nn.Conv2d(a, b, 1), nn.ReLU(), nn.Conv2d(b, b, 3, 2, 1, groups=b), nn.ReLU()) for a, b in zip(ch[:-1], ch[1:])])
            s.head = nn.Linear(ch[-1], classes) if classes else None
        def forward(s, x):
            for m in s.stem: x = F.relu(m(x))
            outs = []
            for i, st in enumerate(s.stages):
                x = st(x); outs.append(x)
                if i < len(s.trans): x = s.trans[i](x)
            if s.head is not None: return s.head(x.mean((2, 3)))
            return outs
    def adaptive_avg_pool(t, s):
        # PyTorch's adaptive average pooling written out as fixed bins (start floor(i·H/s), end
        # ceil((i+1)·H/s)): the same numbers, and exportable to ONNX when H is not a multiple of s.
        H, W = int(t.shape[2]), int(t.shape[3])
        rows = []
        for i in range(s):
            h0, h1 = (i * H) // s, -((-(i + 1) * H) // s)
            rows.append(torch.cat([t[:, :, h0:h1, (j * W) // s:-((-(j + 1) * W) // s)].mean((2, 3), keepdim=True) for j in range(s)], 3))
        return torch.cat(rows, 2)
    class UperNet(nn.Module):
        def __init__(s, ch, c=512, n=150):
            super().__init__()
            s.backbone = RepLKNet(ch, [31, 29, 27, 13], [2, 2, 18, 2], 1, None)
            s.lat = nn.ModuleList([nn.Conv2d(i, c, 1) for i in ch[:-1]])
            s.ppm = nn.ModuleList([nn.Conv2d(ch[-1], c, 1) for _ in range(4)])
            s.bott = nn.Conv2d(ch[-1] + 4 * c, c, 3, 1, 1)
            s.fpn = nn.ModuleList([nn.Conv2d(c, c, 3, 1, 1) for _ in ch[:-1]])
            s.fb = nn.Conv2d(4 * c, c, 3, 1, 1); s.cls = nn.Conv2d(c, n, 1)
        def forward(s, x):
            f = s.backbone(x); top = f[-1]
            psp = [top] + [F.interpolate(F.relu(m(adaptive_avg_pool(top, sc))), size=top.shape[2:], mode='bilinear', align_corners=False) for m, sc in zip(s.ppm, (1, 2, 3, 6))]
            lat = [F.relu(m(t)) for m, t in zip(s.lat, f)] + [F.relu(s.bott(torch.cat(psp, 1)))]
            for i in range(3, 0, -1):
                lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[2:], mode='bilinear', align_corners=False)
            outs = [F.relu(m(t)) for m, t in zip(s.fpn, lat)] + [lat[-1]]
            outs = [outs[0]] + [F.interpolate(o, size=outs[0].shape[2:], mode='bilinear', align_corners=False) for o in outs[1:]]
            y = s.cls(F.relu(s.fb(torch.cat(outs, 1))))
            return F.interpolate(y, size=x.shape[2:], mode='bilinear', align_corners=False)
    if args.cmd == 'dwconv':
        net = nn.Sequential(*[nn.Conv2d(args.channels, args.channels, args.kernel, 1, args.kernel // 2, groups=args.channels, bias=False) for _ in range(args.depth)])
        shape = (args.batch, args.channels, args.size, args.size)
    elif args.model.startswith('replknet-'):
        cfg = {'31b': ([128, 256, 512, 1024], [31, 29, 27, 13], 1), '31l': ([192, 384, 768, 1536], [31, 29, 27, 13], 1), 'xl': ([256, 512, 1024, 2048], [27, 27, 27, 13], 1.5)}[args.model[9:]]
        net = RepLKNet(cfg[0], cfg[1], [2, 2, 18, 2], cfg[2], 1000)
        shape = (args.batch, 3, args.height, args.width)
    elif args.model == 'upernet-31b':
        net = UperNet([128, 256, 512, 1024])
        shape = (args.batch, 3, args.height, args.width)
    else:
        raise SystemExit(json.dumps({'error': 'no peer implementation of ' + args.model}))
    with torch.no_grad():
        for p in net.parameters(): p.mul_(0.1)
    return net.eval(), shape

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('cmd'); ap.add_argument('model', nargs='?')
    for a in ['channels', 'size', 'kernel', 'depth', 'batch', 'threads', 'repeat', 'height', 'width']:
        ap.add_argument('--' + a, type=int, default=1)
    ap.add_argument('--gt'); ap.add_argument('--results'); ap.add_argument('--iou-type', default='bbox')
    args = ap.parse_args()
    out = {}
    if args.cmd == 'coco-eval':
        try:
            from faster_coco_eval import COCO, COCOeval_faster
            def run():
                with contextlib.redirect_stdout(io.StringIO()):
                    gt = COCO(args.gt); dt = gt.loadRes(args.results); ev = COCOeval_faster(gt, dt, args.iou_type)
                    ev.evaluate(); ev.accumulate(); ev.summarize()
            out['faster-coco-eval'] = {'median_ms': median_ms(run, max(1, args.repeat - 1))}
        except Exception as e:
            out['faster-coco-eval'] = {'error': repr(e)}
        print(json.dumps(out)); return
    import torch, torch.nn as nn, torch.nn.functional as F
    torch.set_num_threads(args.threads)
    net, shape = build(args, torch, nn, F)
    x = torch.randn(*shape)
    try:
        netcl = net.to(memory_format=torch.channels_last); xcl = x.to(memory_format=torch.channels_last)
        with torch.no_grad():
            out['torch'] = {'median_ms': median_ms(lambda: netcl(xcl), args.repeat), 'version': torch.__version__, 'layout': 'channels_last'}
    except Exception as e:
        out['torch'] = {'error': repr(e)}
    onnx_path = os.path.join(tempfile.mkdtemp(), 'model.onnx')
    try:
        with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            torch.onnx.export(net, (x,), onnx_path, opset_version=17, dynamo=False)
    except Exception as e:
        onnx_path = None
        out['onnx_export_error'] = repr(e)
    if onnx_path:
        try:
            import onnxruntime as ort
            so = ort.SessionOptions(); so.intra_op_num_threads = args.threads; so.inter_op_num_threads = 1
            sess = ort.InferenceSession(onnx_path, so, providers=['CPUExecutionProvider'])
            name = sess.get_inputs()[0].name; xn = x.numpy()
            out['onnxruntime'] = {'median_ms': median_ms(lambda: sess.run(None, {name: xn}), args.repeat), 'version': ort.__version__}
        except Exception as e:
            out['onnxruntime'] = {'error': repr(e)}
        try:
            import openvino as ov
            core = ov.Core()
            cm = core.compile_model(core.read_model(onnx_path), 'CPU', {'INFERENCE_NUM_THREADS': args.threads, 'INFERENCE_PRECISION_HINT': 'f32', 'PERFORMANCE_HINT': 'LATENCY'})
            req = cm.create_infer_request(); xn = x.numpy()
            out['openvino'] = {'median_ms': median_ms(lambda: req.infer({0: xn}), args.repeat), 'version': ov.__version__}
        except Exception as e:
            out['openvino'] = {'error': repr(e)}
    print(json.dumps(out))

main()
"""#

/// Runs the peer harness with `python` and returns its per-peer results.
func runPeers(_ python: String, _ args: [String]) throws -> [String: Any] {
    let script = NSTemporaryDirectory() + "replk-peers-\(getpid()).py"
    try writeText(peerScript, to: script)
    defer { try? FileManager.default.removeItem(atPath: script) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python.contains("/") ? python : "/usr/bin/env")
    p.arguments = (python.contains("/") ? [] : [python]) + [script] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.standardError
    do { try p.run() } catch { throw ToolError.io(path: python, detail: "cannot run: \(error.localizedDescription)") }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard let line = text.split(separator: "\n").last,
          let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw ToolError.io(path: python, detail: "the peer harness failed (exit \(p.terminationStatus)); its output: \(text.suffix(300))")
    }
    return obj
}

func printPeers(_ peers: Any?, ours: Double) {
    guard let peers = peers as? [String: Any] else { return }
    for name in ["torch", "onnxruntime", "openvino", "faster-coco-eval"] {
        guard let r = peers[name] as? [String: Any] else { continue }
        if let ms = r["median_ms"] as? Double {
            print(String(format: "  %@: %.2f ms → RepLK is %.2f× faster", name, ms, ms / ours))
        } else {
            print("  \(name): \(r["error"] ?? "unavailable")")
        }
    }
}
