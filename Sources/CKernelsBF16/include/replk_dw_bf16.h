#ifndef REPLK_DW_BF16_H
#define REPLK_DW_BF16_H

#include <stdint.h>

// bf16 depth-wise conv tiles (stride 1) for CPUs with AVX512_BF16, with function-level `target`
// attributes like replk_bf16.h: call them only where `replk_cpu_supports_avx512bf16()` says so.
//
// Layouts, for one block of 16 channels (a "pair" word holds two bf16 values, the first in the
// low half):
// - A pair row of one input row: entry u (16 words, 64 bytes) holds, for each channel c,
//   (in[u − padLeft][c], in[u − padLeft + 1][c]), zero outside the map; u counts padded columns.
// - Pair weights of one kernel row: entry kp (16 words) holds (w[2kp][c], w[2kp + 1][c]), the
//   second half zero past the kernel's width.
// Output ox of a kernel row is then the sum over pairs kp of dot(pairRow[ox + 2kp], weights[kp]).

/// Writes the pair-row entries of one input row for padded columns from `leftEdge ? padLeft − 1 :
/// padLeft` up to `padLeft + width − 1` at `dst` (16 words each, the first at `dst`), rounding to
/// bf16 with `vcvtne2ps2bf16` (nearest even; denormals read as zero). `src` is the row's first
/// pixel of the block (NHWC: pixels `pixelStride` floats apart); `lanes` < 16 reads only that many
/// channels and zeroes the rest.
void replk_dw_bf16_pair_row(const float *src, long pixelStride, long width, int lanes, int leftEdge, uint32_t *dst);

/// `replk_dw_bf16_pair_row` from a row whose values are bf16 already (`src` and `pixelStride` in
/// bf16 values): the same entries, with nothing left to round.
void replk_dw_bf16_pair_row_bf16(const uint16_t *src, long pixelStride, long width, int lanes, int leftEdge,
                                 uint32_t *dst);

/// Groups of pairs a tile runs per kernel row at most: kernels up to 2 · 12 · 16 = 384 taps wide
/// (a tile runs its pairs in groups of at most 12).
#define REPLK_DW_BF16_MAX_GROUPS 16

/// One tile of `tile` (16, 14 or 8) outputs × 16 channels of one output row, with float32
/// accumulators in registers: out[t] = bias + Σ_r Σ_kp dot(rows[r][t + 2kp], weights[r][kp]) for
/// kernel rows r < `rowCount` (pair row r at `rows + r·rowStride` words, already offset to the
/// tile's first output; its pair weights at `weights + r·pairsPerRow·16`) and pairs `kpLo ..< kpHi`.
/// Pair-row entries outside `inputLo ..< inputHi` (counted from the tile's first) are never read:
/// they lie wholly in the padding. Stores the first `valid` outputs at `out + t·outStride` (ReLU
/// first when `relu`), `lanes` < 16 channels of them masked; `bias` holds 16 floats.
void replk_dw_bf16_tile(int tile, const uint32_t *rows, long rowStride, long rowCount,
                        const uint32_t *weights, long pairsPerRow, long kpLo, long kpHi,
                        long inputLo, long inputHi, const float *bias, int relu,
                        float *out, long outStride, int valid, int lanes);

#endif
