#!/usr/bin/env python3
"""Check ckpt's conversions of the DeepSpeed fixtures with transformers and torch.

Usage: check_deepspeed_hf_logits.py FIXTURE HF_DIR MODEL_PT [FIXTURE HF_DIR MODEL_PT ...]
  FIXTURE:  a testdata/deepspeed-* dir with reference/{config.json,logits.safetensors,tensors.json}
  HF_DIR:   `ckpt convert FIXTURE --format huggingface --config FIXTURE/reference --output-dir HF_DIR`
  MODEL_PT: `ckpt convert FIXTURE --format pytorch --output-dir D`'s D/model.pt

For each fixture:
  1. AutoModelForCausalLM.from_pretrained(HF_DIR) in float32 on the CPU (eager attention, as the reference was
     computed) runs reference input_ids; its logits must equal reference logits_fp32 within 1e-5 (max abs diff).
  2. torch.load(MODEL_PT, weights_only=True) must load; every tensor of its model_state_dict must have the dtype,
     shape and sha256 of reference/tensors.json (DeepSpeed's own zero_to_fp32 state dict), and no key may be missing.
Exit status 1 on any difference. Uses torch, transformers and safetensors only.
"""
import hashlib
import json
import os
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

TOLERANCE = 1e-5


def sha256(t):
    t = t.detach().contiguous().cpu()
    return hashlib.sha256(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"").hexdigest()


def check_logits(fixture, hf_dir):
    ref = load_file(os.path.join(fixture, "reference", "logits.safetensors"))
    kwargs = {"attn_implementation": "eager"}
    try:
        model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, **kwargs)
    except TypeError:  # transformers < 4.56 names it torch_dtype
        model = AutoModelForCausalLM.from_pretrained(hf_dir, torch_dtype=torch.float32, **kwargs)
    model = model.eval()
    with torch.no_grad():
        out = model(input_ids=ref["input_ids"], use_cache=False).logits.float()
    want = ref["logits_fp32"].float()
    if out.shape != want.shape:
        print(f"  logits: shape {tuple(out.shape)} vs reference {tuple(want.shape)}")
        return False
    diff = (out - want).abs().max().item()
    ok = diff <= TOLERANCE
    print(f"  logits: {type(model).__name__} from {hf_dir}: max abs diff {diff:.3e} (tolerance {TOLERANCE:g}) "
          f"{'OK' if ok else 'FAIL'}")
    return ok


def check_model_pt(fixture, model_pt):
    with open(os.path.join(fixture, "reference", "tensors.json")) as f:
        ref = json.load(f)
    sd = torch.load(model_pt, weights_only=True, map_location="cpu")["model_state_dict"]
    bad = 0
    for key, want in ref.items():
        t = sd.get(key)
        if t is None:
            print(f"  model.pt: {key} missing")
            bad += 1
            continue
        got = (str(t.dtype).removeprefix("torch."), list(t.shape), sha256(t))
        if got != (want["dtype"], want["shape"], want["sha256"]):
            print(f"  model.pt: {key} differs: {got[:2]} vs {want['dtype']} {want['shape']}")
            bad += 1
    extra = sorted(set(sd) - set(ref))
    for key in extra:
        print(f"  model.pt: unexpected key {key}")
    ok = bad == 0 and not extra
    print(f"  model.pt: torch.load(weights_only=True) {model_pt}: {len(ref) - bad}/{len(ref)} tensors equal "
          f"zero_to_fp32's {'OK' if ok else 'FAIL'}")
    return ok


def main(args):
    torch.manual_seed(0)
    ok = True
    for i in range(0, len(args), 3):
        fixture, hf_dir, model_pt = args[i:i + 3]
        print(fixture)
        ok &= check_logits(fixture, hf_dir)
        ok &= check_model_pt(fixture, model_pt)
    print("all OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) < 4 or (len(sys.argv) - 1) % 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
