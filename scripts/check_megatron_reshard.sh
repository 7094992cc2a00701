#!/usr/bin/env bash
# GPU box: Megatron-core 0.20 (d98e8a64) resumes training from `ckpt reshard`'s output of testdata/megatron-llama-tp2
# (saved at TP=2 with dp_reshardable optimizer state) at TP=1 on one GPU, optimizer state included, and its loaded fp32
# main params and Adam moments equal the source buckets' per parameter, bit for bit. See check_megatron_reshard.py.
# Needs: python3 with torch (2.11) + numpy, Megatron-LM d98e8a64 unpacked at $MLM (default /tmp/mlm), g++/pybind11 for
# Megatron's dataset helper (Megatron compiles it at start), and ckpt: CKPT=path/to/bin/ckpt.
#   CKPT=... scripts/check_megatron_reshard.sh WORK_DIR
# RESHARD_SRC=testdata/megatron-llama-tp2-legacy-torch/checkpoint reshards the legacy (--ckpt-format torch) twin instead;
# the reference stays the torch_dist fixture's buckets, which the legacy files equal bit for bit (LegacyOptimizerIndexerTest).
# Prints PASS/FAIL lines and ALL PASS / SOME FAILED; exit 0 only when all pass. ~1–2 minutes.
set -uo pipefail
work=${1:?usage: CKPT=... check_megatron_reshard.sh WORK_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
ckpt=${CKPT:?set CKPT to the ckpt command}
export MLM=${MLM:-/tmp/mlm}
export PYTHONPATH=$MLM${PYTHONPATH:+:$PYTHONPATH} CUDA_DEVICE_MAX_CONNECTIONS=1 TORCH_COMPILE_DISABLE=1 NCCL_NVLS_ENABLE=0
src="$root/testdata/megatron-llama-tp2/checkpoint"
reshard_src=${RESHARD_SRC:-$src}
out="$work/resharded-tp1"
mkdir -p "$work"
[ -f "$MLM/pretrain_gpt.py" ] || { echo "FAIL no Megatron-LM at MLM=$MLM"; exit 1; }

# 1. the reference, straight from the source buckets through torch DCP (no ckpt code)
python3 "$root/scripts/check_megatron_reshard.py" expected "$src/iter_0000004" "$work/expected.npz" || { echo "FAIL reference"; exit 1; }
# 2. ckpt: TP=2 dp_reshardable -> TP=1 fully_reshardable
$ckpt reshard "$reshard_src" --output-dir "$out" --tp 1 --pp 1 --optimizer fully_reshardable --force || { echo "FAIL ckpt reshard"; exit 1; }
$ckpt verify --deep "$out" >/dev/null 2>&1 || echo "note: ckpt verify --deep did not pass (see: $ckpt verify --deep $out)"
# 3. Megatron: the fixture's model args (README), TP=1, load WITH optimizer, iterations 5 and 6
flags=(--num-layers 4 --hidden-size 64 --num-attention-heads 8 --seq-length 128 --max-position-embeddings 128
  --micro-batch-size 2 --global-batch-size 4 --train-iters 6 --lr 1e-3 --min-lr 1e-4 --lr-decay-style cosine
  --lr-warmup-iters 1 --lr-decay-iters 4 --weight-decay 0.1 --clip-grad 1.0 --adam-beta1 0.9 --adam-beta2 0.95
  --init-method-std 0.02 --bf16 --attention-dropout 0.0 --hidden-dropout 0.0 --transformer-impl local
  --no-gradient-accumulation-fusion --no-masked-softmax-fusion --no-bias-gelu-fusion --no-bias-swiglu-fusion
  --no-bias-dropout-fusion --no-rope-fusion --no-persist-layer-norm --mock-data --tokenizer-type NullTokenizer
  --vocab-size 1000 --split 949,50,1 --eval-iters 1 --eval-interval 1000 --log-interval 1 --seed 1234
  --distributed-backend nccl --normalization RMSNorm --norm-epsilon 1e-5 --swiglu --ffn-hidden-size 192
  --position-embedding-type rope --rotary-base 10000 --untie-embeddings-and-output-weights --disable-bias-linear
  --group-query-attention --num-query-groups 2 --tensor-model-parallel-size 1 --pipeline-model-parallel-size 1
  --use-distributed-optimizer --dist-ckpt-optim-fully-reshardable --ckpt-format torch_dist
  --load "$out" --exit-on-missing-checkpoint --use-checkpoint-opt-param-scheduler)
rm -f "$work/loaded.npz"
timeout 240 torchrun --standalone --nproc_per_node 1 "$root/scripts/check_megatron_reshard.py" train "$work/loaded.npz" "${flags[@]}" \
  >"$work/train.log" 2>&1
rc=$?
grep -E "DUMPED|iteration +[0-9]+/|mismatch|RNG state|sharded_state_dict metadata loaded|Error|error" "$work/train.log" | head -20
if [ $rc != 0 ] || [ ! -f "$work/loaded.npz" ]; then
  echo "FAIL Megatron run (exit $rc); last lines of $work/train.log:"; tail -40 "$work/train.log"; echo "SOME FAILED"; exit 1
fi
# 4. bit-for-bit per parameter + finite loss for the 2 resumed iterations
python3 "$root/scripts/check_megatron_reshard.py" compare "$work/expected.npz" "$work/loaded.npz" "$work/train.log" 5 6
