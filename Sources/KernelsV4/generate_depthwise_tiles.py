"""Generates Sources/KernelsV4/Generated/DepthwiseTiles.swift (Sources/KernelsV3 links to it):
register-tiled depth-wise convolution kernels.

Run from the repository root after editing: python3 Sources/KernelsV4/generate_depthwise_tiles.py
(an optional argument writes elsewhere; GeneratedCodeTests does that and compares).

The input is in a channel-blocked layout with columns on both sides of each row ([C/16][H][padLeft
+ W + padRight][16]), so a row of one 16-channel block is contiguous; the AVX2 tiles read those
columns (zeros), the AVX-512 tiles skip them (never written). For one output row, one channel block
and a tile of T output pixels, the T accumulators stay in zmm registers across the whole window;
taps are taken in groups of G whose weight vectors are loaded into registers once, and then every
input vector the group touches is loaded once and feeds each (output, tap) pair it belongs to (up
to G FMAs). The caller limits the taps to those that reach the map for at least one output of the
tile and the rows to those inside the map, and the tile skips every input vector outside the map
(outside `inputLo ..< inputHi`), with all the (output, tap) pairs it feeds: a 31×31 window on a
32-wide row had 24 % of its FMAs there, in the tiles at both edges (1.22× on a 384-channel 32²
stack, 1.09× on 64², one thread on a Zen 4; the mirrored band for windows that span the row needs
no skip; the AVX2 tiles do not skip, see below). Swift has no macros that could unroll this, hence
the generator: one function per tile width T, with a `switch` over the size of the last tap group.
"""
TILES = {16: 12, 14: 12, 8: 16}   # tile width T -> largest tap group G (T + G + 2 <= 32 registers; 14 + 14 spilled)
# The AVX2 build (16 ymm registers of 8 lanes) runs each 16-channel block as two halves of 8 lanes:
# tiles of 8 outputs and tap groups of up to 4. (Measured on Zen 3: groups of 6 spill, and tiles of
# 10 or 12 outputs spill and run at half the speed.) Its input rows and weights are in half-planes of
# 8 lanes (pixel stride 8 floats), so each 64-byte line it pulls from L2 is used whole; with the
# halves interleaved in 16-lane pixels it ran 10–25 % slower at K = 31 (L2 → L1 traffic doubled).
TILES_AVX2 = {8: 4}

out = []
w = out.append


def emit_store_lanes(vec, store, lanes):
    w("/// Stores the first `lanes` lanes of `v` at `p`.")
    w("@inline(__always)")
    w(f"func storeLanes(_ v: {vec}, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {{")
    w(f"    if lanes == {lanes} {{ {store}(v, p) }} else {{ for l in 0..<lanes {{ p[l] = v[l] }} }}")
    w("}")
    w("")


def emit_tile(name, T, GMAX, lanes, doc, skips_padding):
    """One tile function: T accumulators of `lanes` lanes over tap groups of up to GMAX; pixels and
    taps are `lanes` floats apart. With `skips_padding`, input vectors outside inputLo ..< inputHi
    are skipped."""
    S = lanes
    vec, load, store, gelu = {16: ("V16", "load16", "store16", "gelu16"), 8: ("V8", "load8", "store8", "gelu8")}[lanes]
    for line in doc:
        w("/// " + line)
    w("@inline(__always)")
    w(f"func {name}(rows: UnsafePointer<Float>, rowStride: Int, rowCount: Int, weights: UnsafePointer<Float>,")
    w(f"                        kernelW K: Int, kxRange: Range<Int>, bias: {vec}, activation: Activation,")
    w("                        output: UnsafeMutablePointer<Float>, outputStride: Int, valid: Int, lanes: Int,")
    if skips_padding:
        w("                        wrapRow: Int = Int.max, wrapBack: Int = 0,")
        w("                        inputLo: Int = Int.min / 2, inputHi: Int = Int.max / 2) {")
    else:
        w("                        wrapRow: Int = Int.max, wrapBack: Int = 0) {")
    for t in range(T):
        w(f"    var a{t} = bias")
    w("    for r in 0..<rowCount {")
    # Rows from `wrapRow` on lie `wrapBack` floats back: the strips' scratch is a ring of rows.
    w("        let row = rows + r * rowStride - (r >= wrapRow ? wrapBack : 0)")
    w(f"        let wr = weights + r * K * {S}")
    w("        var kx0 = kxRange.lowerBound")
    w("        while kx0 < kxRange.upperBound {")
    w(f"            // Equal groups of at most {GMAX} taps (for 27 taps and groups of 12: 9 + 9 + 9, not 12 + 12 + 3).")
    w(f"            let rest = kxRange.upperBound - kx0, groups = (rest + {GMAX - 1}) / {GMAX}")
    w(f"            let g = (rest + groups - 1) / groups")
    w(f"            let wp = wr + kx0 * {S}")
    w(f"            let ip = row + kx0 * {S}")
    w("            switch g {")
    for G in range(GMAX, 0, -1):
        w(f"            case {G}:")
        for j in range(G):
            w(f"                let w{j} = {load}(wp + {S * j})")
        if skips_padding:
            # Bit d set: input vector d of this group is inside the map (outside it, its FMAs would
            # add padding). One test-and-branch per vector; `d >= lo && d < hi` compiled to seven
            # instructions each.
            w(f"                let lo = maskBit(inputLo - kx0, {T + G - 1})")
            w(f"                let hi = maskBit(inputHi - kx0, {T + G - 1})")
            w("                let inside = (1 &<< hi) &- (1 &<< lo) as UInt64")
        for d in range(T + G - 1):
            pairs = [(d - j, j) for j in range(G) if 0 <= d - j < T]
            cond = f"if inside & 0x{1 << d:x} != 0" if skips_padding else "do"
            w(f"                {cond} {{ let v = {load}(ip + {S * d})")
            for (t, j) in pairs:
                w(f"                    a{t}.addProduct(v, w{j})")
            w("                }")
    w("            default: break")
    w("            }")
    w("            kx0 += g")
    w("        }")
    w("    }")
    # The epilogue is written out per accumulator: a nested `put` helper was compiled as an
    # out-of-line call per output (8–16 calls per tile), as costly as a 7×7 window.
    acc = [f"a{t}" for t in range(T)]
    w("    switch activation {")
    w("    case .none: break")
    w("    case .relu:")
    for a in acc:
        w(f"        {a} = {a}.replacing(with: 0, where: {a} .< 0)")
    w("    case .gelu:")
    for a in acc:
        w(f"        {a} = {gelu}({a})")
    w("    }")
    w(f"    if valid == {T} && lanes == {lanes} {{")
    for t, a in enumerate(acc):
        w(f"        {store}({a}, output + {t} * outputStride)")
    w("    } else {")
    for t, a in enumerate(acc):
        w(f"        if {t} < valid {{ storeLanes({a}, output + {t} * outputStride, lanes) }}")
    w("    }")
    w("}")
    w("")


w("// Generated by `python3 Sources/KernelsV4/generate_depthwise_tiles.py` (run from the repository root) —")
w("// do not edit by hand; GeneratedCodeTests fails when this file differs from what that command writes.")
w("")
w("import RepLKKernelCore")
w("")
w("#if !REPLK_V3")
emit_store_lanes("V16", "store16", 16)
w("/// `v` clamped to `0 ... top`, as a shift count. Written out: in the larger tiles LLVM left `min`")
w("/// and `max` as calls, and every call spilled the accumulators to the stack (14-output tiles on")
w("/// 27×27 at 14² ran at 40–50 % of peak).")
w("@inline(__always)")
w("func maskBit(_ v: Int, _ top: Int) -> UInt64 {")
w("    UInt64(truncatingIfNeeded: v < 0 ? 0 : (v > top ? top : v))")
w("}")
w("")
for T, GMAX in TILES.items():
    emit_tile(f"depthwiseTile{T}", T, GMAX, 16, [
        f"A tile of {T} outputs × 16 channels: `rows` points at the blocked, padded input row of the first",
        "kernel row used (already offset to the tile's first output), `weights` at that kernel row's",
        "blocked taps; taps `kxRange` of `kernelW`. Stores the first `valid` outputs at `output` (stride",
        "`outputStride` floats), after bias and activation; `lanes` < 16 stores only that many channels.",
        "Kernel rows from `wrapRow` on are read `wrapBack` floats before where `rowStride` puts them.",
        "Input pixels outside `inputLo ..< inputHi` (counted from the tile's first) are padding, never read."],
        skips_padding=True)
w("#else")
emit_store_lanes("V8", "store8", 8)
for T, GMAX in TILES_AVX2.items():
    emit_tile(f"depthwiseHalfTile{T}", T, GMAX, 8, [
        f"A tile of {T} outputs × 8 channels (one half of a 16-channel block): `rows` points at the padded",
        "input row of the first kernel row used in that half's plane (8 floats per pixel, already offset",
        "to the tile's first output), `weights` at that kernel row's taps in the half's weight plane",
        "(8 floats per tap); taps `kxRange` of `kernelW`. Stores the first `valid` outputs at `output`",
        "(stride `outputStride` floats), after bias and activation; `lanes` < 8 stores only that many channels."],
        # The checks cost the AVX2 tiles 1.4× on a 7×7 and 31×31 stack (Zen 4, REPLK_KERNELS=v3).
        skips_padding=False)
w("#endif")
import sys
target = sys.argv[1] if len(sys.argv) > 1 else 'Sources/KernelsV4/Generated/DepthwiseTiles.swift'
open(target, 'w').write("\n".join(out) + "\n")
print(len(out), "lines ->", target)
