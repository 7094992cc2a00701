#!/usr/bin/env bash
# Prints one "sha256 exit-code mode target" line per inspect output, for comparing two builds' outputs byte for byte:
#   scripts/inspect_identity.sh CKPT_JAR TARGET... > before.txt   (then the same with the new jar; diff the two)
# Modes: `inspect --json`, `inspect --json --summary`, `inspect --tensors`, `inspect --files`, `inspect` (human).
# Targets: checkpoint dirs or iteration dirs.
set -uo pipefail
jar=${1:?ckpt jar}; shift
java=${CKPT_JAVA:-java}
for t in "$@"; do
  for mode in "--json" "--json --summary" "--tensors" "--files" ""; do
    # the JSON names the build (ckpt_version): blanked so two builds of the same output hash alike
    # shellcheck disable=SC2086
    out=$("$java" --enable-native-access=ALL-UNNAMED -jar "$jar" inspect $mode "$t" 2>&1 \
          | sed -E 's/("ckpt_version" *: *)"[^"]*"/\1"-"/' | sha256sum | cut -c1-64; echo "${PIPESTATUS[0]}")
    echo "$(echo "$out" | head -1) rc=$(echo "$out" | tail -1) [${mode:-human}] $t"
  done
done
