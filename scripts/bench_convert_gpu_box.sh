#!/usr/bin/env bash
# Issue 18 on a big node (the GPU box's CPUs, no JDK: a carried jlink runtime runs the jars). Generates an 8 GB
# synthetic plain DCP checkpoint (bf16) and an 8 GB synthetic Megatron torch_dist checkpoint (fp32 weights) with the
# bench generator, reads each once so the inputs are page-cached (nothing is dropped from the page cache), then times
# in the same run, on the same disk:
#   cp -r of each input (the baseline: every byte convert reads, written once), and cp -r + sync -f (as durable as
#   ckpt's output, which is fsynced before it is renamed into place)
#   "${ckpt[@]}" convert --format pytorch   (DCP, --threads 1 and --threads $(nproc); and with --no-verify)
#   "${ckpt[@]}" convert --format safetensors (DCP, all threads)
#   --format pytorch (DCP) and huggingface (fp32) again with -Dckpt.writeback=0 (no background writeback, issue 18)
#   --format pytorch, safetensors (DCP) and huggingface (fp32 and bf16) again with --no-fsync: as durable as cp -r
#   (nothing forced; compare these rows with cp -r, the default rows with cp -r + sync -f)
#   "${ckpt[@]}" convert --format huggingface (Megatron fp32, with and without --dtype bf16, all threads)
#   PyTorch dcp_to_torch_save of the same DCP
# with peak RSS from /usr/bin/time -v (or Python's resource module when it is absent), and prints one table. Then
# checks ckpt's model.pt against PyTorch's output tensor by tensor (torch.load mmap; equal count printed).
#
#   CKPT_JAVA=/path/to/jlink-image/bin/java CKPT_JAR=/path/to/ckpt.jar CKPT_BENCH_JAR=/path/to/ckpt-bench.jar \
#     bash scripts/bench_convert_gpu_box.sh
# Or CKPT_HOME=<unpacked release tarball dir> (runtime/bin/java, lib/ckpt.jar) instead of CKPT_JAVA and CKPT_JAR.
# Optional: BENCH_DATA (default /tmp/ckpt-bench; needs ~40 GB free), SIZE (default 8GB), RUNS (default 1),
# CKPT_BASE_JAR (a second CLI jar, e.g. main's, timed on the same inputs for comparison), PYTHON (default python3).
# About 3-5 minutes on 16 cores with SIZE=8GB. Deletes everything it wrote at the end (KEEP=1 keeps the inputs).
set -euo pipefail
# An unpacked release (ckpt-dist tarball: runtime/ + lib/ckpt.jar) can stand in for CKPT_JAVA and CKPT_JAR.
if [ -n "${CKPT_HOME:-}" ]; then CKPT_JAVA="${CKPT_JAVA:-$CKPT_HOME/runtime/bin/java}"; CKPT_JAR="${CKPT_JAR:-$CKPT_HOME/lib/ckpt.jar}"; fi
: "${CKPT_JAVA:?set CKPT_JAVA to bin/java of the jlink runtime}"
: "${CKPT_JAR:?set CKPT_JAR to the ckpt CLI jar (ckpt-cli/target/ckpt.jar)}"
: "${CKPT_BENCH_JAR:?set CKPT_BENCH_JAR to the bench jar (bench/target/ckpt-bench.jar)}"
BENCH_DATA="${BENCH_DATA:-/tmp/ckpt-bench}"
SIZE="${SIZE:-8GB}"
RUNS="${RUNS:-1}"
KEEP="${KEEP:-0}"
PYTHON="${PYTHON:-python3}"
NPROC="$(nproc)"
JAVA_OPTS=(--enable-native-access=ALL-UNNAMED -XX:+UseParallelGC)
mkdir -p "$BENCH_DATA"
dcp="$BENCH_DATA/dcp-$SIZE"
mg="$BENCH_DATA/megatron-fp32-$SIZE"
table="$BENCH_DATA/table.txt"
: > "$table"

echo "== machine: $NPROC cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GB RAM"
"$CKPT_JAVA" -version 2>&1 | head -1
if "$PYTHON" -c 'import torch; print("torch", torch.__version__)'; then have_torch=1; else have_torch=0; echo "no torch: PyTorch rows skipped"; fi

gen() { # out, extra generator options...
  local out="$1"; shift
  [ -f "$out/.metadata" ] || [ -f "$out/latest_checkpointed_iteration.txt" ] && return 0
  # The bench jar may be shaded or thin: the CLI jar after it supplies ckpt-format either way.
  "$CKPT_JAVA" -XX:+UseParallelGC -cp "$CKPT_BENCH_JAR:$CKPT_JAR" ckpt.bench.SyntheticCheckpoint --shape llama3-8b --bytes "$SIZE" \
    --tp 2 --dp 1 --optimizer none --no-sha --out "$out" "$@"
}
t0=$(date +%s)
gen "$dcp" --plain-dcp
gen "$mg" --weights fp32
echo "== inputs generated in $(( $(date +%s) - t0 )) s; warming the page cache"
cat "$dcp"/* > /dev/null
find "$mg" -type f -exec cat {} + > /dev/null
dcp_bytes=$(du -sb "$dcp" | cut -f1)
mg_bytes=$(du -sb "$mg" | cut -f1)

# One timed command: wall seconds and peak RSS (KiB) of the command and its children.
if [ -x /usr/bin/time ]; then rss_via="/usr/bin/time -v"; else rss_via="python resource"; fi
measure() { # label, input bytes, output dir (or -), command...
  local label="$1" in_bytes="$2" out="$3"; shift 3
  local wall rss
  if [ -x /usr/bin/time ]; then
    local log; log=$(mktemp)
    local s e; s=$(date +%s.%N)
    /usr/bin/time -v "$@" > /dev/null 2> "$log" || { echo "FAILED: $label"; tail -5 "$log"; rm -f "$log"; return 1; }
    e=$(date +%s.%N)
    wall=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }')
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    rm -f "$log"
  else
    read -r wall rss < <("$PYTHON" - "$@" <<'PY'
import resource, subprocess, sys, time
s = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
w = time.perf_counter() - s
if r.returncode != 0:
    sys.exit(r.returncode)
print(f"{w:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
    ) || { echo "FAILED: $label"; return 1; }
  fi
  local out_bytes="-"
  [ "$out" != "-" ] && out_bytes=$(du -sb "$out" | cut -f1)
  printf '%-58s %8.2f s %10s MiB %16s %16s\n' "$label" "$wall" "$((rss / 1024))" "$in_bytes" "$out_bytes" | tee -a "$table"
}

ckpt=("$CKPT_JAVA" "${JAVA_OPTS[@]}" -jar "$CKPT_JAR")
base=("$CKPT_JAVA" "${JAVA_OPTS[@]}" -jar "${CKPT_BASE_JAR:-}")
# the same jar without the background writeback (the output is still forced, all of it at the end): prices it
nowb=("$CKPT_JAVA" "${JAVA_OPTS[@]}" -Dckpt.writeback=0 -jar "$CKPT_JAR")
o="$BENCH_DATA/out"

for run in $(seq "$RUNS"); do
  echo "== run $run"
  rm -rf "$o"; measure "cp -r DCP" "$dcp_bytes" "$o" cp -r "$dcp" "$o"; rm -rf "$o"
  # ckpt forces (fsyncs) its output before the rename that publishes it; cp does not: this row is cp made as durable
  measure "cp -r DCP + sync -f" "$dcp_bytes" "$o" bash -c 'cp -r "$1" "$2" && sync -f "$2"' _ "$dcp" "$o"; rm -rf "$o"
  measure "ckpt --format pytorch --threads 1 (DCP)" "$dcp_bytes" "$o" "${ckpt[@]}" convert "$dcp" --format pytorch --output-dir "$o" --quiet --threads 1; rm -rf "$o"
  measure "ckpt --format pytorch --threads $NPROC (DCP)" "$dcp_bytes" "$o" "${ckpt[@]}" convert "$dcp" --format pytorch --output-dir "$o" --quiet; rm -rf "$o"
  # the source CRC-32 pass (on by default) is what --no-verify skips: this row prices it
  measure "ckpt --format pytorch --no-verify --threads $NPROC (DCP)" "$dcp_bytes" "$o" "${ckpt[@]}" convert "$dcp" --format pytorch --output-dir "$o" --quiet --no-verify; rm -rf "$o"
  measure "ckpt --format pytorch, writeback off (DCP)" "$dcp_bytes" "$o" "${nowb[@]}" convert "$dcp" --format pytorch --output-dir "$o" --quiet; rm -rf "$o"
  measure "ckpt --format safetensors --threads $NPROC (DCP)" "$dcp_bytes" "$o" "${ckpt[@]}" convert "$dcp" --format safetensors --output-dir "$o" --quiet; rm -rf "$o"
  # --no-fsync: nothing forced to storage, like cp -r (compare with the cp -r row; the default rows with cp -r + sync -f)
  measure "ckpt --format pytorch --no-fsync --threads $NPROC (DCP)" "$dcp_bytes" "$o" "${ckpt[@]}" convert "$dcp" --format pytorch --output-dir "$o" --quiet --no-fsync; rm -rf "$o"
  measure "ckpt --format pytorch --no-fsync --no-verify (DCP)" "$dcp_bytes" "$o" "${ckpt[@]}" convert "$dcp" --format pytorch --output-dir "$o" --quiet --no-fsync --no-verify; rm -rf "$o"
  measure "ckpt --format safetensors --no-fsync --threads $NPROC (DCP)" "$dcp_bytes" "$o" "${ckpt[@]}" convert "$dcp" --format safetensors --output-dir "$o" --quiet --no-fsync; rm -rf "$o"
  if [ -n "${CKPT_BASE_JAR:-}" ]; then
    measure "base jar --format pytorch (DCP)" "$dcp_bytes" "$o" "${base[@]}" convert "$dcp" --format pytorch --output-dir "$o" --quiet; rm -rf "$o"
  fi
  if [ "$have_torch" = 1 ]; then
    rm -rf "$BENCH_DATA/torch-out"; mkdir -p "$BENCH_DATA/torch-out"
    measure "torch dcp_to_torch_save (DCP)" "$dcp_bytes" "$BENCH_DATA/torch-out" "$PYTHON" -c \
      'import sys; from torch.distributed.checkpoint.format_utils import dcp_to_torch_save as f; f(sys.argv[1], sys.argv[2])' \
      "$dcp" "$BENCH_DATA/torch-out/torch.pt"
  fi
  measure "cp -r Megatron fp32" "$mg_bytes" "$o" cp -r "$mg" "$o"; rm -rf "$o"
  measure "cp -r Megatron fp32 + sync -f" "$mg_bytes" "$o" bash -c 'cp -r "$1" "$2" && sync -f "$2"' _ "$mg" "$o"; rm -rf "$o"
  measure "ckpt --format huggingface --threads $NPROC (fp32 → fp32)" "$mg_bytes" "$o" "${ckpt[@]}" convert "$mg" --format huggingface --output-dir "$o" --quiet; rm -rf "$o"
  measure "ckpt --format huggingface, writeback off (fp32)" "$mg_bytes" "$o" "${nowb[@]}" convert "$mg" --format huggingface --output-dir "$o" --quiet; rm -rf "$o"
  measure "ckpt --format huggingface --dtype bf16 --threads $NPROC" "$mg_bytes" "$o" "${ckpt[@]}" convert "$mg" --format huggingface --dtype bf16 --output-dir "$o" --quiet; rm -rf "$o"
  measure "ckpt --format huggingface --dtype bf16 --threads 1" "$mg_bytes" "$o" "${ckpt[@]}" convert "$mg" --format huggingface --dtype bf16 --output-dir "$o" --quiet --threads 1; rm -rf "$o"
  measure "ckpt --format huggingface --no-fsync (fp32 → fp32)" "$mg_bytes" "$o" "${ckpt[@]}" convert "$mg" --format huggingface --output-dir "$o" --quiet --no-fsync; rm -rf "$o"
  measure "ckpt --format huggingface --dtype bf16 --no-fsync" "$mg_bytes" "$o" "${ckpt[@]}" convert "$mg" --format huggingface --dtype bf16 --output-dir "$o" --quiet --no-fsync; rm -rf "$o"
  if [ -n "${CKPT_BASE_JAR:-}" ]; then
    measure "base jar --format huggingface --dtype bf16" "$mg_bytes" "$o" "${base[@]}" convert "$mg" --format huggingface --dtype bf16 --output-dir "$o" --quiet; rm -rf "$o"
  fi
done

if [ "$have_torch" = 1 ]; then
echo "== correctness: ckpt model.pt vs dcp_to_torch_save, tensor by tensor"
rm -rf "$o"
"${ckpt[@]}" convert "$dcp" --format pytorch --output-dir "$o" --quiet
"$PYTHON" - "$BENCH_DATA/torch-out/torch.pt" "$o/model.pt" <<'PY'
import sys, torch
torch_pt, ckpt_pt = sys.argv[1:]
ref = torch.load(torch_pt, mmap=True, weights_only=True)
def flat(d, p=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flat(v, p + k + ".")
        else:
            yield p + k, v
ref = dict(flat(ref))
ours = torch.load(ckpt_pt, mmap=True, weights_only=True)["model_state_dict"]
equal = sum(1 for k, v in ours.items() if ("model." + k) in ref and ref["model." + k].dtype == v.dtype and torch.equal(ref["model." + k], v))
print(f"tensor-equal: {equal}/{len(ours)} (PyTorch holds {len(ref)} tensors)")
sys.exit(0 if equal == len(ours) == len(ref) else 1)
PY
rm -rf "$o" "$BENCH_DATA/torch-out"
fi

echo
echo "== $SIZE inputs, page-cached, $NPROC cores, peak RSS via $rss_via, $(date -u +%FT%TZ)"
printf '%-58s %10s %14s %16s %16s\n' "command" "wall" "peak RSS" "input bytes" "output bytes"
cat "$table"
[ "$KEEP" = 1 ] || rm -rf "$dcp" "$mg"
