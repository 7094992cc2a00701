#!/usr/bin/env bash
# `ckpt convert --format huggingface|pytorch` on a synthetic Megatron checkpoint of >= 8 GB of bf16 weights, as a
# ratio to `cp -r` of the same checkpoint (the bytes convert must read, written once) on the same disk, measured in
# the same run, with peak RSS from /usr/bin/time -v. Results in $BENCH_DATA/convert-*.txt; docs/BENCHMARKS.md.
#
#   bench/run-convert.sh               # 8GB, TP=2 DP=2, weights only (convert reads weights, not optimizer state)
#   SIZE=32GB bench/run-convert.sh     # the flat-memory check at 4x the input
# Needs ~3x SIZE free on $BENCH_DATA's disk; deletes what it wrote except the generated checkpoint (KEEP=0 to drop it).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
source .ci/find-jdk.sh >/dev/null
BENCH_DATA="${BENCH_DATA:-/work/bench-data}"
SIZE="${SIZE:-8GB}"
RUNS="${RUNS:-3}"
KEEP="${KEEP:-1}"
mkdir -p "$BENCH_DATA"

# The convert command line: edit here if the CLI's syntax differs.
convert_cmd() { # format input output
  echo "./ckpt convert $2 --format $1 --output-dir $3 --quiet"
}

[ -f ckpt-cli/target/ckpt.jar ] && [ -f bench/target/ckpt-bench.jar ] || mvn -B -q -DskipTests package >&2
if ! ./ckpt --help | grep -qE '^ +convert '; then
  echo "run-convert: this build has no 'ckpt convert' command yet (merge the branch that adds it)" >&2
  exit 3
fi

src="$BENCH_DATA/synth-$SIZE"
if [ ! -f "$src/latest_checkpointed_iteration.txt" ]; then
  "$JAVA_HOME/bin/java" -cp bench/target/ckpt-bench.jar ckpt.bench.SyntheticCheckpoint --shape llama3-8b \
    --bytes "$SIZE" --tp 2 --dp 2 --optimizer none --no-sha --out "$src"
fi
bytes=$(du -sb "$src" | cut -f1)
log="$BENCH_DATA/convert-$SIZE.txt"
{ echo "date: $(date -u +%FT%TZ)"; echo "nproc: $(nproc)"; lscpu | grep 'Model name'; free -g | head -2
  df -h "$BENCH_DATA" | tail -1; findmnt -no FSTYPE,SOURCE --target "$BENCH_DATA" || true
  "$JAVA_HOME/bin/java" -version 2>&1 | head -1; git rev-parse --short HEAD; echo "input: $src, $bytes bytes"; } | tee "$log"

drop_caches() { sync; if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; echo cold; else echo warm; fi; }

timed() { # label, command...: wall seconds and peak RSS of one run
  local label="$1"; shift
  local cache; cache=$(drop_caches)
  local out; out=$( { /usr/bin/time -v "$@" >/dev/null; } 2>&1 )
  local wall; wall=$(echo "$out" | awk -F': ' '/Elapsed \(wall clock\)/ {print $2}')
  local rss; rss=$(echo "$out" | awk -F': ' '/Maximum resident set size/ {print $2}')
  echo "$label: wall $wall, peak RSS $((rss / 1024)) MiB, page cache $cache" | tee -a "$log"
}

for run in $(seq "$RUNS"); do
  rm -rf "$BENCH_DATA/cp-out"
  timed "cp -r (baseline) #$run" cp -r "$src" "$BENCH_DATA/cp-out"
  rm -rf "$BENCH_DATA/cp-out"
  for fmt in huggingface pytorch; do
    out="$BENCH_DATA/convert-out-$fmt"
    rm -rf "$out"
    # shellcheck disable=SC2046
    timed "ckpt convert --format $fmt #$run" $(convert_cmd "$fmt" "$src" "$out")
    echo "  output: $(du -sb "$out" | cut -f1) bytes" | tee -a "$log"
    rm -rf "$out"
  done
done
[ "$KEEP" = 1 ] || rm -rf "$src"
