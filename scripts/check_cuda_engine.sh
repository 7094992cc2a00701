#!/usr/bin/env bash
# The cuda engine on the GPU box (issue 15): does `--engine cuda` write exactly the bytes `--engine java` writes, and
# how fast is it. Run from the repository root (it reads testdata/), with no JDK needed:
#
#   CKPT_HOME=<unpacked release dir> CUDA_ENGINE_DIR=<dir of the engine's jars> CKPT_BENCH_JAR=<ckpt-bench.jar> \
#     bash scripts/check_cuda_engine.sh
#
# CUDA_ENGINE_DIR is ckpt-engine-cuda/target/engine/cuda (ckpt-engine-cuda.jar + JavaCPP's 4 jars, ~6.5 MB).
# CKPT_BENCH_JAR is bench/target/ckpt-bench.jar (the synthetic checkpoint generator); BENCH=0 skips the benchmark.
# Native libraries: libcuda.so.1 from the NVIDIA driver, libcudart.so.13 from PyTorch's pip wheels (found through
# python3 -c 'import torch'; nvidia/cu13/lib or nvidia/*/lib under site-packages), or CUDA_LIB_DIR=<dir> to name it.
# Optional: BENCH_DATA (default /tmp/ckpt-cuda-bench, ~20 GB free), SIZE (default 8GB), PYTHON (default python3),
# KEEP=1 keeps the generated input. About 3-4 minutes with SIZE=8GB on 16 cores. Prints PASS/FAIL lines, then one
# Markdown table; exit 0 only when every check passed.
set -uo pipefail
: "${CKPT_HOME:?set CKPT_HOME to the unpacked release directory (bin/ckpt, runtime/, lib/ckpt.jar)}"
: "${CUDA_ENGINE_DIR:?set CUDA_ENGINE_DIR to the cuda engine directory (ckpt-engine-cuda/target/engine/cuda)}"
PYTHON="${PYTHON:-python3}"
BENCH="${BENCH:-1}"
BENCH_DATA="${BENCH_DATA:-/tmp/ckpt-cuda-bench}"
SIZE="${SIZE:-8GB}"
KEEP="${KEEP:-0}"
NPROC="$(nproc)"
CKPT="$CKPT_HOME/bin/ckpt"
failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
finish() {
  if [ "$failures" -eq 0 ]; then echo "== all checks passed"; exit 0; fi
  echo "== $failures check(s) FAILED"; exit 1
}

[ -x "$CKPT" ] || { fail "no executable $CKPT (CKPT_HOME must be an unpacked release)"; finish; }
[ -d testdata/megatron-llama-tp2 ] || { fail "run from the repository root: testdata/ not found"; finish; }
ls "$CUDA_ENGINE_DIR"/ckpt-engine-cuda*.jar > /dev/null 2>&1 || { fail "no ckpt-engine-cuda*.jar in $CUDA_ENGINE_DIR"; finish; }
work="$(mktemp -d "${TMPDIR:-/tmp}/ckpt-cuda-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== machine: $NPROC cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GB RAM"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

# --- native libraries -------------------------------------------------------------------------------------------
if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then pass "libcuda.so.1 (NVIDIA driver) is on the loader's path"
else echo "note: libcuda.so.1 not in ldconfig's cache; relying on LD_LIBRARY_PATH"; fi
if [ -z "${CUDA_LIB_DIR:-}" ]; then
  CUDA_LIB_DIR="$("$PYTHON" "$(dirname "$0")/find_libcudart.py" 2>/dev/null)"
fi
if [ -z "$CUDA_LIB_DIR" ]; then
  for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/lib; do
    [ -e "$d/libcudart.so.13" ] && { CUDA_LIB_DIR="$d"; break; }
  done
fi
if [ -n "$CUDA_LIB_DIR" ]; then pass "libcudart.so.13 in $CUDA_LIB_DIR"
elif ldconfig -p 2>/dev/null | grep -q 'libcudart\.so\.13 '; then pass "libcudart.so.13 on the loader's path"
else fail "libcudart.so.13 not found (no torch with CUDA 13 wheels for $PYTHON?); set CUDA_LIB_DIR"; fi
export LD_LIBRARY_PATH="${CUDA_LIB_DIR:+$CUDA_LIB_DIR:}${LD_LIBRARY_PATH:-}"
export CKPT_ENGINE_PATH="$CUDA_ENGINE_DIR"
# JavaCPP unpacks its JNI library once into a cache; keep it out of $HOME.
JAVACPP_OPTS="-Dorg.bytedeco.javacpp.cachedir=$work/javacpp-cache"

# --- the engine starts ------------------------------------------------------------------------------------------
probe="$work/probe"
if CKPT_JAVA_OPTS="$JAVACPP_OPTS" "$CKPT" convert testdata/megatron-llama-tp2/checkpoint --format pytorch --dtype fp16 \
     --engine cuda --output-dir "$probe" > "$work/probe.log" 2>&1 && grep -q '^engine: cuda' "$work/probe.log"; then
  pass "$(grep '^engine: cuda' "$work/probe.log")"
else
  fail "the cuda engine did not run:"; sed 's/^/    /' "$work/probe.log" | tail -5
  finish
fi
rm -rf "$probe"

# --- byte-for-byte equality with the java engine ----------------------------------------------------------------
# offload=all sends every block the kernels can do to the GPU (not only large casts), and 64 KiB staging buffers cut
# blocks into many chunks, so the pipeline and the transposes are exercised on these small fixtures.
CHECK_OPTS="$JAVACPP_OPTS -Dckpt.cuda.offload=all -Dckpt.cuda.chunk-bytes=65536"
compare() { # label, source, convert options...
  local label="$1" src="$2"; shift 2
  # A Megatron (DCP) save's .metadata holds a random save_id, different on every run of any engine: it is compared
  # by size only; its tensor bytes are all in the .distcp files, compared whole.
  local skip=(); [[ " $* " == *" --format megatron "* ]] && skip=(-x .metadata)
  local oj="$work/java" oc="$work/cuda"
  rm -rf "$oj" "$oc"
  if ! "$CKPT" convert "$src" "$@" --engine java --output-dir "$oj" > "$work/java.log" 2>&1; then
    fail "$label: --engine java failed: $(grep -v '^\s*$' "$work/java.log" | tail -1)"; return
  fi
  if ! CKPT_JAVA_OPTS="$CHECK_OPTS" "$CKPT" convert "$src" "$@" --engine cuda --output-dir "$oc" > "$work/cuda.log" 2>&1; then
    fail "$label: --engine cuda failed: $(grep -v '^\s*$' "$work/cuda.log" | tail -1)"; return
  fi
  local blocks; blocks="$(sed -n 's/^engine cuda: \([0-9]*\) blocks.*/\1/p' "$work/cuda.log" | head -1)"
  local files; files="$(cd "$oj" && find . -type f | wc -l)"
  if diff -r -q "${skip[@]}" "$oj" "$oc" > "$work/diff.txt" 2>&1 \
     && [ "$(find "$oj" -name .metadata -printf '%P %s\n' | sort)" = "$(find "$oc" -name .metadata -printf '%P %s\n' | sort)" ]; then
    pass "$label: $files files identical to --engine java ($(cd "$oc" && find . -type f -exec cat {} + | sha256sum | cut -c1-16)), ${blocks:-?} blocks on the GPU"
  else
    fail "$label: outputs differ:"; head -5 "$work/diff.txt" | sed 's/^/    /'
  fi
  grep '^engine cuda:' "$work/cuda.log" | sed 's/^/    /'
}
ds_fixture=testdata/deepspeed-zero1-gpt2-fp16
compare "megatron-llama-tp2 → huggingface --dtype fp32" testdata/megatron-llama-tp2/checkpoint --format huggingface --dtype fp32
compare "megatron-llama-tp2 → pytorch --dtype fp16" testdata/megatron-llama-tp2/checkpoint --format pytorch --dtype fp16
compare "megatron-llama-tp2 → safetensors" testdata/megatron-llama-tp2/checkpoint --format safetensors
compare "dcp-variety → safetensors --dtype bf16" testdata/dcp-variety/checkpoint --format safetensors --dtype bf16
compare "dcp-variety → pytorch --dtype fp32" testdata/dcp-variety/checkpoint --format pytorch --dtype fp32
compare "dcp-variety → pytorch" testdata/dcp-variety/checkpoint --format pytorch
compare "deepspeed-zero1-gpt2-fp16 → huggingface" "$ds_fixture" --format huggingface --config "$ds_fixture/reference/config.json"
compare "deepspeed-zero1-gpt2-fp16 → huggingface --dtype bf16" "$ds_fixture" --format huggingface --dtype bf16 --config "$ds_fixture/reference/config.json"
# HF GPT-2's Conv1D weights are transposed on the way back to Megatron: the transpose kernel.
gpt2_hf="$work/gpt2-hf"
if "$CKPT" convert "$ds_fixture" --format huggingface --config "$ds_fixture/reference/config.json" --engine java --quiet --output-dir "$gpt2_hf" 2> /dev/null; then
  compare "gpt2 HF (from deepspeed-zero1-gpt2-fp16) → megatron" "$gpt2_hf" --format megatron
  compare "gpt2 HF (from deepspeed-zero1-gpt2-fp16) → megatron --dtype fp32" "$gpt2_hf" --format megatron --dtype fp32
else
  fail "converting $ds_fixture to HF for the transpose checks"
fi
compare "deepspeed-zero3-llama-dp2 → safetensors --dtype fp16" testdata/deepspeed-zero3-llama-dp2 --format safetensors --dtype fp16

[ "$BENCH" = 1 ] || finish

# --- benchmark: a synthetic Megatron checkpoint, fp32 weights → HF bf16 ------------------------------------------
if [ -z "${CKPT_BENCH_JAR:-}" ] || [ ! -f "$CKPT_BENCH_JAR" ]; then fail "set CKPT_BENCH_JAR to bench/target/ckpt-bench.jar for the benchmark (or BENCH=0)"; finish; fi
mkdir -p "$BENCH_DATA"
mg="$BENCH_DATA/megatron-fp32-$SIZE"
if [ ! -f "$mg/latest_checkpointed_iteration.txt" ]; then
  t0=$(date +%s)
  # The bench jar may be shaded or thin: the CLI jar after it supplies ckpt-format either way.
  if ! "$CKPT_HOME/runtime/bin/java" -XX:+UseParallelGC -cp "$CKPT_BENCH_JAR:$CKPT_HOME/lib/ckpt.jar" ckpt.bench.SyntheticCheckpoint \
       --shape llama3-8b --bytes "$SIZE" --tp 2 --dp 1 --optimizer none --no-sha --weights fp32 --out "$mg" > "$work/gen.log" 2>&1; then
    fail "generating the synthetic checkpoint: $(tail -1 "$work/gen.log")"; finish
  fi
  echo "== generated $mg in $(( $(date +%s) - t0 )) s"
fi
in_bytes=$(du -sb "$mg" | cut -f1)
find "$mg" -type f -exec cat {} + > /dev/null  # page-cache the input, as for every row below
table="$work/table.md"
printf '| run (%s fp32 Megatron → HF bf16, %s cores) | wall s | GB/s of input |\n|---|---:|---:|\n' "$(numfmt --to=iec "$in_bytes")" "$NPROC" > "$table"
timed() { # label, output dir, command...
  local label="$1" out="$2"; shift 2
  rm -rf "$out"; sync
  local s e; s=$(date +%s.%N)
  if ! "$@" > "$work/timed.log" 2>&1; then fail "$label: $(grep -v '^\s*$' "$work/timed.log" | tail -1)"; return 1; fi
  e=$(date +%s.%N)
  awk -v l="$label" -v s="$s" -v e="$e" -v b="$in_bytes" 'BEGIN { printf "| %s | %.2f | %.2f |\n", l, e - s, b / (e - s) / 1e9 }' | tee -a "$table"
  grep '^engine' "$work/timed.log" | sed 's/^/    /'
}
bj="$BENCH_DATA/out-java" bc="$BENCH_DATA/out-cuda" bt="$BENCH_DATA/out-tmp"
timed "cp -r (same bytes, no conversion)" "$bt" cp -r "$mg" "$bt"; rm -rf "$bt"
timed "ckpt --engine java --threads 1" "$bt" "$CKPT" convert "$mg" --format huggingface --dtype bf16 --engine java --threads 1 --output-dir "$bt"; rm -rf "$bt"
timed "ckpt --engine java --threads $NPROC" "$bj" "$CKPT" convert "$mg" --format huggingface --dtype bf16 --engine java --output-dir "$bj"
timed "ckpt --engine cuda --threads 1" "$bt" env CKPT_JAVA_OPTS="$JAVACPP_OPTS" "$CKPT" convert "$mg" --format huggingface --dtype bf16 --engine cuda --threads 1 --output-dir "$bt"; rm -rf "$bt"
timed "ckpt --engine cuda --threads $NPROC" "$bc" env CKPT_JAVA_OPTS="$JAVACPP_OPTS" "$CKPT" convert "$mg" --format huggingface --dtype bf16 --engine cuda --output-dir "$bc"
if [ -d "$bj" ] && [ -d "$bc" ]; then
  if diff -r -q "$bj" "$bc" > /dev/null; then pass "benchmark output: --engine cuda identical to --engine java ($(du -sh "$bc" | cut -f1))"
  else fail "benchmark output: --engine cuda differs from --engine java"; fi
fi
rm -rf "$bj" "$bc" "$bt"
[ "$KEEP" = 1 ] || rm -rf "$mg"
echo
cat "$table"
finish
