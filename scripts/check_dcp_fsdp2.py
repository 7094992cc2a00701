#!/usr/bin/env python3
"""Check `ckpt convert testdata/dcp-fsdp2/checkpoint --format pytorch` against the live model's full state dict.

Usage: check_dcp_fsdp2.py DIR/model.pt LIVE_DIR
  LIVE_DIR: testdata/dcp-fsdp2/live-full-state (live_full_state.pt from get_state_dict(full_state_dict=True) on the
  live FSDP2 model, and the same state flattened as live_full_state.safetensors).

torch.load(model.pt, weights_only=True) must succeed; its model_state_dict must have exactly the live model's keys
(live['model'], i.e. the module's state_dict() names) and every tensor must be bitwise equal (dtype, shape, bytes)
to both live_full_state.pt and live_full_state.safetensors. Exit status 1 on any difference. torch + safetensors.
"""
import sys

import torch
from safetensors.torch import load_file


def main(model_pt, live_dir):
    ours = torch.load(model_pt, map_location="cpu", weights_only=True)["model_state_dict"]
    print(f"torch.load(weights_only=True): OK, {len(ours)} tensors")
    live = torch.load(f"{live_dir}/live_full_state.pt", map_location="cpu", weights_only=True)["model"]
    flat = {k[len("model."):]: v for k, v in load_file(f"{live_dir}/live_full_state.safetensors").items() if k.startswith("model.")}
    bad = 0
    for name, ref in (("live_full_state.pt", live), ("live_full_state.safetensors", flat)):
        if set(ours) != set(ref):
            print(f"key mismatch with {name}: only ours {sorted(set(ours) - set(ref))}, only theirs {sorted(set(ref) - set(ours))}")
            bad += 1
        for k in sorted(set(ours) & set(ref)):
            a, b = ours[k], ref[k]
            same = a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.contiguous().reshape(-1).view(torch.uint8),
                                                                              b.contiguous().reshape(-1).view(torch.uint8))
            bad += not same
            print(f"{'ok  ' if same else 'DIFF'} {k} {a.dtype} {list(a.shape)} vs {name}")
    print(f"{len(ours)} tensors, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
