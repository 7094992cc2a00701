#!/usr/bin/env bash
# Compares casts.h (the cuda engine's element conversions, compiled for the host) with the java engine's ElementCast
# over every fp32/fp16/bf16 bit pattern and 2^30 fp64 patterns. Needs gcc, a JDK 25 and a built ckpt-convert/ckpt-format
# (mvn -o -DskipTests package). A few minutes; run from the repository root after editing casts.h.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
gcc -O2 -std=c99 -o "$work/check_casts" "$here/check_casts.c"
cp="$root/ckpt-convert/target/classes:$root/ckpt-format/target/classes"
javac -d "$work" -cp "$cp" "$here/CheckCasts.java"
"$work/check_casts" > "$work/c.txt" &
java --enable-native-access=ALL-UNNAMED -cp "$work:$cp" ckpt.convert.exec.CheckCasts > "$work/java.txt"
wait
if diff "$work/c.txt" "$work/java.txt"; then echo "PASS casts.h equals ElementCast on $(wc -l < "$work/c.txt") dtype pairs"; else echo "FAIL casts.h differs from ElementCast"; exit 1; fi
