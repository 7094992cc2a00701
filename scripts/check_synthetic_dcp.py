#!/usr/bin/env python3
"""Validate a synthetic Megatron checkpoint with PyTorch itself.

usage: check_synthetic_dcp.py ITER_DIR SHA_JSON [--keep OUT.pt]

ITER_DIR  an iteration directory written by ckpt.bench.SyntheticCheckpoint (e.g. OUT/iter_0000100)
SHA_JSON  the generator's OUT/tensors-sha256.json ({key: {dtype, shape, sha256, ...}})

Runs torch.distributed.checkpoint.format_utils.dcp_to_torch_save on ITER_DIR (one process, no GPU needed; the whole
checkpoint is loaded into RAM, so use a small one), loads the result, and compares every tensor's dtype, shape and
sha256 of its contiguous little-endian bytes with the generator's JSON. Bytes items (common state, rng state, ...)
must unpickle too; the common state needs no Megatron import (argparse and builtins only).
Prints a summary; exits 1 on any mismatch, missing or extra tensor.
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile

import torch
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save


def tensor_sha256(t: torch.Tensor) -> str:
    t = t.detach().cpu().contiguous()
    # view as bytes: works for every dtype, bfloat16 included (numpy has no bfloat16)
    raw = t.view(torch.uint8) if t.dim() > 0 else t.reshape(1).view(torch.uint8)
    return hashlib.sha256(raw.numpy().tobytes()).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("iter_dir")
    ap.add_argument("sha_json")
    ap.add_argument("--keep", help="keep the consolidated torch.save file here")
    a = ap.parse_args()

    expected = json.load(open(a.sha_json))
    out = a.keep or os.path.join(tempfile.mkdtemp(prefix="synthetic-dcp-"), "consolidated.pt")
    dcp_to_torch_save(a.iter_dir, out)
    sd = torch.load(out, weights_only=False)
    if not a.keep:
        os.remove(out)

    tensors = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    objects = {k: v for k, v in sd.items() if not isinstance(v, torch.Tensor)}
    bad = []
    for key, ref in expected.items():
        t = tensors.get(key)
        if t is None:
            bad.append(f"missing tensor {key}")
            continue
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype != ref["dtype"] or list(t.shape) != ref["shape"]:
            bad.append(f"{key}: {dtype}{list(t.shape)} != {ref['dtype']}{ref['shape']}")
            continue
        got = tensor_sha256(t)
        if got != ref["sha256"]:
            bad.append(f"{key}: sha256 {got} != {ref['sha256']}")
    for key in tensors.keys() - expected.keys():
        bad.append(f"extra tensor {key}")

    common = objects.get("common_state/shard_0_1")
    args = common[0]["args"] if isinstance(common, list) and common and isinstance(common[0], dict) else None
    print(f"torch {torch.__version__}: {len(tensors)} tensors, {len(objects)} bytes items from {a.iter_dir}")
    if args is not None:
        print(f"common state: iteration {common[0].get('iteration')}, checkpoint_version {common[0].get('checkpoint_version')}, "
              f"num_layers {args.num_layers}, hidden {args.hidden_size}, TP {args.tensor_model_parallel_size}, "
              f"DP {args.data_parallel_size}, optimizer {common[0].get('content_metadata', {}).get('distrib_optim_sharding_type')}")
    else:
        bad.append("common_state/shard_0_1 is not [dict with args]")
    ok = len(expected) - sum(1 for b in bad if not b.startswith("extra"))
    print(f"{ok}/{len(expected)} tensors match the generator's sha256")
    for b in bad:
        print("MISMATCH", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
