#!/bin/bash
# Prune one or more save dirs periodically from a login node or a cron job.
#
# cron (every 30 minutes; rotate's own lock makes overlapping runs safe):
#   */30 * * * * $HOME/bin/rotate-loop.sh --once /lustre/$USER/runs/*/checkpoints >> $HOME/rotate.log 2>&1
#
# or a loop in tmux/screen:
#   rotate-loop.sh /lustre/$USER/runs/gpt/checkpoints
set -uo pipefail

CKPT=${CKPT:-$HOME/bin/ckpt}
INTERVAL=${INTERVAL:-1800}
ONCE=0
if [ "${1:-}" = "--once" ]; then ONCE=1; shift; fi
[ $# -gt 0 ] || { echo "usage: $0 [--once] SAVE_DIR..." >&2; exit 2; }

while :; do
  for dir in "$@"; do
    echo "$(date -Is) rotate $dir"
    "$CKPT" rotate "$dir" --keep-last 3 --wait 5m
    case $? in
      0) ;;                                            # done (also when nothing had to go)
      1) echo "$(date -Is) some removals failed in $dir (listed above); next run retries them" >&2 ;;
      *) echo "$(date -Is) usage error; fix the command line" >&2; exit 2 ;;
    esac
  done
  [ $ONCE -eq 1 ] && break
  sleep "$INTERVAL"
done
