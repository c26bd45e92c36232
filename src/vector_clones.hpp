// MAHAL_VECTOR_CLONES: compile a hot loop for AVX-512 and AVX2 as well as the baseline.
//
// The library is built for baseline x86-64, where a 64-dimensional dot product runs two
// doubles wide. Hot kernels are compiled for the x86-64-v4 (AVX-512) and x86-64-v3 (AVX2 with
// FMA) levels as well; the loader picks the widest the CPU has. The levels, not the bare
// "avx512f" and "avx2" targets: those leave out FMA, and a multiply-add became two dependent
// instructions (a third of the AVX2 pair-distance kernel's time). GCC only: the levels need GCC
// 12, older ones keep the bare targets; Clang (up to 17 at least) refuses the attribute on
// templates, which the kernels are, and a Clang build runs the baseline code.
#pragma once

#if defined(__x86_64__) && defined(__has_attribute) && !defined(__clang__)
#if __has_attribute(target_clones) && __GNUC__ >= 12
#define MAHAL_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#elif __has_attribute(target_clones)
#define MAHAL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef MAHAL_VECTOR_CLONES
#define MAHAL_VECTOR_CLONES
#endif
