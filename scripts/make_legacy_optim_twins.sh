#!/usr/bin/env bash
# GPU box, 4 GPUs. Writes a legacy/torch_dist twin pair for the legacy optimizer mapping (ckpt's
# LegacyOptimizerIndexer), covering what testdata/megatron-llama-tp2-legacy-torch (TP=2, PP=1, DP=1, untied, one
# bucket) does not: PP=2 and DP=2, tied embeddings (Megatron gives the shared embedding / output-layer copy a bucket of
# its own), and --overlap-grad-reduce with a small --ddp-bucket-size (several buckets on PP rank 0, each cut to its
# unpadded size in distrib_optim.pt). The twin is the same run (same seed, data, layout) saved as torch_dist with
# --dist-ckpt-optim-fully-reshardable: its optimizer.state.{param,exp_avg,exp_avg_sq}.<key> tensors are Megatron's own
# per-parameter answer, which ckpt's view of the legacy distrib_optim.pt must equal bit for bit.
#
#   MLM=/path/to/Megatron-LM(d98e8a64) scripts/make_legacy_optim_twins.sh OUT_DIR
#
# Needs: python3 with torch (2.11 used) and pybind11 (for Megatron's dataset helper), g++, 4 GPUs.
# Writes OUT_DIR/{legacy,dist}/ (checkpoints), OUT_DIR/reference/{dist_tensors.json,legacy_files.json}
# (sha256 of every tensor as PyTorch loads it), and the training logs. A few MB in all.
set -euo pipefail
out=${1:?usage: MLM=... make_legacy_optim_twins.sh OUT_DIR}
mlm=${MLM:-/tmp/mlm}
root=$(cd "$(dirname "$0")/.." && pwd)
export PYTHONPATH=$mlm${PYTHONPATH:+:$PYTHONPATH} CUDA_DEVICE_MAX_CONNECTIONS=1 TORCH_COMPILE_DISABLE=1 \
       NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1
mkdir -p "$out/reference"
out=$(cd "$out" && pwd)

# Megatron's C++ dataset index helper (the mock dataset still builds sample indices with it).
if ! ls "$mlm"/megatron/core/datasets/helpers_cpp*.so >/dev/null 2>&1; then
  (cd "$mlm/megatron/core/datasets" &&
   g++ -O3 -shared -std=c++17 -fPIC $(python3 -m pybind11 --includes) helpers.cpp \
       -o helpers_cpp$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))'))
fi

common=(
  --num-layers 4 --hidden-size 64 --num-attention-heads 8 --seq-length 128 --max-position-embeddings 128
  --micro-batch-size 2 --global-batch-size 8 --train-iters 4
  --lr 1e-3 --min-lr 1e-4 --lr-decay-style cosine --lr-warmup-iters 1 --lr-decay-iters 4
  --weight-decay 0.1 --clip-grad 1.0 --adam-beta1 0.9 --adam-beta2 0.95 --init-method-std 0.02
  --bf16 --attention-dropout 0.0 --hidden-dropout 0.0 --transformer-impl local
  --no-gradient-accumulation-fusion --no-masked-softmax-fusion --no-bias-gelu-fusion --no-bias-swiglu-fusion
  --no-bias-dropout-fusion --no-rope-fusion --no-persist-layer-norm
  --mock-data --tokenizer-type NullTokenizer --vocab-size 1000 --split 949,50,1
  --eval-iters 1 --eval-interval 1000 --log-interval 1 --seed 1234 --distributed-backend nccl
  --normalization RMSNorm --norm-epsilon 1e-5 --swiglu --ffn-hidden-size 192
  --position-embedding-type rope --rotary-base 10000 --disable-bias-linear
  --group-query-attention --num-query-groups 2
  --tensor-model-parallel-size 1 --pipeline-model-parallel-size 2
  --use-distributed-optimizer --overlap-grad-reduce --ddp-bucket-size 40000
  --save-interval 4
)
# (no --untie-embeddings-and-output-weights: tied, so PP=2 gives shared-embedding buckets on both stages)

cd "$mlm"
torchrun --standalone --nproc_per_node 4 pretrain_gpt.py "${common[@]}" --ckpt-format torch \
  --save "$out/legacy" >"$out/legacy.log" 2>&1 || { tail -40 "$out/legacy.log"; exit 1; }
torchrun --standalone --nproc_per_node 4 pretrain_gpt.py "${common[@]}" --ckpt-format torch_dist \
  --dist-ckpt-optim-fully-reshardable --save "$out/dist" >"$out/dist.log" 2>&1 || { tail -40 "$out/dist.log"; exit 1; }

python3 - "$out" <<'EOF'
import hashlib, json, os, sys, tempfile
import torch
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

out = sys.argv[1]
def sha(t):
    t = t.detach().contiguous().cpu()
    return hashlib.sha256(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"").hexdigest()
def desc(t):
    return {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "sha256": sha(t)}

it = "iter_0000004"
with tempfile.TemporaryDirectory() as d:
    dcp_to_torch_save(os.path.join(out, "dist", it), os.path.join(d, "full.pt"))
    full = torch.load(os.path.join(d, "full.pt"), weights_only=False)
tensors = {k: desc(v) for k, v in full.items() if isinstance(v, torch.Tensor)}
json.dump(tensors, open(os.path.join(out, "reference", "dist_tensors.json"), "w"), indent=1, sort_keys=True)

files = {}
def walk(v, path, acc):
    if isinstance(v, torch.Tensor): acc["/".join(map(str, path))] = desc(v)
    elif isinstance(v, dict):
        for k, x in v.items(): walk(x, path + [k], acc)
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v): walk(x, path + [i], acc)
legacy = os.path.join(out, "legacy", it)
for rank in sorted(os.listdir(legacy)):
    for f in ("model_optim_rng.pt", "distrib_optim.pt"):
        p = os.path.join(legacy, rank, f)
        if os.path.exists(p):
            acc = {}
            obj = torch.load(p, weights_only=False, map_location="cpu")
            walk(obj, [], acc)
            extra = {}
            if f == "distrib_optim.pt":
                for g, per in obj.items():
                    if isinstance(per, dict):
                        for dt, st in per.items(): extra[f"{g}/{dt}/numel_unpadded"] = st.get("numel_unpadded")
            files[f"{rank}/{f}"] = {"tensors": acc, "objects": extra}
json.dump(files, open(os.path.join(out, "reference", "legacy_files.json"), "w"), indent=1, sort_keys=True, default=str)

opt = sorted(k for k in tensors if k.startswith("optimizer.state."))
print(f"dist twin: {len(tensors)} tensors, {len(opt)} per-parameter optimizer tensors (fully_reshardable)")
for r, v in files.items():
    if r.endswith("distrib_optim.pt"): print(r, v["objects"])
EOF
echo "DONE: $out (copy legacy/, dist/, reference/ and the logs into a new fixture; see scripts/README.md)"
