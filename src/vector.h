/*
** vector.h: how the core's flat element loops are compiled.
**
** GD_CLONES before a function compiles it once for each of x86-64-v4
** (AVX-512), x86-64-v3 (AVX2 and FMA) and the baseline instruction set;
** the loader picks the widest one the processor runs (an ifunc resolver
** asks the CPU). The loops inside are vectorised by GCC under local
** options (see the pragmas beside them). Floating-point contraction
** stays off in every copy (those pragmas say so, whatever CFLAGS
** asks), and a fused multiply-add appears only where the source calls
** fma(), which rounds once on every machine; so the wide copies give
** the same doubles as the baseline one, bit for bit, and an
** element-wise result never depends on the machine it was computed
** on.
**
** Limits: clones are made only by GCC on x86-64 GNU/Linux; other
** compilers and systems get the single baseline copy. Where the
** processor has no FMA, fma() is the C library's, which is slower.
*/
#ifndef GD_VECTOR_H
#define GD_VECTOR_H

#include <stdint.h>     /* defines __GLIBC__ where glibc is the libc */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && defined(__GLIBC__)
#define GD_CLONES                                                       \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3",      \
                               "default")))
#else
#define GD_CLONES
#endif

#endif
