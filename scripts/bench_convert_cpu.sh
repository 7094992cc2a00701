#!/usr/bin/env bash
# CPU per conversion on page-cached input (docs/BENCHMARKS.md, "CPU per byte beyond cp -r"): rows interleaved round
# by round; before every command `rm -rf OUT; sync; sleep 6`, so that every command meets equally cold page-cache
# pages (the VM's balloon effect) and no dirty pages of the previous one; the input is read once (cat) per round.
# Prints per row the min wall, user and sys seconds over the rounds and the max RSS. Compare the user column.
#   usage: scripts/bench_convert_cpu.sh ROUNDS INPUT OUT_DIR 'NAME=JAR ARGS…' ...   (JAR "cp" times cp -r INPUT OUT)
# e.g.   scripts/bench_convert_cpu.sh 2 /tmp/crcfold/dcp /tmp/crcfold/out 'cp=cp' \
#          'old=/tmp/base6-ckpt.jar --format pytorch' 'new=ckpt-cli/target/ckpt.jar --format pytorch --no-fsync'
set -euo pipefail
rounds=$1 input=$2 out=$3; shift 3
JAVA=${JAVA:-java}
log=$(mktemp)
for r in $(seq "$rounds"); do
  find "$input" -type f -exec cat {} + > /dev/null
  for spec in "$@"; do
    name=${spec%%=*} rest=${spec#*=}
    read -r jar args <<< "$rest"
    if [ "$jar" = cp ]; then cmd=(cp -r "$input" "$out")
    else
      # shellcheck disable=SC2206
      cmd=("$JAVA" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -XX:+UseSerialGC -jar "$jar"
           convert --quiet --output-dir "$out" "$input" $args)
    fi
    rm -rf "$out"; sync; sleep 6
    /usr/bin/time -f "%e %U %S %M" -o "$log.t" "${cmd[@]}" > /dev/null
    read -r wall user sys rss < "$log.t"
    echo "$name|$wall|$user|$sys|$((rss / 1024))" | tee -a "$log"
  done
done
rm -rf "$out"
echo "row | min wall s | min user s | min sys s | max RSS MiB  ($rounds rounds, load $(cut -d' ' -f1-3 /proc/loadavg))"
awk -F'|' '{ k=$1; if (!(k in o)) { o[k]=n++ } for (i=2;i<=4;i++) if (!((k,i) in m) || $i < m[k,i]) m[k,i]=$i; if ($5 > x[k]) x[k]=$5 }
  END { for (k in o) r[o[k]]=k; for (j=0;j<n;j++) { k=r[j]; printf "%s | %s | %s | %s | %s\n", k, m[k,2], m[k,3], m[k,4], x[k] } }' "$log"
rm -f "$log" "$log.t"
