/*
** vector.h: how the core's flat element loops are compiled.
**
** GD_CLONES before a function compiles it once for each of x86-64-v4
** (AVX-512), x86-64-v3 (AVX2 and FMA) and the baseline instruction set;
** the loader picks the widest one the processor runs (an ifunc resolver
** asks the CPU). Such functions stand between GD_LOOPS_BEGIN and
** GD_LOOPS_END, which give GCC local options for their loops: vectorise
** them (by the dynamic cost model), if-convert comparisons (no trapping
** math: the core never reads the floating-point exception flags), turn
** no loop into a library call (each stays one pass), and contract
** nothing, whatever CFLAGS asks. A fused multiply-add appears only where
** the source calls fma(), which rounds once on every machine; so the
** wide copies give the same doubles as the baseline one, bit for bit,
** and an element-wise result never depends on the machine it was
** computed on (tests/clones_spec.lua checks the kernels).
**
** Limits: clones are made only by GCC on x86-64 GNU/Linux; other
** compilers and systems get the single baseline copy. Where the
** processor has no FMA, fma() is the C library's, which is slower.
*/
#ifndef GD_VECTOR_H
#define GD_VECTOR_H

#include <stdint.h>     /* defines __GLIBC__ where glibc is the libc */

/* A build may define GD_CLONES empty for one copy of each function, as
** tests/clones_spec.lua does to build each level alone. */
#ifndef GD_CLONES
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && defined(__GLIBC__)
#define GD_CLONES                                                       \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3",      \
                               "default")))
#else
#define GD_CLONES
#endif
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define GD_LOOPS_BEGIN                                                  \
  _Pragma("GCC push_options")                                           \
  _Pragma("GCC optimize(\"tree-vectorize\")")                           \
  _Pragma("GCC optimize(\"vect-cost-model=dynamic\")")                  \
  _Pragma("GCC optimize(\"no-trapping-math\")")                         \
  _Pragma("GCC optimize(\"no-tree-loop-distribute-patterns\")")         \
  _Pragma("GCC optimize(\"fp-contract=off\")")
#define GD_LOOPS_END _Pragma("GCC pop_options")
#else
#define GD_LOOPS_BEGIN
#define GD_LOOPS_END
#endif

#endif
