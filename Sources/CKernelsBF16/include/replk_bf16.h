#ifndef REPLK_BF16_H
#define REPLK_BF16_H

#include <stdint.h>

// bf16 kernels for CPUs with AVX512_BF16 (vdpbf16ps, vcvtne2ps2bf16). Each function carries a
// function-level `target` attribute, so this target needs no global instruction-set flags; call
// them only where `replk_cpu_supports_avx512bf16()` (CPUInfo) says the CPU has the instructions.
//
// Layouts (a "pair" is two bf16 values of consecutive depth k, k+1, low half first, in one 32-bit word):
// - A micro-panel of 12 rows over `kpairs` pairs: `a[kp * 12 + r]`.
// - A B half-panel of 16 columns: `b[kp * 16 + j]`, the two halves of a 32-column panel apart.

/// Converts a float32 micro-panel of 12 rows and depth `kc` (`src[kk * 12 + r]`) into bf16 pairs
/// (`dst[kp * 12 + r]`, ⌈kc/2⌉ pairs; an odd last depth is paired with zero), rounding to nearest
/// even as `vcvtne2ps2bf16` does (denormal inputs read as zero, NaN stays NaN).
void replk_bf16_pack_a_panel(const float *src, long kc, uint32_t *dst);

/// Packs `rows` (≤ 12) rows of a row-major float32 matrix (row stride `ld`) over depth `kc` straight
/// into a bf16 micro-panel (`dst[kp * 12 + r]`, ⌈kc/2⌉ pairs; rows past `rows` and an odd last
/// depth are zero): 16 pairs of each row are rounded at once and transposed in registers, with no
/// float32 panel in between.
void replk_bf16_pack_a_rows(const float *src, long ld, long rows, long kc, uint32_t *dst);

/// Like `replk_bf16_pack_a_rows` from rows that are bf16 already (`src` row stride `ld` values):
/// the same words a float32 row rounded by `replk_bf16_store_rows` would give, with no rounding left.
void replk_bf16_pack_a_rows_bf16(const uint16_t *src, long ld, long rows, long kc, uint32_t *dst);

/// Rounds `rows` × `cols` floats (row stride `lds`) to bf16 (`vcvtneps2bf16`, nearest even,
/// denormals to zero: the rounding the packing of A does) into `dst` (row stride `ldd`).
void replk_bf16_store_rows(const float *src, long lds, long rows, long cols, uint16_t *dst, long ldd);

/// Rounds `count` floats to bf16 bit patterns with `vcvtne2ps2bf16`: the hardware's rounding, for tests.
void replk_bf16_round(const float *src, long count, uint16_t *dst);

/// C[rows × 32] (+)= A · [B0 | B1] over `kpairs` pairs with vdpbf16ps (float32 accumulation): rows
/// r < `rows` of C at `c + r * ldc`, added to what is there when `accumulate`. `rows` ≤ 12.
void replk_bf16_gemm_tile(long kpairs, const uint32_t *a, const uint32_t *b0, const uint32_t *b1,
                          const char *prefetch, long prefetchStep,
                          float *c, long ldc, int accumulate, int rows);

/// A loop of independent vdpbf16ps on zmm registers (24 chains: with 12 a Zen 5 core stalls on the
/// instruction's latency), for measuring the bf16 peak. Each iteration is 24 × 32 multiply-adds.
/// Returns a value depending on every chain.
float replk_bf16_peak_loop(long iterations, float seed);

#endif
