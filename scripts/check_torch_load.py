#!/usr/bin/env python3
"""Check a `ckpt convert --format pytorch` model.pt of a Megatron checkpoint against the fixture's reference.

Usage: check_torch_load.py DIR/model.pt REF_DIR
  REF_DIR: the fixture's reference dir for that iteration, e.g. testdata/megatron-llama-tp2/reference/iter_0000004
           (its tensors.json holds the sha256 of every global tensor as PyTorch's dcp_to_torch_save rebuilds it).

1. torch.load(model.pt, weights_only=True) must succeed (the file is loaded with torch's safe unpickler only).
2. Every model weight of tensors.json must be reproduced exactly: the un-stacked tensors `decoder.layers.{i}.X`
   (and `...mlp.experts.local_experts.{e}.X`) are re-stacked with torch.stack in layer (expert) order, cast back to
   the stored dtype if the file was converted with --dtype (widening is exact, so the cast back is too), and the
   sha256 of the contiguous little-endian bytes is compared. Local-spec names (input_layernorm, pre_mlp_layernorm)
   map back to the TE-fused names torch_dist stores.
Exit status 0 when everything matches, 1 otherwise. Uses only torch.
"""
import hashlib
import json
import re
import sys
from collections import defaultdict

import torch

LOCAL_TO_DIST = {
    "input_layernorm.weight": "self_attention.linear_qkv.layer_norm_weight",
    "input_layernorm.bias": "self_attention.linear_qkv.layer_norm_bias",
    "pre_mlp_layernorm.weight": "mlp.linear_fc1.layer_norm_weight",
    "pre_mlp_layernorm.bias": "mlp.linear_fc1.layer_norm_bias",
}
LAYER = re.compile(r"^(decoder|mtp)\.layers\.(\d+)\.(.+)$")
EXPERT = re.compile(r"^(.*)mlp\.experts\.local_experts\.(\d+)\.(.+)$")


def sha256(t):
    return hashlib.sha256(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()).hexdigest()


def is_model_key(k):
    return not (k.startswith("optimizer") or k.startswith("chained_") or k.startswith("rng_state")
                or "_extra_state" in k or k.startswith("common_state") or k.startswith("rerun_state"))


def main(model_pt, ref_dir):
    obj = torch.load(model_pt, map_location="cpu", weights_only=True)
    sd = obj["model_state_dict"]
    print(f"torch.load(weights_only=True): OK, {len(sd)} tensors; model_config keys: {sorted(obj['model_config'])[:8]}...")
    ref = json.load(open(f"{ref_dir}/tensors.json"))
    want = {k: v for k, v in ref.items() if is_model_key(k)}

    # group un-stacked tensors back by their stored key
    stacked = defaultdict(dict)  # dist key -> {(layer, expert): tensor}
    plain = {}
    for name, t in sd.items():
        m = LAYER.match(name)
        if not m:
            plain[name] = t
            continue
        root, layer, rest = m.group(1), int(m.group(2)), m.group(3)
        rest = LOCAL_TO_DIST.get(rest, rest)
        e = EXPERT.match(rest)
        if e:
            key = f"{root}.layers.{e.group(1)}mlp.experts.experts.{e.group(3)}"
            stacked[key][(layer, int(e.group(2)))] = t
        else:
            stacked[f"{root}.layers.{rest}"][(layer, -1)] = t

    rebuilt = dict(plain)
    for key, parts in stacked.items():
        if key not in want:  # non-homogeneous checkpoints keep decoder.layers.{i}.X as stored keys
            for (layer, expert), t in parts.items():
                rebuilt[key.replace(".layers.", f".layers.{layer}.", 1)] = t
            continue
        layers = sorted({l for l, _ in parts})
        if any(e >= 0 for _, e in parts):
            experts = sorted({e for _, e in parts})
            rebuilt[key] = torch.stack([torch.stack([parts[(l, e)] for e in experts]) for l in layers])
        else:
            rebuilt[key] = torch.stack([parts[(l, -1)] for l in layers])

    bad = 0
    missing = sorted(set(want) - set(rebuilt))
    extra = sorted(set(rebuilt) - set(want))
    if missing:
        print("MISSING from model.pt:", missing); bad += len(missing)
    if extra:
        print("NOT in the reference:", extra); bad += len(extra)
    for key in sorted(set(want) & set(rebuilt)):
        t = rebuilt[key]
        r = want[key]
        stored = getattr(torch, r["dtype"])
        if list(t.shape) != r["shape"]:
            print(f"SHAPE {key}: {list(t.shape)} vs {r['shape']}"); bad += 1; continue
        if t.dtype != stored:
            back = t.to(stored)
            if not torch.equal(back.to(t.dtype), t):
                print(f"CAST {key}: {t.dtype} values are not exact widenings of {stored}"); bad += 1; continue
            t = back
        ok = sha256(t) == r["sha256"]
        bad += not ok
        print(f"{'ok  ' if ok else 'DIFF'} {key} {r['dtype']}{r['shape']}")
    print(f"{len(want)} reference tensors, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
