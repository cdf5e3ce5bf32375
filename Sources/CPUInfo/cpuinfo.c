#include "replk_cpuinfo.h"

/* Built without any -march flag, so this runs on every CPU of the architecture. */
#if defined(__x86_64__)
int replk_cpu_supports_x86_64_v3(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2") &&
           __builtin_cpu_supports("f16c") && __builtin_cpu_supports("movbe");
}
int replk_cpu_supports_x86_64_v4(void) {
    return replk_cpu_supports_x86_64_v3() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
int replk_cpu_supports_avx512bf16(void) {
    return replk_cpu_supports_x86_64_v4() && __builtin_cpu_supports("avx512bf16");
}
int replk_cpu_is_intel(void) {
    __builtin_cpu_init();
    return __builtin_cpu_is("intel");
}
#else
int replk_cpu_supports_x86_64_v3(void) { return 1; }
int replk_cpu_supports_x86_64_v4(void) { return 1; }
int replk_cpu_supports_avx512bf16(void) { return 0; }
int replk_cpu_is_intel(void) { return 0; }
#endif
