#!/usr/bin/env bash
# Records the sha256 of every file `ckpt convert` writes for every testdata fixture, format and --dtype, as
# "<fixture>/<checkpoint path> <format> <dtype> <file> <sha256>" lines, sorted. Run before and after a refactor of the
# conversion core and diff the two files: every existing output must stay byte-identical.
#   scripts/convert_baseline.sh OUT_FILE [CKPT_JAR]
set -euo pipefail
out=${1:?usage: convert_baseline.sh OUT_FILE [CKPT_JAR]}
root=$(cd "$(dirname "$0")/.." && pwd)
jar=${2:-$root/ckpt-cli/target/ckpt.jar}
java=${JAVA:-java}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$work/lines"
cd "$root"
# every checkpoint ckpt can open: each iteration dir of a save plus the save dir itself (latest)
mapfile -t ckpts < <(for d in testdata/*/checkpoint; do echo "$d"; for i in "$d"/iter_* "$d"/release; do [ -d "$i" ] && echo "$i"; done; done)
for c in "${ckpts[@]}"; do
  for fmt in pytorch huggingface huggingface:--keep-padded-vocab huggingface:--max-shard-size=64KB; do
    for dt in keep bf16 fp16 fp32; do
      extra=""; [[ $fmt == *:* ]] && extra=${fmt#*:}
      o="$work/o"
      rm -rf "$o"
      if "$java" --enable-native-access=ALL-UNNAMED -jar "$jar" convert "$c" --format "${fmt%%:*}" $extra --dtype "$dt" --output-dir "$o" --quiet >/dev/null 2>"$work/err"; then
        (cd "$o" && find . -type f | sort | while read -r f; do echo "$c $fmt $dt ${f#./} $(sha256sum "$f" | cut -d' ' -f1)"; done) >> "$work/lines"
      else
        echo "$c $fmt $dt REFUSED $(head -c 200 "$work/err" | tr '\n' ' ' | sed 's#'"$work"'#OUT#g' | sha256sum | cut -c1-16)" >> "$work/lines"
      fi
    done
  done
done
sort "$work/lines" > "$out"
echo "$(grep -vc REFUSED "$out") output files, $(grep -c REFUSED "$out") refused conversions → $out"
