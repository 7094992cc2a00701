// A host-only stand-in for the NVIDIA driver's libcuda.so.1, for exercising the cuda engine's Java side (JavaCPP
// marshalling, pinned buffers, streams, kernel arguments) on a machine without a GPU. "Device" memory is malloc'd,
// streams run their work at once, and cuLaunchKernel computes ckpt_convert / ckpt_transpose on the host with the same
// casts.h as the real kernels. Not a CUDA emulator: only the calls the engine makes. Built and used by
// fake_driver_check.sh; never shipped.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../main/cuda/casts.h"

typedef int CUresult;
#define OK 0
static int ctx_token, module_token, stream_token;
static int fn_convert, fn_transpose;
static long launches;

CUresult cuInit(unsigned flags) { (void) flags; return OK; }
CUresult cuDriverGetVersion(int *v) { *v = 13000; return OK; }
CUresult cuDeviceGetCount(int *n) { *n = 1; return OK; }
CUresult cuDeviceGet(int *d, int ordinal) { *d = ordinal; return ordinal == 0 ? OK : 101; }
CUresult cuDeviceGetName(char *name, int len, int d) { (void) d; snprintf(name, len, "fake host device"); return OK; }
CUresult cuDeviceGetAttribute(int *v, int attr, int d) {
    (void) d;
    switch (attr) {
        case 75: *v = 9; break;   // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
        case 76: *v = 0; break;   // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
        case 16: *v = 4; break;   // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
        default: *v = 0;
    }
    return OK;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int d) { (void) d; *ctx = &ctx_token; return OK; }
CUresult cuDevicePrimaryCtxRelease(int d) { (void) d; return OK; }
CUresult cuDevicePrimaryCtxRelease_v2(int d) { (void) d; return OK; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx == &ctx_token ? OK : 201; }
CUresult cuModuleLoadData(void **m, const void *image) {
    const unsigned char *p = image;
    if (!(p[0] == 0x50 && p[1] == 0xED && p[2] == 0x55 && p[3] == 0xBA)) return 200; // CUDA_ERROR_INVALID_IMAGE
    *m = &module_token;
    return OK;
}
CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
    if (m != &module_token) return 400;
    if (!strcmp(name, "ckpt_convert")) *f = &fn_convert;
    else if (!strcmp(name, "ckpt_transpose")) *f = &fn_transpose;
    else return 500; // CUDA_ERROR_NOT_FOUND
    return OK;
}
CUresult cuModuleUnload(void *m) { (void) m; return OK; }
CUresult cuGetErrorName(CUresult e, const char **s) {
    static char buf[64];
    snprintf(buf, sizeof buf, "FAKE_CUDA_ERROR_%d", e);
    *s = buf;
    return OK;
}
CUresult cuStreamCreate(void **s, unsigned flags) { (void) flags; *s = &stream_token; return OK; }
CUresult cuStreamDestroy_v2(void *s) { (void) s; return OK; }
CUresult cuStreamSynchronize(void *s) { return s == &stream_token ? OK : 400; }
CUresult cuMemAlloc_v2(uint64_t *p, size_t n) { void *m = malloc(n); if (!m) return 2; memset(m, 0xEE, n); *p = (uint64_t) (uintptr_t) m; return OK; }
CUresult cuMemFree_v2(uint64_t p) { free((void *) (uintptr_t) p); return OK; }
CUresult cuMemAllocHost_v2(void **p, size_t n) { *p = malloc(n); return *p ? OK : 2; }
CUresult cuMemFreeHost(void *p) { free(p); return OK; }
CUresult cuMemcpyHtoDAsync_v2(uint64_t d, const void *h, size_t n, void *s) { (void) s; memcpy((void *) (uintptr_t) d, h, n); return OK; }
CUresult cuMemcpyDtoHAsync_v2(void *h, uint64_t d, size_t n, void *s) { (void) s; memcpy(h, (const void *) (uintptr_t) d, n); return OK; }

static ck_u64 load(const unsigned char *p, int w, ck_u64 i) {
    switch (w) { case 1: return p[i]; case 2: return ((const ck_u16 *) p)[i]; case 4: return ((const ck_u32 *) p)[i]; default: return ((const ck_u64 *) p)[i]; }
}
static void store(unsigned char *p, int w, ck_u64 i, ck_u64 v) {
    switch (w) { case 1: p[i] = (unsigned char) v; break; case 2: ((ck_u16 *) p)[i] = (ck_u16) v; break;
        case 4: ((ck_u32 *) p)[i] = (ck_u32) v; break; default: ((ck_u64 *) p)[i] = v; }
}

CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shmem, void *stream, void **params, void **extra) {
    (void) shmem; (void) extra;
    if (stream != &stream_token || !params) return 400;
    if (gx < 1 || gy < 1 || gz != 1 || gx > 65535 || gy > 65535 || bx * by * bz > 1024 || bz != 1) return 9; // INVALID_VALUE
    const unsigned char *in = *(const unsigned char **) params[0];
    int sd = *(int *) params[1];
    unsigned char *out = *(unsigned char **) params[2];
    int dd = *(int *) params[3];
    int sw = ck_width(sd), dw = ck_width(dd);
    launches++;
    if (f == &fn_convert) {
        if (by != 1 || gy != 1) return 9;
        ck_u64 n = *(ck_u64 *) params[4];
        for (ck_u64 i = 0; i < n; i++) store(out, dw, i, ck_convert(load(in, sw, i), sd, dd));
        return OK;
    }
    if (f == &fn_transpose) {
        if (bx != 32 || by != 8) return 9;
        ck_u64 rows = *(ck_u64 *) params[4], cols = *(ck_u64 *) params[5];
        for (ck_u64 r = 0; r < rows; r++)
            for (ck_u64 c = 0; c < cols; c++) store(out, dw, c * rows + r, ck_convert(load(in, sw, r * cols + c), sd, dd));
        return OK;
    }
    return 400;
}
