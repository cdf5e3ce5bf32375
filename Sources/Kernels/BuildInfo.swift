/// The x86-64 level the kernels were compiled for ("x86-64-v4", "x86-64-v3", "x86-64", or "native"
/// on other architectures). Reading it executes no vector code.
#if REPLK_X86_64_V4
public let kernelTarget = "x86-64-v4"
#elseif REPLK_X86_64_V3
public let kernelTarget = "x86-64-v3"
#elseif REPLK_X86_64_GENERIC
public let kernelTarget = "x86-64"
#else
public let kernelTarget = "native"
#endif
