// The cuda engine's kernels (ckpt-engine-cuda). Elements are moved as bit patterns and converted by casts.h, so the
// results equal the java engine's bit for bit. Compiled ahead of time by build_kernels.sh into a fatbin resource
// (sm_90 machine code + compute_80 PTX the driver JIT-compiles on other GPUs); loaded with cuModuleLoadData.
#include "casts.h"

__device__ __forceinline__ ck_u64 ck_load(const unsigned char *p, int width, ck_u64 i) {
    switch (width) {
        case 1: return p[i];
        case 2: return ((const ck_u16 *) p)[i];
        case 4: return ((const ck_u32 *) p)[i];
        default: return ((const ck_u64 *) p)[i];
    }
}

__device__ __forceinline__ void ck_store(unsigned char *p, int width, ck_u64 i, ck_u64 v) {
    switch (width) {
        case 1: p[i] = (unsigned char) v; break;
        case 2: ((ck_u16 *) p)[i] = (ck_u16) v; break;
        case 4: ((ck_u32 *) p)[i] = (ck_u32) v; break;
        default: ((ck_u64 *) p)[i] = v; break;
    }
}

// out[i] = convert(in[i]) for i < n; a grid-stride loop, so any grid size covers any n.
extern "C" __global__ void ckpt_convert(const unsigned char *in, int sd, unsigned char *out, int dd, ck_u64 n) {
    int sw = ck_width(sd), dw = ck_width(dd);
    ck_u64 stride = (ck_u64) gridDim.x * blockDim.x;
    for (ck_u64 i = (ck_u64) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        ck_store(out, dw, i, ck_convert(ck_load(in, sw, i), sd, dd));
}

#define TILE 32
#define ROWS_PER_PASS 8

// The row-major [rows, cols] matrix in, converted, as the row-major [cols, rows] matrix out: out[c][r] = in[r][c].
// Blocks of TILE x ROWS_PER_PASS threads move TILE x TILE tiles through shared memory so that both the reads and the
// writes are coalesced; tiles are walked grid-stride in both dimensions (grid y is limited to 65535).
extern "C" __global__ void ckpt_transpose(const unsigned char *in, int sd, unsigned char *out, int dd,
                                          ck_u64 rows, ck_u64 cols) {
    __shared__ ck_u64 tile[TILE][TILE + 1];
    int sw = ck_width(sd), dw = ck_width(dd);
    ck_u64 tileRows = (rows + TILE - 1) / TILE, tileCols = (cols + TILE - 1) / TILE;
    for (ck_u64 ty = blockIdx.y; ty < tileRows; ty += gridDim.y) {
        for (ck_u64 tx = blockIdx.x; tx < tileCols; tx += gridDim.x) {
            ck_u64 r0 = ty * TILE, c0 = tx * TILE;
            for (int j = threadIdx.y; j < TILE; j += ROWS_PER_PASS) {
                ck_u64 r = r0 + j, c = c0 + threadIdx.x;
                if (r < rows && c < cols) tile[j][threadIdx.x] = ck_convert(ck_load(in, sw, r * cols + c), sd, dd);
            }
            __syncthreads();
            for (int j = threadIdx.y; j < TILE; j += ROWS_PER_PASS) {
                ck_u64 c = c0 + j, r = r0 + threadIdx.x;
                if (c < cols && r < rows) ck_store(out, dw, c * rows + r, tile[threadIdx.x][j]);
            }
            __syncthreads();
        }
    }
}
