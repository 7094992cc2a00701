// Element conversions of ckpt's cuda engine, in integer arithmetic on the bit patterns so that every result equals the
// java engine's (ckpt.convert.exec.ElementCast on HotSpot) bit for bit, NaNs included, whatever the GPU's own cvt
// instructions do with NaN payloads or denormals. Shared by the kernels (device) and by check_casts.c (host), which
// compares them exhaustively against the JVM. Rules:
//   fp32 -> bf16   round to nearest even; any NaN -> 0x7FC0 (c10's round_to_nearest_even)
//   fp32 -> fp16   round to nearest even, overflow -> inf; NaN -> sign | quiet bit | top 9 payload bits
//   fp64 -> fp32   round to nearest even, overflow -> inf; NaN -> sign | quiet bit | top 22 payload bits
//   bf16 -> fp32   exact, the bits shifted (NaNs unchanged)
//   fp16 -> fp32, fp32 -> fp64   exact; NaN -> quiet bit set, payload kept (as x86's vcvtph2ps/cvtss2sd)
//   fp64 -> fp16/bf16   through fp32 (two roundings, as PyTorch and the java engine do)
#ifndef CKPT_CASTS_H
#define CKPT_CASTS_H

#ifdef __CUDACC__
#define CKPT_FN __host__ __device__ __forceinline__
#else
#define CKPT_FN static inline
#endif

typedef unsigned short ck_u16;
typedef unsigned int ck_u32;
typedef unsigned long long ck_u64;

// Element codes, as CudaDTypes.code() assigns them; RAW* are same-type copies of any dtype of that width.
#define CK_F32 0
#define CK_BF16 1
#define CK_F16 2
#define CK_F64 3
#define CK_RAW8 4
#define CK_RAW16 5
#define CK_RAW32 6
#define CK_RAW64 7

CKPT_FN int ck_width(int code) {
    switch (code) {
        case CK_F32: case CK_RAW32: return 4;
        case CK_BF16: case CK_F16: case CK_RAW16: return 2;
        case CK_F64: case CK_RAW64: return 8;
        default: return 1;
    }
}

// Rounds mant >> s to nearest, ties to even; 1 <= s <= 63.
CKPT_FN ck_u64 ck_shift_rne(ck_u64 mant, int s) {
    ck_u64 r = mant >> s;
    ck_u64 rem = mant & ((1ULL << s) - 1);
    ck_u64 half = 1ULL << (s - 1);
    if (rem > half || (rem == half && (r & 1))) r++;
    return r;
}

CKPT_FN ck_u16 ck_f32_to_bf16(ck_u32 u) {
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;
    return (ck_u16) ((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

CKPT_FN ck_u32 ck_bf16_to_f32(ck_u16 h) {
    return ((ck_u32) h) << 16;                                            // NaNs too, unchanged (Float.intBitsToFloat)
}

CKPT_FN ck_u16 ck_f32_to_f16(ck_u32 u) {
    ck_u32 sign = (u >> 16) & 0x8000u;
    ck_u32 a = u & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return (ck_u16) (sign | 0x7E00u | ((a >> 13) & 0x3FFu));
    if (a >= 0x477FF000u) return (ck_u16) (sign | 0x7C00u);              // >= 65520 rounds to infinity
    if (a >= 0x38800000u) {                                               // normal half (>= 2^-14)
        ck_u32 m = a + 0xFFFu + ((a >> 13) & 1u);
        return (ck_u16) (sign | ((m >> 13) - (112u << 10)));
    }
    int e = (int) (a >> 23);
    if (e < 102) return (ck_u16) sign;                                    // below 2^-25: rounds to zero
    ck_u64 mant = (a & 0x7FFFFFu) | 0x800000u;
    return (ck_u16) (sign | (ck_u32) ck_shift_rne(mant, 126 - e));        // subnormal half: m * 2^-24
}

CKPT_FN ck_u32 ck_f16_to_f32(ck_u16 h) {
    ck_u32 sign = ((ck_u32) h & 0x8000u) << 16;
    ck_u32 e = (h >> 10) & 0x1Fu;
    ck_u32 m = h & 0x3FFu;
    if (e == 0x1F) return m == 0 ? (sign | 0x7F800000u) : (sign | 0x7FC00000u | (m << 13));
    if (e == 0) {
        if (m == 0) return sign;
        ck_u32 e2 = 113;
        while (!(m & 0x400u)) { m <<= 1; e2--; }
        return sign | (e2 << 23) | ((m & 0x3FFu) << 13);
    }
    return sign | ((e + 112u) << 23) | (m << 13);
}

CKPT_FN ck_u32 ck_f64_to_f32(ck_u64 d) {
    ck_u32 sign = (ck_u32) (d >> 32) & 0x80000000u;
    ck_u64 a = d & 0x7FFFFFFFFFFFFFFFULL;
    if (a > 0x7FF0000000000000ULL) return sign | 0x7FC00000u | (ck_u32) ((a >> 29) & 0x3FFFFFu);
    if (a >= 0x47EFFFFFF0000000ULL) return sign | 0x7F800000u;          // rounds past FLT_MAX
    if (a >= 0x3810000000000000ULL) {                                     // normal float (>= 2^-126)
        ck_u64 m = a + 0x0FFFFFFFULL + ((a >> 29) & 1u);
        return sign | (ck_u32) ((m >> 29) - (896ULL << 23));
    }
    int e = (int) (a >> 52);
    if (e == 0 || 926 - e >= 54) return sign;                             // below half the least subnormal float
    ck_u64 mant = (a & 0xFFFFFFFFFFFFFULL) | 0x10000000000000ULL;
    return sign | (ck_u32) ck_shift_rne(mant, 926 - e);                   // subnormal float: m * 2^-149
}

CKPT_FN ck_u64 ck_f32_to_f64(ck_u32 u) {
    ck_u64 sign = ((ck_u64) (u & 0x80000000u)) << 32;
    ck_u32 e = (u >> 23) & 0xFFu;
    ck_u64 m = u & 0x7FFFFFu;
    if (e == 0xFF) return m == 0 ? (sign | 0x7FF0000000000000ULL) : (sign | 0x7FF8000000000000ULL | (m << 29));
    if (e == 0) {
        if (m == 0) return sign;
        ck_u64 e2 = 897;
        while (!(m & 0x800000u)) { m <<= 1; e2--; }
        return sign | (e2 << 52) | ((m & 0x7FFFFFu) << 29);
    }
    return sign | (((ck_u64) e + 896u) << 52) | (m << 29);
}

// One element's bits of type sd as type dd's bits; equal codes copy.
CKPT_FN ck_u64 ck_convert(ck_u64 bits, int sd, int dd) {
    if (sd == dd) return bits;
    ck_u32 f;
    switch (sd) {
        case CK_F32: f = (ck_u32) bits; break;
        case CK_BF16: f = ck_bf16_to_f32((ck_u16) bits); break;
        case CK_F16: f = ck_f16_to_f32((ck_u16) bits); break;
        default: f = ck_f64_to_f32(bits); break;
    }
    switch (dd) {
        case CK_F32: return f;
        case CK_BF16: return ck_f32_to_bf16(f);
        case CK_F16: return ck_f32_to_f16(f);
        default: return ck_f32_to_f64(f);
    }
}

#endif
