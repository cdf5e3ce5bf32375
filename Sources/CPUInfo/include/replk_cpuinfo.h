#ifndef REPLK_CPUINFO_H
#define REPLK_CPUINFO_H

/// 1 when the CPU runs code built for the given x86-64 micro-architecture level (v3: AVX2 + FMA;
/// v4: AVX-512 F/BW/CD/DQ/VL), 0 otherwise; always 1 on other architectures.
int replk_cpu_supports_x86_64_v3(void);
int replk_cpu_supports_x86_64_v4(void);

/// 1 when the CPU runs the AVX-512 build and has AVX512_BF16 (`vdpbf16ps`, `vcvtne2ps2bf16`:
/// AMD Zen 4 and later, Intel Cooper Lake and Sapphire Rapids and later), 0 otherwise.
int replk_cpu_supports_avx512bf16(void);

/// 1 on an Intel CPU, 0 otherwise (which split of the depth-wise convs pays depends on how fast a
/// core reads strided lines from L3; see `depthwiseStripsPreferred` in Sources/Kernels).
int replk_cpu_is_intel(void);

/// The median time, in microseconds, over `rounds` rounds, for one thread pinned to the first
/// allowed CPU to write 1 MB and another pinned to the second to read it all: how long data takes
/// to pass between two of this process's cores right now. A shared VM's host can move the vCPUs
/// so that this grows fivefold for seconds at a time. -1 with fewer than two CPUs or where threads cannot
/// be pinned (non-Linux). The caller's CPU affinity is left as it was.
double replk_core_handover_microseconds(int rounds);

#endif
