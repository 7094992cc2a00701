#!/usr/bin/env python3
"""Run a `ckpt convert --format huggingface` output with transformers and compare with Megatron's own logits.

Usage: check_hf_logits.py HF_DIR LOGITS_SAFETENSORS [TOLERANCE]
  LOGITS_SAFETENSORS: e.g. device-refs/megatron-llama-tp2/reference/iter_0000004/logits.safetensors (not in git:
  device-refs/README.md; carried to the box), holding
  input_ids and position_ids [batch, seq] and logits_fp32 [batch, seq, padded_vocab] from Megatron's forward pass.

Loads AutoModelForCausalLM.from_pretrained(HF_DIR) in float32 (TF32 off), runs input_ids with position_ids, and
compares its logits with logits_fp32[..., :vocab_size] (the reference covers Megatron's padded vocab; the
converted model has config.vocab_size rows). Prints the max abs difference and argmax agreement; exit status 1 if
the difference exceeds TOLERANCE (default 1e-3). Uses torch, transformers and safetensors only.
"""
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM


def main(hf_dir, logits_file, tol):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = "cuda" if torch.cuda.is_available() else "cpu"
    ref = load_file(logits_file)
    cfg = AutoConfig.from_pretrained(hf_dir)
    try:
        model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
    except TypeError:  # transformers < 4.56 names it torch_dtype
        model = AutoModelForCausalLM.from_pretrained(hf_dir, torch_dtype=torch.float32)
    model = model.to(device).eval()
    print(f"loaded {type(model).__name__} from {hf_dir}: vocab {cfg.vocab_size}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters, dtype {next(model.parameters()).dtype}")
    ids = ref["input_ids"].to(device)
    kwargs = {"input_ids": ids, "use_cache": False}
    if "position_ids" in ref:
        kwargs["position_ids"] = ref["position_ids"].to(device)
    with torch.no_grad():
        out = model(**kwargs).logits.float().cpu()
    want = ref["logits_fp32"][..., : cfg.vocab_size].float()
    if out.shape != want.shape:
        print(f"shape mismatch: model {tuple(out.shape)} vs reference {tuple(want.shape)}")
        return 1
    diff = (out - want).abs().max().item()
    agree = (out.argmax(-1) == want.argmax(-1)).float().mean().item()
    print(f"max abs diff vs logits_fp32[..., :{cfg.vocab_size}]: {diff:.3e} (tolerance {tol:g}); argmax agreement {agree:.4f}")
    return 0 if diff <= tol else 1


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) == 4 else 1e-3))
