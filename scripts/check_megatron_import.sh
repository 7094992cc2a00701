#!/usr/bin/env bash
# GPU box driver for scripts/check_megatron_import.py (see its docstring). Needs: python3 with torch + transformers,
# Megatron-LM d98e8a64 unpacked at $MLM (default /tmp/mlm; from /work/shared/tools/megatron/megatron-d98e8a64.tar.xz),
# and ckpt: CKPT="path/to/ckpt" (the jlink launcher or `java -jar ckpt.jar`).
#   CKPT=... scripts/check_megatron_import.sh WORK_DIR
# Imports (a) tiny transformers-saved Llama (TP1) and Qwen3 (TP2, tied) and (b) ckpt's HF export of
# testdata/megatron-llama-tp2 (TP2), loads each at TP=1 with Megatron and compares logits with transformers'.
set -uo pipefail
work=${1:?usage: CKPT=... check_megatron_import.sh WORK_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
ckpt=${CKPT:?set CKPT to the ckpt command}
mlm=${MLM:-/tmp/mlm}
export PYTHONPATH=$mlm${PYTHONPATH:+:$PYTHONPATH} CUDA_DEVICE_MAX_CONNECTIONS=1 TORCH_COMPILE_DISABLE=1 NCCL_NVLS_ENABLE=0
mkdir -p "$work"
python3 "$root/scripts/check_megatron_import.py" make-hf "$work" || exit 1
$ckpt convert "$root/testdata/megatron-llama-tp2/checkpoint" --format huggingface --output-dir "$work/hf-fixture" --force --quiet || exit 1
$ckpt convert "$work/hf-llama" --format megatron --output-dir "$work/mg-llama" --tp 1 --force || exit 1
$ckpt convert "$work/hf-qwen3" --format megatron --output-dir "$work/mg-qwen3" --tp 2 --force || exit 1
$ckpt convert "$work/hf-fixture" --format megatron --output-dir "$work/mg-fixture" --tp 2 --force || exit 1
fail=0
for m in llama qwen3 fixture; do
  torchrun --standalone --nproc_per_node 1 "$root/scripts/check_megatron_import.py" check "$work/hf-$m" "$work/mg-$m" \
    >"$work/$m.out" 2>"$work/$m.stderr"
  rc=$?
  grep -E '^(PASS|FAIL|\{)' "$work/$m.out"
  [ $rc = 0 ] || { fail=1; tail -20 "$work/$m.stderr"; }
done
[ $fail = 0 ] && echo "ALL PASS" || echo "SOME FAILED"
exit $fail
