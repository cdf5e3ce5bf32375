import Foundation
import RepLKKernels
import RepLKToolSupport

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
    elif args.cmd == 'erf':
        # forward_features (no head: the stage outputs) for the ERF input gradient.
        cfg = {'31b': ([128, 256, 512, 1024], [31, 29, 27, 13], 1), '31l': ([192, 384, 768, 1536], [31, 29, 27, 13], 1), 'xl': ([256, 512, 1024, 2048], [27, 27, 27, 13], 1.5)}[args.model[9:]]
        net = RepLKNet(cfg[0], cfg[1], [2, 2, 18, 2], cfg[2], None)
        shape = (args.batch, 3, args.height, args.width)
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
    # name -> (callable, what to report besides the times); failures go straight into `out`.
    runners = {}
    try:
        netcl = net.to(memory_format=torch.channels_last); xcl = x.to(memory_format=torch.channels_last)
        def run_torch():
            with torch.no_grad(): netcl(xcl)
        runners['torch'] = (run_torch, {'version': torch.__version__, 'layout': 'channels_last'})
    except Exception as e:
        out['torch'] = {'error': repr(e)}
    if args.cmd == 'erf':
        # The official get_input_grad: PyTorch CPU autograd of sum(ReLU(central pixel)) w.r.t. the input.
        # A fresh network: the one above was converted to channels_last in place.
        net_erf, _ = build(args, torch, nn, F)
        def run_erf():
            xg = x.clone().requires_grad_(True)
            out = net_erf(xg)[-1]
            score = F.relu(out[:, :, out.shape[2] // 2, out.shape[3] // 2]).sum()
            torch.autograd.grad(score, xg)
        runners = {'torch': (run_erf, {'version': torch.__version__, 'layout': 'contiguous', 'mode': 'autograd'})}
    onnx_path = None if args.cmd == 'erf' else os.path.join(tempfile.mkdtemp(), 'model.onnx')
    try:
        with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            if onnx_path: torch.onnx.export(net, (x,), onnx_path, opset_version=17, dynamo=False)
    except Exception as e:
        onnx_path = None
        out['onnx_export_error'] = repr(e)
    if onnx_path:
        try:
            import onnxruntime as ort
            so = ort.SessionOptions(); so.intra_op_num_threads = args.threads; so.inter_op_num_threads = 1
            sess = ort.InferenceSession(onnx_path, so, providers=['CPUExecutionProvider'])
            feed = {sess.get_inputs()[0].name: x.numpy()}
            runners['onnxruntime'] = (lambda: sess.run(None, feed), {'version': ort.__version__})
        except Exception as e:
            out['onnxruntime'] = {'error': repr(e)}
        try:
            import openvino as ov
            core = ov.Core()
            xv = x.numpy()
            # Forced f32, and the user's default (bf16 where the CPU has AVX512_BF16), reporting
            # the precision OpenVINO chose.
            for name, extra in (('openvino', {'INFERENCE_PRECISION_HINT': 'f32'}), ('openvino-default', {})):
                try:
                    cm = core.compile_model(core.read_model(onnx_path), 'CPU', dict({'INFERENCE_NUM_THREADS': args.threads, 'PERFORMANCE_HINT': 'LATENCY'}, **extra))
                    req = cm.create_infer_request()
                    hint = cm.get_property('INFERENCE_PRECISION_HINT')
                    precision = hint.to_string() if hasattr(hint, 'to_string') else str(hint)
                    runners[name] = ((lambda r: lambda: r.infer({0: xv}))(req), {'version': ov.__version__, 'precision': precision})
                except Exception as e:
                    out[name] = {'error': repr(e)}
        except Exception as e:
            out['openvino'] = {'error': repr(e)}
    # Serving: the caller alternates its own runs with ours. After one warm-up each, one line says
    # what is ready; then each line "run NAME COUNT" is answered, after one more untimed run, by one
    # line of COUNT timings.
    for name in list(runners):
        try:
            runners[name][0]()
        except Exception as e:
            out[name] = {'error': repr(e)}; del runners[name]
    out['ready'] = {name: info for name, (fn, info) in runners.items()}
    print(json.dumps(out), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == 'quit': break
        fn = runners[words[1]][0]
        fn()  # untimed: the caller's runs since the last request have evicted ours
        ts = []
        for _ in range(int(words[2])):
            t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1000)
        print(json.dumps({'samples_ms': ts}), flush=True)

main()
"""#

/// The peers timed on the same workload as ours (`dwconv`, `table1`, `model`), in report order:
/// OpenVINO with f32 forced, and at its default precision (bf16 on AVX512_BF16 CPUs).
let modelPeers = ["torch", "onnxruntime", "openvino", "openvino-default"]

/// Writes the peer harness to a temporary file and starts it with `python` (a path, or a name
/// looked up on PATH) and `args`, its standard error passed through. Returns the process and
/// the script's path, which the caller removes when the process is done.
func startPeerHarness(_ python: String, _ args: [String], stdin: Pipe?, stdout: Pipe) throws -> (Process, String) {
    let script = NSTemporaryDirectory() + "replk-peers-\(getpid()).py"
    try writeText(peerScript, to: script)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python.contains("/") ? python : "/usr/bin/env")
    p.arguments = (python.contains("/") ? [] : [python]) + [script] + args
    if let stdin { p.standardInput = stdin }
    p.standardOutput = stdout
    p.standardError = FileHandle.standardError
    do { try p.run() } catch {
        try? FileManager.default.removeItem(atPath: script)
        throw ToolError.io(path: python, detail: "cannot run: \(error.localizedDescription)")
    }
    return (p, script)
}

/// Runs the peer harness once with `python` (for `coco-eval`) and returns its per-peer results.
func runPeers(_ python: String, _ args: [String]) throws -> [String: Any] {
    let out = Pipe()
    let (p, script) = try startPeerHarness(python, args, stdin: nil, stdout: out)
    defer { try? FileManager.default.removeItem(atPath: script) }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard let line = text.split(separator: "\n").last,
          let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw ToolError.io(path: python, detail: "the peer harness failed (exit \(p.terminationStatus)); its output: \(text.suffix(300))")
    }
    return obj
}

func printPeers(_ peers: Any?, ours: Double, timing: Timing? = nil) {
    guard let peers = peers as? [String: Any] else { return }
    for name in modelPeers + ["faster-coco-eval"] {
        guard let r = peers[name] as? [String: Any] else { continue }
        if let ms = r["median_ms"] as? Double {
            let precision = (r["precision"] as? String).map { " (\($0))" } ?? ""
            print(String(format: "  %@%@: %.2f ms → RepLK is %.2f× faster%@", name, precision, ms, ms / ours,
                         timing.map { sameHostStateNote(ours: $0, peer: r) } ?? ""))
        } else {
            print("  \(name): \(r["error"] ?? "unavailable")")
        }
    }
}

/// "; by round in the same host state: …" — the peer's round medians over ours, in the rounds
/// whose core-to-core hand-over (measured before each side's batch) was alike on both sides
/// (within 1.5×), split into the quicker and slower hand-overs when both occurred: on a shared
/// VM the host's placement of the vCPUs changes multi-threaded speeds by seconds-long spells,
/// and a whole-run median mixes however many rounds each side spent in each.
func sameHostStateNote(ours: Timing, peer r: [String: Any]) -> String {
    let ourHs = ours.handovers, ourMs = batchMedians(ours.samples, sizes: ours.batchSizes)
    guard let hs = r["core_handover_us"] as? [Double], let ms = r["batch_median_ms"] as? [Double],
          hs.count == ourHs.count, ms.count == ourMs.count, hs.count == ms.count, !hs.isEmpty else { return "" }
    let pairs = (0..<hs.count).filter { max(hs[$0], ourHs[$0]) <= 1.5 * min(hs[$0], ourHs[$0]) }
    guard !pairs.isEmpty else { return "" }
    let threshold = 2 * (hs + ourHs).min()!
    let quick = pairs.filter { ourHs[$0] < threshold }, slow = pairs.filter { ourHs[$0] >= threshold }
    func part(_ idx: [Int], _ label: String) -> String? {
        guard !idx.isEmpty else { return nil }
        let ratios = idx.map { ms[$0] / ourMs[$0] }
        let h = medianOf(idx.map { ourHs[$0] })
        return String(format: "%.2f× in %d round(s) with a %.0f µs hand-over%@", medianOf(ratios), idx.count, h, label)
    }
    let parts = [part(quick, ""), part(slow, " (slow)")].compactMap { $0 }
    return "; by round, same host state: " + parts.joined(separator: ", ")
}

/// The peer harness kept running: it builds each runtime once, and then times as many runs of
/// one peer as asked, whenever asked, so that our runs and the peers' can alternate in rounds
/// instead of our runs bracketing the peers' once.
final class PeerServer {
    private let process: Process
    private let input = Pipe(), output = Pipe()
    private let script: String
    private var buffer = Data()
    /// The harness's first line: `ready` (name → version and layout) and the peers that failed.
    let setup: [String: Any]
    /// Peers that can be timed, in the harness's order.
    let names: [String]

    init(_ python: String, _ args: [String]) throws {
        // A harness that dies must give an error on our next request, not end this process.
        signal(SIGPIPE, SIG_IGN)
        (process, script) = try startPeerHarness(python, args, stdin: input, stdout: output)
        var first: [String: Any] = [:]
        var failure: Error?
        do { first = try PeerServer.readObject(output.fileHandleForReading, &buffer, python) } catch { failure = error }
        setup = first
        names = modelPeers.filter { (first["ready"] as? [String: Any])?[$0] != nil }
        if let failure { stop(); throw failure }
    }

    deinit { stop() }

    private func stop() {
        if process.isRunning {
            try? input.fileHandleForWriting.write(contentsOf: Data("quit\n".utf8))
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: script)
    }

    /// Stops the harness process (SIGSTOP) while our runs are timed, and lets it go on (SIGCONT).
    func pause() { if process.isRunning { kill(process.processIdentifier, SIGSTOP) } }
    func resume() { if process.isRunning { kill(process.processIdentifier, SIGCONT) } }

    /// Times `count` runs of peer `name`, after one untimed run, in milliseconds.
    func samples(_ name: String, count: Int) throws -> [Double] {
        do {
            try input.fileHandleForWriting.write(contentsOf: Data("run \(name) \(count)\n".utf8))
        } catch {
            // It has gone: what it printed before going says why.
            _ = try PeerServer.readObject(output.fileHandleForReading, &buffer, name)
            throw ToolError.io(path: name, detail: "the peer harness stopped reading: \(error)")
        }
        let obj = try PeerServer.readObject(output.fileHandleForReading, &buffer, name)
        guard let ts = obj["samples_ms"] as? [Double], ts.count == count else {
            throw ToolError.io(path: name, detail: "the peer harness answered \(obj) to a request for \(count) runs")
        }
        return ts
    }

    /// What `printPeers` and the JSON want: for each peer its median over all `samples`, the samples
    /// and what the harness reported of it; failed peers with their error.
    func results(_ samples: [String: [Double]]) -> [String: Any] {
        var out = setup
        out.removeValue(forKey: "ready")
        for name in names {
            var r = (setup["ready"] as? [String: Any])?[name] as? [String: Any] ?? [:]
            let s = samples[name] ?? []
            r["median_ms"] = medianOf(s)
            r["samples_ms"] = s
            out[name] = r
        }
        return out
    }

    /// The next line of the harness's output as a JSON object.
    private static func readObject(_ h: FileHandle, _ buffer: inout Data, _ what: String) throws -> [String: Any] {
        var passed = Data()
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffer[buffer.startIndex..<nl])
                buffer.removeSubrange(buffer.startIndex...nl)
                if let obj = try? JSONSerialization.jsonObject(with: line) as? [String: Any] { return obj }
                // Not ours (a library printing to stdout): passed over, but kept for the error below.
                passed.append(line + Data("\n".utf8))
                continue
            }
            let more = h.availableData
            if more.isEmpty {
                let text = String(decoding: (passed + buffer).suffix(300), as: UTF8.self)
                throw ToolError.io(path: what, detail: "the peer harness ended early; its output: \(text)")
            }
            buffer.append(more)
        }
    }
}

/// Our runs and every peer's, alternating over `rounds` rounds of about `repeats / rounds` runs
/// each, ours first: a slow spell of the host then falls on both sides instead of on one. Each
/// side gets one untimed run at the start of each round, so that both are timed warm (after the
/// other side's runs neither finds its data in cache, nor, for the peers, its threads awake).
/// Returns our timing and the peers' results (nil without `python`).
func measureAlternating(repeats: Int, rounds: Int, probe: PeakProbe?, peers python: String?, peerArgs: [String],
                        _ body: () -> Void) throws -> (Timing, [String: Any]?) {
    let handover = (probe?.threads ?? 1) > 1
    guard let python else { return (measure(repeats: repeats, probe: probe, handover: handover, body), nil) }
    let server = try PeerServer(python, peerArgs)
    let n = max(1, min(rounds, repeats))
    var ours = Timing()
    var theirs = [String: [Double]]()
    var theirHandovers = [String: [Double]]()
    var counts = [Int]()
    for r in 0..<n {
        let count = (r + 1) * repeats / n - r * repeats / n
        counts.append(count)
        // Nothing of the peers' (say their runtimes' spinning worker threads) runs during ours.
        server.pause()
        ours += measure(warmup: 1, repeats: count, probe: probe, handover: handover, body)
        server.resume()
        for name in server.names {
            if handover, let h = coreHandoverMicroseconds() { theirHandovers[name, default: []].append(h) }
            theirs[name, default: []] += try server.samples(name, count: count)
        }
    }
    var results = server.results(theirs)
    if handover {
        for name in server.names {
            guard var r = results[name] as? [String: Any], let hs = theirHandovers[name], hs.count == n,
                  let s = theirs[name] else { continue }
            r["core_handover_us"] = hs
            r["batch_median_ms"] = batchMedians(s, sizes: counts)
            results[name] = r
        }
    }
    return (ours, results)
}
