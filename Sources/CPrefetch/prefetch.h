#ifndef REPLK_PREFETCH_H
#define REPLK_PREFETCH_H

// Swift has no prefetch intrinsic; this header-only module gives the kernels one. Being
// `static inline`, it is compiled into each caller (one prefetcht1, no call).

/// Hints the CPU to bring the cache line holding `p` into L2 (and L3) for reading. Never faults.
static inline void replk_prefetch_l2(const void *p) { __builtin_prefetch(p, 0, 2); }

#endif
