#include "replk_bf16.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

static inline BF16_TARGET __m512 dp(__m512 acc, __m512i a, __m512i b) {
    return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
}

/* Interleaves the two 16-value halves of a cvtne2ps result: (lo0 hi0 lo1 hi1 …). */
static inline BF16_TARGET __m512i interleave_halves(__m512i v) {
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                         23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(idx, v);
}

BF16_TARGET void replk_bf16_pack_a_panel(const float *src, long kc, uint32_t *dst) {
    const __mmask16 m12 = 0x0FFF;
    long kp = 0;
    for (; 2 * kp + 1 < kc; kp++) {
        __m512 lo = _mm512_maskz_loadu_ps(m12, src + (2 * kp) * 12);
        __m512 hi = _mm512_maskz_loadu_ps(m12, src + (2 * kp + 1) * 12);
        __m512i v = interleave_halves((__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        _mm512_mask_storeu_epi32(dst + kp * 12, m12, v);
    }
    if (2 * kp < kc) {
        __m512 lo = _mm512_maskz_loadu_ps(m12, src + (2 * kp) * 12);
        __m512i v = interleave_halves((__m512i)_mm512_cvtne2ps_pbh(_mm512_setzero_ps(), lo));
        _mm512_mask_storeu_epi32(dst + kp * 12, m12, v);
    }
}

/* 16×16 transpose of 32-bit words: afterwards v[j] lane r holds what v[r] lane j held. */
static inline BF16_TARGET void transpose16(__m512i v[16]) {
    __m512i a[16], b[16], c[16];
    for (int i = 0; i < 8; i++) {
        a[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        b[4 * i + 0] = _mm512_unpacklo_epi64(a[4 * i], a[4 * i + 2]);
        b[4 * i + 1] = _mm512_unpackhi_epi64(a[4 * i], a[4 * i + 2]);
        b[4 * i + 2] = _mm512_unpacklo_epi64(a[4 * i + 1], a[4 * i + 3]);
        b[4 * i + 3] = _mm512_unpackhi_epi64(a[4 * i + 1], a[4 * i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        c[i] = _mm512_shuffle_i32x4(b[i], b[i + 4], 0x88);
        c[i + 4] = _mm512_shuffle_i32x4(b[i], b[i + 4], 0xDD);
        c[i + 8] = _mm512_shuffle_i32x4(b[i + 8], b[i + 12], 0x88);
        c[i + 12] = _mm512_shuffle_i32x4(b[i + 8], b[i + 12], 0xDD);
    }
    for (int i = 0; i < 8; i++) {
        v[i] = _mm512_shuffle_i32x4(c[i], c[i + 8], 0x88);
        v[i + 8] = _mm512_shuffle_i32x4(c[i], c[i + 8], 0xDD);
    }
}

BF16_TARGET void replk_bf16_pack_a_rows(const float *src, long ld, long rows, long kc, uint32_t *dst) {
    const long pairs = (kc + 1) / 2;
    for (long kp0 = 0; kp0 < pairs; kp0 += 16) {
        /* Floats 2·kp0 ..< 2·kp0 + 32 of each row, cut at kc: an odd last depth pairs with zero. */
        const long left = kc - 2 * kp0;
        const __mmask16 mlo = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1);
        const __mmask16 mhi = left >= 32 ? 0xFFFF : left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1);
        __m512i v[16];
        for (int r = 0; r < 16; r++) {
            if (r < rows) {
                const float *row = src + r * ld + 2 * kp0;
                __m512 lo = _mm512_maskz_loadu_ps(mlo, row), hi = _mm512_maskz_loadu_ps(mhi, row + 16);
                /* cvtne2ps(hi, lo) holds lo's 16 values then hi's: words j = pairs (2j, 2j+1) in order. */
                v[r] = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
            } else {
                v[r] = _mm512_setzero_si512();
            }
        }
        transpose16(v);
        const long n = pairs - kp0 < 16 ? pairs - kp0 : 16;
        for (long j = 0; j < n; j++) _mm512_mask_storeu_epi32(dst + (kp0 + j) * 12, 0x0FFF, v[j]);
    }
}

BF16_TARGET void replk_bf16_pack_a_rows_bf16(const uint16_t *src, long ld, long rows, long kc, uint32_t *dst) {
    const long pairs = (kc + 1) / 2;
    for (long kp0 = 0; kp0 < pairs; kp0 += 16) {
        /* Values 2·kp0 ..< 2·kp0 + 32 of each row are already its 16 pair words, cut at kc. */
        const long left = kc - 2 * kp0;
        const __mmask32 m = left >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << left) - 1);
        __m512i v[16];
        for (int r = 0; r < 16; r++) {
            v[r] = r < rows ? _mm512_maskz_loadu_epi16(m, src + r * ld + 2 * kp0) : _mm512_setzero_si512();
        }
        transpose16(v);
        const long n = pairs - kp0 < 16 ? pairs - kp0 : 16;
        for (long j = 0; j < n; j++) _mm512_mask_storeu_epi32(dst + (kp0 + j) * 12, 0x0FFF, v[j]);
    }
}

BF16_TARGET void replk_bf16_store_rows(const float *src, long lds, long rows, long cols, uint16_t *dst, long ldd) {
    for (long r = 0; r < rows; r++) {
        const float *s = src + r * lds;
        uint16_t *d = dst + r * ldd;
        long j = 0;
        for (; j + 16 <= cols; j += 16) {
            _mm256_storeu_si256((__m256i *)(d + j), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(s + j)));
        }
        if (j < cols) {
            const __mmask16 m = (__mmask16)((1u << (cols - j)) - 1);
            _mm256_mask_storeu_epi16(d + j, m, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, s + j)));
        }
    }
}

BF16_TARGET void replk_bf16_round(const float *src, long count, uint16_t *dst) {
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m256i v = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), v);
    }
    if (i < count) {
        __mmask16 m = (__mmask16)((1u << (count - i)) - 1);
        __m256i v = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i));
        _mm256_mask_storeu_epi16(dst + i, m, v);
    }
}

/* One tile kernel per accumulator count: R rows of two zmm accumulators each stay in registers. */
#define TILE_KERNEL(R)                                                                                   \
    static BF16_TARGET void tile##R(long kpairs, const uint32_t *a, const uint32_t *b0, const uint32_t *b1, \
                                    const char *pf, long pfStep, float *c, long ldc, int accumulate,        \
                                    int rows) {                                                             \
        __m512 x0[R], x1[R];                                                                                \
        _Pragma("clang loop unroll(full)")                                                                  \
        for (int r = 0; r < R; r++) { x0[r] = _mm512_setzero_ps(); x1[r] = _mm512_setzero_ps(); }          \
        for (long kp = 0; kp < kpairs; kp++) {                                                              \
            __m512i v0 = _mm512_loadu_si512(b0 + kp * 16), v1 = _mm512_loadu_si512(b1 + kp * 16);         \
            _Pragma("clang loop unroll(full)")                                                              \
            for (int r = 0; r < R; r++) {                                                                   \
                __m512i s = _mm512_set1_epi32((int)a[kp * 12 + r]);                                        \
                x0[r] = dp(x0[r], s, v0);                                                                   \
                x1[r] = dp(x1[r], s, v1);                                                                   \
            }                                                                                               \
            __builtin_prefetch(pf, 0, 2);                                                                   \
            pf += pfStep;                                                                                   \
        }                                                                                                   \
        _Pragma("clang loop unroll(full)")                                                                  \
        for (int r = 0; r < R; r++) {                                                                       \
            if (r < rows) {                                                                                 \
                float *p = c + r * ldc;                                                                     \
                __m512 y0 = x0[r], y1 = x1[r];                                                              \
                if (accumulate) {                                                                           \
                    y0 = _mm512_add_ps(y0, _mm512_loadu_ps(p));                                             \
                    y1 = _mm512_add_ps(y1, _mm512_loadu_ps(p + 16));                                        \
                }                                                                                           \
                _mm512_storeu_ps(p, y0);                                                                    \
                _mm512_storeu_ps(p + 16, y1);                                                               \
            }                                                                                               \
        }                                                                                                   \
    }

TILE_KERNEL(12)
TILE_KERNEL(8)
TILE_KERNEL(4)

BF16_TARGET void replk_bf16_gemm_tile(long kpairs, const uint32_t *a, const uint32_t *b0, const uint32_t *b1,
                                      const char *prefetch, long prefetchStep,
                                      float *c, long ldc, int accumulate, int rows) {
    if (rows > 8) tile12(kpairs, a, b0, b1, prefetch, prefetchStep, c, ldc, accumulate, rows);
    else if (rows > 4) tile8(kpairs, a, b0, b1, prefetch, prefetchStep, c, ldc, accumulate, rows);
    else tile4(kpairs, a, b0, b1, prefetch, prefetchStep, c, ldc, accumulate, rows);
}

BF16_TARGET float replk_bf16_peak_loop(long iterations, float seed) {
    const __m512i a = (__m512i)_mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
    const __m512i b = (__m512i)_mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-4f), _mm512_set1_ps(1e-4f));
    __m512 c[24];
    for (int i = 0; i < 24; i++) c[i] = _mm512_set1_ps(seed + (float)i);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 24; i++) c[i] = dp(c[i], a, b);
    }
    __m512 s = _mm512_setzero_ps();
    for (int i = 0; i < 24; i++) s = _mm512_add_ps(s, c[i]);
    return _mm512_reduce_add_ps(s);
}

#else
/* Other architectures have no AVX512_BF16: the engine never calls these there. */
#include <stdlib.h>
void replk_bf16_pack_a_panel(const float *src, long kc, uint32_t *dst) { (void)src; (void)kc; (void)dst; abort(); }
void replk_bf16_pack_a_rows(const float *src, long ld, long rows, long kc, uint32_t *dst) {
    (void)src; (void)ld; (void)rows; (void)kc; (void)dst; abort();
}
void replk_bf16_pack_a_rows_bf16(const uint16_t *src, long ld, long rows, long kc, uint32_t *dst) {
    (void)src; (void)ld; (void)rows; (void)kc; (void)dst; abort();
}
void replk_bf16_store_rows(const float *src, long lds, long rows, long cols, uint16_t *dst, long ldd) {
    (void)src; (void)lds; (void)rows; (void)cols; (void)dst; (void)ldd; abort();
}
void replk_bf16_round(const float *src, long count, uint16_t *dst) { (void)src; (void)count; (void)dst; abort(); }
void replk_bf16_gemm_tile(long kpairs, const uint32_t *a, const uint32_t *b0, const uint32_t *b1,
                          const char *prefetch, long prefetchStep, float *c, long ldc, int accumulate, int rows) {
    (void)kpairs; (void)a; (void)b0; (void)b1; (void)prefetch; (void)prefetchStep; (void)c; (void)ldc;
    (void)accumulate; (void)rows; abort();
}
float replk_bf16_peak_loop(long iterations, float seed) { (void)iterations; (void)seed; abort(); }
#endif
