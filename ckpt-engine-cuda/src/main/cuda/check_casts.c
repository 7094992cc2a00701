// Host-side check of casts.h against the java engine: prints one hash per (source, target) dtype pair over every
// fp32/fp16/bf16 bit pattern and 2^30 sampled fp64 patterns; CheckCasts.java prints the same from
// ckpt.convert.exec.ElementCast. check_casts.sh compiles and runs both and compares. No GPU needed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "casts.h"

#define BLOCK (1u << 20)

static ck_u64 f64_sample(ck_u64 i) {
    // High 32 bits walk every sign/exponent/top-mantissa pattern; the low bits cycle through the rounding cases.
    ck_u64 hi = (i << 2) & 0xFFFFFFFFULL;
    ck_u64 lows[4] = {0, 0x10000000ULL, 0x10000001ULL, (i * 0x9E3779B97F4A7C15ULL) >> 32};
    return (hi << 32) | lows[i & 3];
}

static ck_u64 mix(ck_u64 h, ck_u64 w) { return (h ^ w) * 0x100000001B3ULL; }

int main(void) {
    int codes[4] = {CK_F32, CK_BF16, CK_F16, CK_F64};
    const char *names[4] = {"float32", "bfloat16", "float16", "float64"};
    for (int s = 0; s < 4; s++) {
        ck_u64 count = codes[s] == CK_F32 ? (1ULL << 32) : codes[s] == CK_F64 ? (1ULL << 30) : (1ULL << 16);
        for (int d = 0; d < 4; d++) {
            if (s == d) continue;
            ck_u64 h = 0xCBF29CE484222325ULL;
            for (ck_u64 i = 0; i < count; i++) {
                ck_u64 in = codes[s] == CK_F64 ? f64_sample(i) : i;
                h = mix(h, ck_convert(in, codes[s], codes[d]));
            }
            printf("%s -> %s %016llx\n", names[s], names[d], (unsigned long long) h);
            fflush(stdout);
        }
    }
    return 0;
}
