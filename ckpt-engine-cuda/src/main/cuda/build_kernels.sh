#!/usr/bin/env bash
# Regenerates the kernels resource from ckpt_kernels.cu (needs nvcc >= 12.8 for sm_90 + compute_80; no GPU needed):
# one fatbin with sm_90 machine code (H100/H200 load it as is) and compute_80 PTX that the driver JIT-compiles for any
# other GPU from Ampere on. Commit the .cu, casts.h and the regenerated resource together.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../resources/ckpt/engine/cuda/ckpt_kernels.fatbin"
nvcc --fatbin -O3 -std=c++17 \
  -gencode arch=compute_90,code=sm_90 \
  -gencode arch=compute_80,code=compute_80 \
  -o "$out.tmp" "$here/ckpt_kernels.cu"
mv "$out.tmp" "$out"
# The PTX beside it is for reading and review only (what the driver would JIT); the engine loads the fatbin.
nvcc --ptx -O3 -std=c++17 -arch=compute_80 -o "$here/ckpt_kernels.ptx" "$here/ckpt_kernels.cu"
ls -l "$out"
