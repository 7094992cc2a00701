#!/usr/bin/env bash
# Runs scripts/check_cuda_engine.sh's byte-for-byte checks (BENCH=0) on a machine WITHOUT a GPU, against
# fake_libcuda.c: the engine's whole Java side (JavaCPP loading and marshalling, pinned lanes, streams, kernel
# arguments, chunking, scatter) runs for real; only the kernels' arithmetic is done by the host (same casts.h).
# Needs gcc, a JDK 25 and a built tree (mvn -o -DskipTests package); libcudart.so.13 from a CUDA 13 toolkit or
# CUDA_LIB_DIR. Run from the repository root: bash ckpt-engine-cuda/src/test/native/fake_driver_check.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
gcc -O2 -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$work/libcuda.so.1" "$here/fake_libcuda.c"
# A release-shaped CKPT_HOME from the build: the JDK as runtime, the CLI jar, the launcher.
mkdir -p "$work/home/bin" "$work/home/lib"
ln -s "${JAVA_HOME:?set JAVA_HOME to a JDK 25}" "$work/home/runtime"
cp ckpt-cli/target/ckpt.jar "$work/home/lib/"
cp ckpt-dist/src/main/dist/bin/ckpt "$work/home/bin/ckpt"
chmod +x "$work/home/bin/ckpt"
LD_LIBRARY_PATH="$work${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" CKPT_HOME="$work/home" \
  CUDA_ENGINE_DIR="$PWD/ckpt-engine-cuda/target/engine/cuda" BENCH=0 bash scripts/check_cuda_engine.sh
