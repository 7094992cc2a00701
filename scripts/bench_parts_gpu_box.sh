#!/usr/bin/env bash
# Scaling of `ckpt convert --part I/N` + `--finish` (issue 19, P4) on one multi-core box without Slurm: the N parts run
# as N concurrent processes through the same --part code path an array job uses. Generates a synthetic Megatron
# checkpoint (>= 16 GB of bf16 weights, the bench generator), then for each format and N = 1, 2, 4, 8: drops the page
# cache (when allowed), runs N parts concurrently, then --finish, checks the output against N = 1 (sha256 of every
# file, outside the timing), and deletes it; `cp -r` of the same source in the same run is the baseline.
#
# Needs no JDK: a Java 25 runtime (a jlink image is enough: java.base, java.logging, jdk.unsupported, java.management
# cover ckpt.jar and the generator) and the two jars, given as env vars:
#   CKPT_JAVA=/path/to/runtime/bin/java CKPT_JAR=/path/to/ckpt.jar BENCH_JAR=/path/to/ckpt-bench.jar \
#   WORK=/path/with/50GB/free  [SIZE=16GB] [NS="1 2 4 8"] [FORMATS="huggingface pytorch"] scripts/bench_parts_gpu_box.sh
# FORMATS may also name megatron (HF -> Megatron torch_dist, --tp 2): its source is ckpt's HF export of the synthetic
# checkpoint, made once by one process outside the timings. Every N writes to the same output path (a torch_dist
# .metadata names its dir), so all outputs of a format must be byte-identical.
# Disk: SIZE for the source + 2 x SIZE while an output and the cp copy exist (the cp copy is removed before converting);
# + SIZE for the HF source when FORMATS has megatron.
# Prints a table (Markdown) on stdout; progress on stderr.
set -euo pipefail
java=${CKPT_JAVA:?set CKPT_JAVA to a Java 25 java binary}
jar=${CKPT_JAR:?set CKPT_JAR to ckpt.jar}
bench=${BENCH_JAR:?set BENCH_JAR to ckpt-bench.jar}
work=${WORK:?set WORK to a directory with ~3 x SIZE free}
size=${SIZE:-16GB}
shape=${SHAPE:-llama3-8b}   # tiny: a seconds-long smoke test of the script itself
ns=${NS:-1 2 4 8}
formats=${FORMATS:-huggingface pytorch}
cores=$(nproc)
heap=${HEAP:-2g}
mkdir -p "$work"
src=$work/src
say() { echo "[bench-parts] $*" >&2; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }   # no bc on minimal images
drop() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
can_drop=no; (echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null && can_drop=yes

if [ ! -f "$src/latest_checkpointed_iteration.txt" ]; then
  say "generating a $size synthetic checkpoint in $src"
  t0=$(now)
  "$java" -Xmx4g --enable-native-access=ALL-UNNAMED -cp "$bench" ckpt.bench.SyntheticCheckpoint --shape "$shape" \
    --bytes "$size" --tp 2 --dp 2 --optimizer none --no-sha --out "$src" >&2
  say "generated in $(calc "$(now) - $t0") s"
fi
src_bytes=$(du -sb "$src" | cut -f1)

drop
t0=$(now); cp -r "$src" "$work/cp-copy"; sync; t1=$(now)
cp_s=$(calc "$t1 - $t0")
rm -rf "$work/cp-copy"
say "cp -r: ${cp_s} s for $src_bytes bytes"

echo "| format | N | parts (s) | finish (s) | total (s) | GB/s | speed-up vs N=1 | speed-up / N | total / cp |"
echo "|---|---|---|---|---|---|---|---|---|"
hf_src=$work/src-hf
case " $formats " in *" megatron "*)
  if [ ! -f "$hf_src/config.json" ]; then
    say "exporting the source to $hf_src for --format megatron (one process, not timed)"
    rm -rf "$hf_src"
    "$java" -Xmx"$heap" --enable-native-access=ALL-UNNAMED -jar "$jar" convert "$src" --format huggingface --output-dir "$hf_src" --quiet 2>/dev/null
  fi ;;
esac

declare -A base
for fmt in $formats; do
  ref=""
  in=$src; extra=()
  if [ "$fmt" = megatron ]; then in=$hf_src; extra=(--tp 2); fi
  for n in $ns; do
    out=$work/out-$fmt
    rm -rf "$out" "$out.parts"
    drop
    t0=$(now)
    pids=()
    for i in $(seq 1 "$n"); do
      "$java" -Xmx"$heap" --enable-native-access=ALL-UNNAMED -jar "$jar" convert "$in" --format "$fmt" "${extra[@]}" \
        --output-dir "$out" --part "$i/$n" --quiet 2>"$work/part-$i.err" &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || { cat "$work"/part-*.err >&2; say "a part failed"; exit 1; }; done
    t1=$(now)
    "$java" -Xmx"$heap" --enable-native-access=ALL-UNNAMED -jar "$jar" convert "$in" --format "$fmt" "${extra[@]}" --output-dir "$out" --finish --quiet
    sync
    t2=$(now)
    parts_s=$(calc "$t1 - $t0"); fin_s=$(calc "$t2 - $t1"); tot_s=$(calc "$t2 - $t0")
    out_bytes=$(du -sb "$out" | cut -f1)
    sums=$( (cd "$out" && find . -type f -print0 | sort -z | xargs -0 -P "$cores" -n 1 sha256sum | sort -k2) | sha256sum | cut -c1-16)
    if [ -z "$ref" ]; then ref=$sums; base[$fmt]=$tot_s; fi
    [ "$sums" = "$ref" ] || { say "$fmt N=$n: output differs from N=1"; exit 1; }
    speed=$(calc "${base[$fmt]} / $tot_s")
    printf '| %s | %d | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f |\n' "$fmt" "$n" "$parts_s" "$fin_s" "$tot_s" \
      "$(calc "$out_bytes / $tot_s / 1000000000")" "$speed" "$(calc "$speed / $n")" "$(calc "$tot_s / $cp_s")"
    rm -rf "$out"
  done
done
echo
echo "source: $src_bytes bytes ($size synthetic $shape shape, TP2 DP2, bf16, no optimizer); cp -r: ${cp_s} s" \
  "($(calc "$src_bytes / $cp_s / 1000000000") GB/s); $cores cores; page cache dropped: $can_drop;" \
  "heap per process $heap; outputs identical to N=1 (sha256 of every file)"
