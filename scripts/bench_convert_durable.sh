#!/usr/bin/env bash
# Issue 18 (durable output): cp -r, cp -r + sync, and ckpt jars converting the same inputs, interleaved round by
# round, each run starting with no dirty pages (sync before); prints min wall and min user+sys per row.
#   usage: scripts/bench_convert_durable.sh ROUNDS DCP_DIR MEGATRON_DIR OUT_DIR NAME=JAR[:JAVA_PROPS] ...
# e.g.   scripts/bench_convert_durable.sh 3 /tmp/cd-bench/dcp /tmp/cd-bench/mg /tmp/cd-bench/out \
#          old=/tmp/base5-ckpt.jar new=ckpt-cli/target/ckpt.jar new-nowb=ckpt-cli/target/ckpt.jar:-Dckpt.writeback=0
set -euo pipefail
rounds=$1 dcp=$2 mg=$3 out=$4; shift 4
JAVA=${JAVA:-java}
log=$(mktemp)
run() { # row name, command...
  local name=$1; shift
  rm -rf "$out"; sync
  /usr/bin/time -f "%e %U %S %M" -o "$log.t" "$@" > /dev/null
  rm -rf "$out"; sync
  read -r wall user sys rss < "$log.t"
  echo "$name|$wall|$(echo "$user + $sys" | bc)|$((rss / 1024))" >> "$log"
}
for r in $(seq "$rounds"); do
  for input in dcp mg; do
    src=$([ $input = dcp ] && echo "$dcp" || echo "$mg")
    run "cp -r ($input)" cp -r "$src" "$out"
    run "cp -r + sync ($input)" sh -c "cp -r '$src' '$out' && sync"
    for spec in "$@"; do
      name=${spec%%=*} rest=${spec#*=} jar=${rest%%:*} props=
      [[ $rest == *:* ]] && props=${rest#*:}
      # shellcheck disable=SC2086
      ckpt=("$JAVA" --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC $props -jar "$jar" convert "$src" --output-dir "$out" --quiet)
      if [ $input = dcp ]; then
        run "$name --format pytorch (dcp)" "${ckpt[@]}" --format pytorch
        run "$name --format safetensors (dcp)" "${ckpt[@]}" --format safetensors
      else
        run "$name --format huggingface (mg fp32)" "${ckpt[@]}" --format huggingface
        run "$name --format huggingface --dtype bf16 (mg fp32)" "${ckpt[@]}" --format huggingface --dtype bf16
      fi
    done
  done
done
echo "row | min wall s | min user+sys s | max RSS MiB  ($rounds rounds)"
awk -F'|' '{ k=$1; if (!(k in w) || $2 < w[k]) w[k]=$2; if (!(k in c) || $3 < c[k]) c[k]=$3; if ($4 > m[k]) m[k]=$4;
            if (!(k in seen)) { seen[k]=1; order[n++]=k } }
     END { for (i = 0; i < n; i++) printf "%s | %.2f | %.2f | %d\n", order[i], w[order[i]], c[order[i]], m[order[i]] }' "$log"
rm -f "$log" "$log.t"
