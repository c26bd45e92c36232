// MAHAL_VECTOR_CLONES: compile a hot loop for AVX-512 and AVX2 as well as the baseline.
//
// The library is built for baseline x86-64, where a 64-dimensional dot product runs two
// doubles wide. Hot kernels are compiled for AVX-512 and AVX2 as well; the loader picks the
// widest the CPU has. GCC only: Clang (up to 17 at least) refuses the attribute on templates,
// which the kernels are; a Clang build runs the baseline code.
#pragma once

#if defined(__x86_64__) && defined(__has_attribute) && !defined(__clang__)
#if __has_attribute(target_clones)
#define MAHAL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef MAHAL_VECTOR_CLONES
#define MAHAL_VECTOR_CLONES
#endif
