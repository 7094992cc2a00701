#!/usr/bin/env bash
# The tracked tree travels with every GPU-box call (64 MiB with what is carried besides) and the release tarball is
# ~35 MB: keep it under 36 MiB. Prints the total and the largest files; exit 1 above the limit.
# What to do when it fails: testdata/README.md ("Moved or compressed to keep the tracked tree small").
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${TREE_LIMIT_BYTES:-37748736}
# summed over every du line: xargs splits a long file list into several du runs, each printing its own -c total
total=$(git ls-files -z | xargs -0 du -b | awk '{ s += $1 } END { print s + 0 }')
echo "tracked tree: $total bytes (limit $limit)"
if [ "$total" -gt "$limit" ]; then
  git ls-files -z | xargs -0 du -b | sort -rn | head -10
  echo "tracked tree over the limit: move GPU-box-only files to device-refs/ or compress references (testdata/README.md)"
  exit 1
fi
