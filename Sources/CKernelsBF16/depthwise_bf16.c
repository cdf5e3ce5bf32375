#include "replk_dw_bf16.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define DW_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define DW_INLINE static inline __attribute__((always_inline)) DW_TARGET

/* (lo0 hi0 lo1 hi1 …) from a cvtne2ps result whose low 16 words are lo and high 16 are hi. */
DW_INLINE __m512i dw_interleave_halves(__m512i v) {
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                         23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(idx, v);
}

DW_TARGET void replk_dw_bf16_pair_row(const float *src, long pixelStride, long width, int lanes, int leftEdge,
                                      uint32_t *dst) {
    const __mmask16 m = lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
    long ix = leftEdge ? -1 : 0;
    __m512 cur = ix < 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, src);
    for (; ix < width; ix++) {
        __m512 next = ix + 1 < width ? _mm512_maskz_loadu_ps(m, src + (ix + 1) * pixelStride) : _mm512_setzero_ps();
        __m512i v = dw_interleave_halves((__m512i)_mm512_cvtne2ps_pbh(next, cur));
        _mm512_storeu_si512(dst, v);
        dst += 16;
        cur = next;
    }
}

DW_TARGET void replk_dw_bf16_pair_row_bf16(const uint16_t *src, long pixelStride, long width, int lanes,
                                           int leftEdge, uint32_t *dst) {
    const __mmask16 m = lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
    long ix = leftEdge ? -1 : 0;
    __m256i cur = ix < 0 ? _mm256_setzero_si256() : _mm256_maskz_loadu_epi16(m, src);
    for (; ix < width; ix++) {
        __m256i next = ix + 1 < width ? _mm256_maskz_loadu_epi16(m, src + (ix + 1) * pixelStride) : _mm256_setzero_si256();
        /* cur's 16 values in the low words and next's in the high ones, as cvtne2ps(next, cur) leaves them. */
        __m512i v = dw_interleave_halves(_mm512_inserti64x4(_mm512_castsi256_si512(cur), next, 1));
        _mm512_storeu_si512(dst, v);
        dst += 16;
        cur = next;
    }
}

/* One group of G pair weights held in registers against a tile of T outputs: every pair-row entry
   the group touches (T + 2G − 2 of them) is loaded once, if it is inside the map (bit d of
   `inside`), and feeds each (output t, pair j) with t + 2j = d, into accumulator t·S + j mod S
   (S = 2: two chains per output, summed at the end). With T, G and S constants after inlining,
   the loops unroll fully and the accumulators stay in zmm registers. */
DW_INLINE void dw_group(__m512 *acc, const int T, const int G, const uint32_t *ip, const uint32_t *wp,
                        uint64_t inside, const int S) {
    __m512i w[16];
    _Pragma("clang loop unroll(full)")
    for (int j = 0; j < G; j++) w[j] = _mm512_loadu_si512(wp + 16 * j);
    _Pragma("clang loop unroll(full)")
    for (int d = 0; d < T + 2 * G - 2; d++) {
        if (__builtin_expect((inside >> d) & 1, 1)) {
            __m512i v = _mm512_loadu_si512(ip + 16 * d);
            _Pragma("clang loop unroll(full)")
            for (int j = 0; j < G; j++) {
                const int t = d - 2 * j;
                if (t >= 0 && t < T) acc[t * S + j % S] = _mm512_dpbf16_ps(acc[t * S + j % S], (__m512bh)v, (__m512bh)w[j]);
            }
        }
    }
}

/* `v` clamped to 0 … top. */
DW_INLINE long dw_clamp(long v, long top) { return v < 0 ? 0 : (v > top ? top : v); }

#define DW_CASE(T, G) case G: dw_group(acc, T, G, ip, wp, inside, SPLIT); break;

/* A tile of T outputs with S accumulators each and groups of at most GMAX pairs (T·S + GMAX + 2 ≤
   32 registers). Groups are as equal as possible (16 pairs in groups of at most 12 run as 8 + 8,
   not 12 + 4) and laid out once per tile, before the kernel rows, which all run the same groups
   (laid out per row, their division cost a 27×27 stack on 14² about 6 %). */
#define DW_TILE(NAME, T, S, GMAX, CASES)                                                                           \
    static DW_TARGET void NAME(const uint32_t *rows, long rowStride, long rowCount,                 \
                                     const uint32_t *weights, long pairsPerRow, long kpLo, long kpHi,      \
                                     long inputLo, long inputHi, const float *bias, int relu,              \
                                     float *out, long outStride, int valid, int lanes) {                   \
        const int SPLIT = S;                                                                               \
        __m512 acc[T * S];                                                                                 \
        const __m512 b = _mm512_loadu_ps(bias);                                                            \
        _Pragma("clang loop unroll(full)")                                                                 \
        for (int t = 0; t < T * S; t++) acc[t] = t % S ? _mm512_setzero_ps() : b;                          \
        long first[REPLK_DW_BF16_MAX_GROUPS], size[REPLK_DW_BF16_MAX_GROUPS];                              \
        uint64_t mask[REPLK_DW_BF16_MAX_GROUPS];                                                           \
        const long groups = (kpHi - kpLo + GMAX - 1) / GMAX;                                               \
        const long per = groups > 0 ? (kpHi - kpLo + groups - 1) / groups : 0;                             \
        /* Scalar: vectorized, its stores were read back one element at a time, and the tiles of      \
           7×7 maps ran 20 % slower. */                                                                    \
        _Pragma("clang loop vectorize(disable) interleave(disable)")                                      \
        for (long i = 0; i < groups; i++) {                                                                \
            const long kp0 = kpLo + i * per, g = kpHi - kp0 < per ? kpHi - kp0 : per;                      \
            const long span = T + 2 * g - 2;                                                               \
            const long lo = dw_clamp(inputLo - 2 * kp0, span), hi = dw_clamp(inputHi - 2 * kp0, span);    \
            first[i] = kp0;                                                                                \
            size[i] = g;                                                                                   \
            mask[i] = hi > lo ? (1ull << hi) - (1ull << lo) : 0;                                           \
        }                                                                                                  \
        for (long r = 0; r < rowCount; r++) {                                                              \
            const uint32_t *row = rows + r * rowStride, *wr = weights + r * pairsPerRow * 16;              \
            for (long i = 0; i < groups; i++) {                                                            \
                const uint64_t inside = mask[i];                                                           \
                const uint32_t *ip = row + 2 * first[i] * 16, *wp = wr + first[i] * 16;                    \
                switch (size[i]) { CASES default: break; }                                                 \
            }                                                                                              \
        }                                                                                                  \
        _Pragma("clang loop unroll(full)")                                                                 \
        for (int t = 0; t < T; t++) acc[t] = S == 2 ? _mm512_add_ps(acc[2 * t], acc[2 * t + 1]) : acc[t];  \
        if (relu) {                                                                                        \
            _Pragma("clang loop unroll(full)")                                                             \
            for (int t = 0; t < T; t++) acc[t] = _mm512_max_ps(_mm512_setzero_ps(), acc[t]);               \
        }                                                                                                  \
        if (valid == T && lanes == 16) {                                                                   \
            _Pragma("clang loop unroll(full)")                                                             \
            for (int t = 0; t < T; t++) _mm512_storeu_ps(out + t * outStride, acc[t]);                     \
        } else {                                                                                           \
            const __mmask16 m = lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);          \
            _Pragma("clang loop unroll(full)")                                                             \
            for (int t = 0; t < T; t++) {                                                                  \
                if (t < valid) _mm512_mask_storeu_ps(out + t * outStride, m, acc[t]);                      \
            }                                                                                              \
        }                                                                                                  \
    }

#define DW_CASES_12(T) DW_CASE(T, 12) DW_CASE(T, 11) DW_CASE(T, 10) DW_CASE(T, 9) DW_CASE(T, 8) DW_CASE(T, 7) \
    DW_CASE(T, 6) DW_CASE(T, 5) DW_CASE(T, 4) DW_CASE(T, 3) DW_CASE(T, 2) DW_CASE(T, 1)

DW_TILE(dw_tile16, 16, 1, 12, DW_CASES_12(16))
DW_TILE(dw_tile14, 14, 1, 12, DW_CASES_12(14))
/* Eight outputs have too few chains for vdpbf16ps's latency (6 cycles, 2 per cycle): with two per
   output, 7×7 maps with 13×13 kernels ran 1.13× and 24-wide ones with 31×31 1.22× faster. */
DW_TILE(dw_tile8, 8, 2, 12, DW_CASES_12(8))

DW_TARGET void replk_dw_bf16_tile(int tile, const uint32_t *rows, long rowStride, long rowCount,
                                  const uint32_t *weights, long pairsPerRow, long kpLo, long kpHi,
                                  long inputLo, long inputHi, const float *bias, int relu,
                                  float *out, long outStride, int valid, int lanes) {
    switch (tile) {
    case 16:
        dw_tile16(rows, rowStride, rowCount, weights, pairsPerRow, kpLo, kpHi, inputLo, inputHi, bias, relu,
                  out, outStride, valid, lanes);
        break;
    case 14:
        dw_tile14(rows, rowStride, rowCount, weights, pairsPerRow, kpLo, kpHi, inputLo, inputHi, bias, relu,
                  out, outStride, valid, lanes);
        break;
    default:
        dw_tile8(rows, rowStride, rowCount, weights, pairsPerRow, kpLo, kpHi, inputLo, inputHi, bias, relu,
                 out, outStride, valid, lanes);
        break;
    }
}

#else
/* Other architectures have no AVX512_BF16: the engine never calls these there. */
#include <stdlib.h>
void replk_dw_bf16_pair_row_bf16(const uint16_t *src, long pixelStride, long width, int lanes, int leftEdge,
                                 uint32_t *dst) {
    (void)src; (void)pixelStride; (void)width; (void)lanes; (void)leftEdge; (void)dst; abort();
}
void replk_dw_bf16_pair_row(const float *src, long pixelStride, long width, int lanes, int leftEdge, uint32_t *dst) {
    (void)src; (void)pixelStride; (void)width; (void)lanes; (void)leftEdge; (void)dst; abort();
}
void replk_dw_bf16_tile(int tile, const uint32_t *rows, long rowStride, long rowCount,
                        const uint32_t *weights, long pairsPerRow, long kpLo, long kpHi,
                        long inputLo, long inputHi, const float *bias, int relu,
                        float *out, long outStride, int valid, int lanes) {
    (void)tile; (void)rows; (void)rowStride; (void)rowCount; (void)weights; (void)pairsPerRow; (void)kpLo;
    (void)kpHi; (void)inputLo; (void)inputHi; (void)bias; (void)relu; (void)out; (void)outStride; (void)valid;
    (void)lanes; abort();
}
#endif
