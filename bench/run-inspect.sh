#!/usr/bin/env bash
# Whole-process wall time of `ckpt inspect` (JVM start included) on real and synthetic DCP metadata, next to the
# JVM-start floor (`ckpt --version`) measured in the same run. Uses hyperfine when installed (apt-get install
# hyperfine), else a `date +%s%N` loop. Results: $BENCH_DATA/inspect-*.json|txt; see docs/BENCHMARKS.md.
#
#   bench/run-inspect.sh                      # 8B metadata + synthetic 70B and 405B-scale metadata
#   RUNS=20 bench/run-inspect.sh DIR...        # other checkpoints (save dirs or iteration dirs)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
source .ci/find-jdk.sh >/dev/null
BENCH_DATA="${BENCH_DATA:-/work/bench-data}"
RUNS="${RUNS:-10}"
mkdir -p "$BENCH_DATA"

[ -f ckpt-cli/target/ckpt.jar ] && [ -f bench/target/ckpt-bench.jar ] || mvn -B -q -DskipTests package >&2
if ! ./ckpt --help | grep -qE '^ +inspect '; then
  echo "run-inspect: this build has no 'ckpt inspect' command yet (merge the branch that adds it)" >&2
  exit 3
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(testdata/megatron-llama3-8b-meta/checkpoint)
  gen() { # name, generator args: metadata-only synthetic checkpoints (no data files), made once
    [ -f "$BENCH_DATA/$1/latest_checkpointed_iteration.txt" ] || \
      "$JAVA_HOME/bin/java" -Xmx16g -cp bench/target/ckpt-bench.jar ckpt.bench.SyntheticCheckpoint "${@:2}" \
        --metadata-only --out "$BENCH_DATA/$1" >&2
    targets+=("$BENCH_DATA/$1")
  }
  gen m70 --shape llama3-70b --tp 8 --pp 4 --dp 32
  gen m405 --shape llama3-405b --tp 8 --pp 14 --dp 144 --bucket-size 40000000
fi

{ echo "date: $(date -u +%FT%TZ)"; echo "nproc: $(nproc)"; lscpu | grep 'Model name'; free -g | head -2
  df -h "$BENCH_DATA" | tail -1; "$JAVA_HOME/bin/java" -version 2>&1 | head -1; git rev-parse --short HEAD; } \
  > "$BENCH_DATA/inspect-machine.txt"

for t in "${targets[@]}"; do
  name="$(echo "$t" | tr '/' '_' | sed 's/^_*//')"
  meta="$(find "$t" -name .metadata | head -1)"
  echo "== $t ($(stat -c %s "$meta") bytes of .metadata)"
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$BENCH_DATA/inspect-$name.json" \
      "./ckpt --version" "./ckpt inspect $t" "./ckpt inspect $t --json"
  else
    for cmd in "./ckpt --version" "./ckpt inspect $t" "./ckpt inspect $t --json"; do
      best=""; total=0
      for _ in $(seq "$RUNS"); do
        s=$(date +%s%N); $cmd >/dev/null; e=$(date +%s%N); ms=$(( (e - s) / 1000000 )); total=$((total + ms))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
      done
      echo "$cmd: mean $((total / RUNS)) ms, min $best ms ($RUNS runs)" | tee -a "$BENCH_DATA/inspect-$name.txt"
    done
  fi
  /usr/bin/time -v ./ckpt inspect "$t" 2>&1 >/dev/null | grep -E "Maximum resident|Elapsed" | sed 's/^\s*/  /'
done
