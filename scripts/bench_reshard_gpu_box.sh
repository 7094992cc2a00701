#!/usr/bin/env bash
# Issue 15, item 3: the tensor engines side by side on one machine, in one run (docs/BENCHMARKS.md, "Reshard").
#
#  1. Reshard: a synthetic Megatron torch_dist checkpoint of >= SIZE bytes WITH dp_reshardable distributed-optimizer
#     state (TinyLlama-1.1B shape, TP2 PP2 DP2, Megatron's default 40M-element buckets) -> fully_reshardable, timed as
#       cp -r of the same bytes (and cp -r + fsync: ckpt fsyncs its output) | ckpt reshard --engine java --threads 1 | --engine java (all cores) | --engine nd4j
#       | --engine cuda | --engine cuda with -Dckpt.cuda.offload=all (every copyBox block the kernels can do; reshard's gathers stay on java)
#  2. Casts (`--dtype`): reshard has no --dtype (it moves bytes; the cast is convert's), so the cast rows are
#     `ckpt convert --format huggingface --dtype bf16` of a synthetic fp32 Megatron checkpoint of >= SIZE bytes (the
#     Llama-3-8B shape, TP2, model only: the input check_cuda_engine.sh's benchmark uses), timed as
#       cp -r | --engine java --threads 1 | --engine java | --engine nd4j | --engine cuda --threads 1 | --engine cuda
#  The java rows are also run with the full JIT (C2): the release launcher stops at C1 for start-up.
#  For every run: the input is read once before it (cat > /dev/null: page-cached the same way for each), the previous
#  output is deleted and synced, wall time and peak RSS come from /usr/bin/time -v (Python's resource module when
#  absent), and the output goes to the same path each time so that its files' sha256 (computed in parallel, all but
#  .metadata, which is compared separately) can be checked against the --engine java output. Engines that are not
#  installed or cannot run here (no GPU, no driver, no libcudart.so.13) are skipped with the reason. Prints Markdown
#  tables ready for docs/BENCHMARKS.md. Exit 0 only when every run succeeded and every output equals java's.
#
# Run from the repository root, with no JDK needed:
#   CKPT_HOME=<unpacked release tarball dir> CKPT_BENCH_JAR=<bench jar> \
#     [ND4J_ENGINE_DIR=<nd4j engine dir>] [CUDA_ENGINE_DIR=<cuda engine dir>] bash scripts/bench_reshard_gpu_box.sh
# CKPT_HOME: ckpt-dist/target/ckpt-*-linux-x86_64.tar.gz unpacked (bin/ckpt, runtime/, lib/ckpt.jar).
# CKPT_BENCH_JAR: bench/target/ckpt-bench-*.jar (the thin jar, 150 KB: ckpt.jar supplies the rest) or ckpt-bench.jar.
# ND4J_ENGINE_DIR: ckpt-engine-nd4j/target/engine/nd4j (133 MB). CUDA_ENGINE_DIR: ckpt-engine-cuda/target/engine/cuda.
# Optional: SIZE (default 8GB), BENCH_DATA (default /tmp/ckpt-reshard-bench; needs ~5 x SIZE free), PYTHON
# (default python3), CASTS=0 skips part 2, CAST_SHAPE (default llama3-8b: one layer is already 5 GB in fp32; use
# tinyllama-1.1b for SIZE below that), KEEP=1 keeps the generated inputs, RESULTS_DIR=DIR writes each table there as
# it grows (a run cut short still leaves its rows), CUDA_CHECK=check|bench then runs scripts/check_cuda_engine.sh
# with BENCH=0 (its fixture byte-equality checks, ~1 min) or BENCH=1 (also its own speed table: the same input and
# conversions as part 2, without RSS and nd4j, ~3 min more); its fixture checks need testdata/ for
# megatron-llama-tp2, dcp-variety, deepspeed-zero1-gpt2-fp16 and deepspeed-zero3-llama-dp2.
#
# The GPU box, in ONE device call (the exact command line and the carry list: scripts/device_call_reshard_bench.md).
set -uo pipefail
: "${CKPT_HOME:?set CKPT_HOME to the unpacked release directory (bin/ckpt, runtime/, lib/ckpt.jar)}"
: "${CKPT_BENCH_JAR:?set CKPT_BENCH_JAR to the bench jar (bench/target/ckpt-bench-*.jar)}"
SIZE="${SIZE:-8GB}"
BENCH_DATA="${BENCH_DATA:-/tmp/ckpt-reshard-bench}"
PYTHON="${PYTHON:-python3}"
CASTS="${CASTS:-1}"
CAST_SHAPE="${CAST_SHAPE:-llama3-8b}"
CUDA_CHECK="${CUDA_CHECK:-off}"
RESULTS_DIR="${RESULTS_DIR:-}"
KEEP="${KEEP:-0}"
NPROC="$(nproc)"
CKPT="$CKPT_HOME/bin/ckpt"
JAVA="$CKPT_HOME/runtime/bin/java"
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
[ -x "$CKPT" ] && [ -x "$JAVA" ] || { echo "no $CKPT / $JAVA: CKPT_HOME must be an unpacked release"; exit 1; }
[ -f "$CKPT_BENCH_JAR" ] || { echo "no bench jar $CKPT_BENCH_JAR"; exit 1; }
mkdir -p "$BENCH_DATA"
work="$(mktemp -d "$BENCH_DATA/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
out="$BENCH_DATA/out" # every run writes here, so .metadata (which records the output dir) can match too

echo "== machine: $NPROC cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GB RAM, $(df -h "$BENCH_DATA" | awk 'NR==2 {print $4}') free under $BENCH_DATA"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$CKPT" --version

# --- engines: which can run here ----------------------------------------------------------------------------------
engine_path=()
JAVACPP_OPTS="-Dorg.bytedeco.javacpp.cachedir=$BENCH_DATA/javacpp-cache" # JavaCPP unpacks its JNI libraries here once
have_nd4j=0 have_cuda=0
if [ -n "${ND4J_ENGINE_DIR:-}" ] && ls "$ND4J_ENGINE_DIR"/ckpt-engine-nd4j*.jar > /dev/null 2>&1; then engine_path+=("$ND4J_ENGINE_DIR"); have_nd4j=1
else echo "skip nd4j: no ND4J_ENGINE_DIR with ckpt-engine-nd4j*.jar (docs/ENGINES.md; too large to carry with the release in one device call)"; fi
if [ -n "${CUDA_ENGINE_DIR:-}" ] && ls "$CUDA_ENGINE_DIR"/ckpt-engine-cuda*.jar > /dev/null 2>&1; then
  if ! nvidia-smi -L > /dev/null 2>&1; then echo "skip cuda: no NVIDIA GPU visible (nvidia-smi -L failed)"
  else engine_path+=("$CUDA_ENGINE_DIR"); have_cuda=1
    cudart="${CUDA_LIB_DIR:-$("$PYTHON" "$(dirname "$0")/find_libcudart.py" 2>/dev/null)}"
    [ -n "$cudart" ] && export LD_LIBRARY_PATH="$cudart${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
else echo "skip cuda: no CUDA_ENGINE_DIR with ckpt-engine-cuda*.jar"; fi
CKPT_ENGINE_PATH="$(IFS=:; echo "${engine_path[*]:-}")"
export CKPT_ENGINE_PATH
export CKPT_JAVA_OPTS="$JAVACPP_OPTS"
# The release's bin/ckpt runs convert/reshard/diff with the full JIT already (metadata commands stop at C1); the
# "full JIT" rows pass it explicitly too, so releases built before that launcher change give the same rows.
FULL_JIT="-XX:TieredStopAtLevel=4"

# --- inputs --------------------------------------------------------------------------------------------------------
gen() { # dir, generator options...
  local dir="$1"; shift
  [ -f "$dir/latest_checkpointed_iteration.txt" ] && { echo "== reusing $dir"; return 0; }
  local t0; t0=$(date +%s)
  # thin or shaded bench jar: ckpt.jar after it supplies ckpt-format, ckpt-convert and Jackson either way
  if ! "$JAVA" -XX:+UseParallelGC -cp "$CKPT_BENCH_JAR:$CKPT_HOME/lib/ckpt.jar" ckpt.bench.SyntheticCheckpoint \
       --bytes "$SIZE" --no-sha --out "$dir" "$@" > "$work/gen.log" 2>&1; then
    echo "generating $dir failed:"; tail -3 "$work/gen.log"; rm -rf "$dir"; exit 1
  fi
  head -1 "$work/gen.log"
  echo "== generated $dir in $(( $(date +%s) - t0 )) s"
}

# --- one timed run --------------------------------------------------------------------------------------------------
# Sets WALL (s) and RSS (KiB, peak of the command and its children); returns the command's exit status.
measure() { # log, command...
  local log="$1"; shift
  rm -rf "$out"; sync
  local s e
  if [ -x /usr/bin/time ]; then
    s=$(date +%s.%N)
    /usr/bin/time -v -o "$work/time.txt" "$@" > "$log" 2>&1; local rc=$?
    e=$(date +%s.%N)
    RSS=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    WALL=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }')
    return $rc
  fi
  read -r WALL RSS < <("$PYTHON" - "$@" 2> "$log" <<'PY'
import resource, subprocess, sys, time
s = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=sys.stderr, stderr=sys.stderr)
print(f"{time.perf_counter() - s:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode == 0 else -1}")
PY
  )
  [ "${RSS:--1}" != -1 ]
}

# sha256 of every output file but .metadata, relative names sorted; then .metadata's alone.
digest() { # dir, file
  (cd "$1" && find . -type f ! -name .metadata -print0 | xargs -0 -r -P "$NPROC" -n 1 sha256sum | sort -k2) > "$2"
  (cd "$1" && find . -type f -name .metadata -print0 | sort -z | xargs -0 -r sha256sum) > "$2.metadata"
}

# ckpt fsyncs every output file before it publishes the output (nothing half-written survives a crash); cp does not,
# so the copy is timed both ways: as cp leaves it (in the page cache) and flushed to disk like ckpt's.
CP_SYNC="cp -r, then fsync of every copied file"
cp_sync='cp -r "$1" "$2" && find "$2" -type f -exec sync {} +'
row() { # table file, label, input bytes, check text
  awk -v l="$2" -v w="$WALL" -v b="$3" -v r="$RSS" -v c="$4" \
    'BEGIN { printf "| %s | %.2f | %.2f | %d | %s |\n", l, w, b / w / 1e9, r / 1024, c }' | tee -a "$1"
  [ -n "$RESULTS_DIR" ] && cp "$1" "$RESULTS_DIR/" 2> /dev/null
  return 0
}

# label, table, input dir, input bytes, reference digest ("" = this run is the reference), command...
run() {
  local label="$1" tbl="$2" in="$3" bytes="$4" ref="$5"; shift 5
  find "$in" -type f -exec cat {} + > /dev/null # page-cache the input, the same way before every run
  if ! measure "$work/run.log" "$@"; then
    fail "$label: $(grep -v '^\s*$' "$work/run.log" | tail -1)"; return 1
  fi
  local check="-"
  if [ "$label" != "cp -r (same bytes)" ] && [ "$label" != "$CP_SYNC" ]; then
    digest "$out" "$work/digest"
    local files; files=$(wc -l < "$work/digest")
    if [ -z "$ref" ]; then
      cp "$work/digest" "$work/ref"; cp "$work/digest.metadata" "$work/ref.metadata"; check="reference ($files files)"
    elif cmp -s "$work/digest" "$ref"; then
      check="= java ($files files)"
      cmp -s "$work/digest.metadata" "$ref.metadata" || check="$check; .metadata differs"
    else
      check="**DIFFERS from java**"; fail "$label: output differs from --engine java"; diff "$ref" "$work/digest" | head -4
    fi
  fi
  row "$tbl" "$label" "$bytes" "$check"
  grep -E '^engine' "$work/run.log" | sed 's/^/    /'
  return 0
}

header() { # file, title
  printf '%s\n\n| run | wall s | GB/s of input | peak RSS MiB | output sha256 |\n|---|---:|---:|---:|---|\n' "$2" > "$1"
}

# ---- 1. reshard dp_reshardable -> fully_reshardable ------------------------------------------------------------------
src="$BENCH_DATA/megatron-dp-reshardable-$SIZE"
gen "$src" --shape tinyllama-1.1b --tp 2 --pp 2 --dp 2 --bucket-size 40000000 --optimizer dp_reshardable
src_bytes=$(du -sb "$src" | cut -f1)
t1="$work/reshard.md"
header "$t1" "Reshard dp_reshardable → fully_reshardable, $(numfmt --to=iec "$src_bytes") ($src_bytes bytes) TinyLlama-1.1B-shape save, TP2 PP2 DP2, 40M-element buckets; $NPROC cores"
reshard=("$CKPT" reshard "$src" --output-dir "$out")
run "cp -r (same bytes)" "$t1" "$src" "$src_bytes" "" cp -r "$src" "$out"
run "$CP_SYNC" "$t1" "$src" "$src_bytes" "" sh -c "$cp_sync" _ "$src" "$out"
run "reshard --engine java --threads $NPROC" "$t1" "$src" "$src_bytes" "" "${reshard[@]}" --engine java
run "reshard --engine java --threads 1" "$t1" "$src" "$src_bytes" "$work/ref" "${reshard[@]}" --engine java --threads 1
run "reshard --engine java --threads $NPROC, full JIT ($FULL_JIT)" "$t1" "$src" "$src_bytes" "$work/ref" \
  env CKPT_JAVA_OPTS="$JAVACPP_OPTS $FULL_JIT" "${reshard[@]}" --engine java
[ "$have_nd4j" = 1 ] && run "reshard --engine nd4j --threads $NPROC" "$t1" "$src" "$src_bytes" "$work/ref" "${reshard[@]}" --engine nd4j
if [ "$have_cuda" = 1 ]; then
  run "reshard --engine cuda --threads $NPROC" "$t1" "$src" "$src_bytes" "$work/ref" "${reshard[@]}" --engine cuda
  run "reshard --engine cuda, -Dckpt.cuda.offload=all (gathers stay on the java kernels)" "$t1" "$src" "$src_bytes" "$work/ref" \
    env CKPT_JAVA_OPTS="$JAVACPP_OPTS -Dckpt.cuda.offload=all" "${reshard[@]}" --engine cuda
fi
rm -rf "$out"
[ "$KEEP" = 1 ] || rm -rf "$src"

# ---- 2. casts: convert --dtype bf16 of an fp32 save ---------------------------------------------------------------
if [ "$CASTS" = 1 ]; then
  mg="$BENCH_DATA/megatron-fp32-$SIZE" # the path and options check_cuda_engine.sh uses, so CUDA_CHECK=1 reuses it
  [ "$CAST_SHAPE" = llama3-8b ] || mg="$BENCH_DATA/megatron-fp32-$CAST_SHAPE-$SIZE"
  gen "$mg" --shape "$CAST_SHAPE" --tp 2 --dp 1 --optimizer none --weights fp32
  mg_bytes=$(du -sb "$mg" | cut -f1)
  t2="$work/casts.md"
  header "$t2" "Casts: convert --format huggingface --dtype bf16 of a $(numfmt --to=iec "$mg_bytes") ($mg_bytes bytes) fp32 $CAST_SHAPE-shape Megatron save, TP2, model only; $NPROC cores"
  conv=("$CKPT" convert "$mg" --format huggingface --dtype bf16 --output-dir "$out")
  run "cp -r (same bytes)" "$t2" "$mg" "$mg_bytes" "" cp -r "$mg" "$out"
  run "$CP_SYNC" "$t2" "$mg" "$mg_bytes" "" sh -c "$cp_sync" _ "$mg" "$out"
  run "convert --engine java --threads $NPROC" "$t2" "$mg" "$mg_bytes" "" "${conv[@]}" --engine java
  run "convert --engine java --threads 1" "$t2" "$mg" "$mg_bytes" "$work/ref" "${conv[@]}" --engine java --threads 1
  run "convert --engine java --threads 1, full JIT ($FULL_JIT)" "$t2" "$mg" "$mg_bytes" "$work/ref" \
    env CKPT_JAVA_OPTS="$JAVACPP_OPTS $FULL_JIT" "${conv[@]}" --engine java --threads 1
  run "convert --engine java --threads $NPROC, full JIT ($FULL_JIT)" "$t2" "$mg" "$mg_bytes" "$work/ref" \
    env CKPT_JAVA_OPTS="$JAVACPP_OPTS $FULL_JIT" "${conv[@]}" --engine java
  [ "$have_nd4j" = 1 ] && run "convert --engine nd4j --threads $NPROC" "$t2" "$mg" "$mg_bytes" "$work/ref" "${conv[@]}" --engine nd4j
  if [ "$have_cuda" = 1 ]; then
    run "convert --engine cuda --threads 1" "$t2" "$mg" "$mg_bytes" "$work/ref" "${conv[@]}" --engine cuda --threads 1
    run "convert --engine cuda --threads $NPROC" "$t2" "$mg" "$mg_bytes" "$work/ref" "${conv[@]}" --engine cuda
  fi
  rm -rf "$out"
fi

echo
echo "== $(date -u +%FT%TZ), inputs page-cached before each run, peak RSS via $([ -x /usr/bin/time ] && echo '/usr/bin/time -v' || echo 'python resource')"
cat "$t1"; echo
[ "$CASTS" = 1 ] && { cat "$t2"; echo; }

if [ "$CUDA_CHECK" = check ] || [ "$CUDA_CHECK" = bench ]; then
  cb=0; [ "$CUDA_CHECK" = bench ] && cb=1
  echo "== scripts/check_cuda_engine.sh (BENCH=$cb$([ "$cb" = 1 ] && echo ', on the same fp32 input'))"
  CKPT_HOME="$CKPT_HOME" CUDA_ENGINE_DIR="${CUDA_ENGINE_DIR:-}" CKPT_BENCH_JAR="$CKPT_BENCH_JAR" BENCH="$cb" KEEP=1 \
    BENCH_DATA="$BENCH_DATA" SIZE="$SIZE" PYTHON="$PYTHON" bash "$(dirname "$0")/check_cuda_engine.sh" || fail "check_cuda_engine.sh"
fi
[ "$KEEP" = 1 ] || rm -rf "${mg:-}" "$BENCH_DATA/javacpp-cache"
if [ "$failures" -eq 0 ]; then echo "== all runs passed"; exit 0; fi
echo "== $failures run(s) FAILED"; exit 1
