"""GPU box: does Megatron-core load what `ckpt convert --format megatron` writes, and compute the same logits?

Two steps around ckpt (which the lead runs with its jlink runtime; scripts/check_megatron_import.sh drives all):

  python3 scripts/check_megatron_import.py make-hf WORK
      writes WORK/hf-llama and WORK/hf-qwen3: tiny seeded LlamaForCausalLM / Qwen3ForCausalLM (fp32), saved with
      transformers' own save_pretrained (safetensors + config.json).
  ckpt convert WORK/hf-llama --format megatron --output-dir WORK/mg-llama [--tp N]      (and the others)
  torchrun --standalone --nproc_per_node 1 scripts/check_megatron_import.py check HF_DIR SAVE_DIR [FLAG ...]
      loads SAVE_DIR with Megatron-core (PYTHONPATH=/tmp/mlm: --load SAVE_DIR --use-checkpoint-args --finetune
      --no-load-optim --no-load-rng, --transformer-impl local, TP=1, one GPU, strict load), runs both Megatron and
      transformers (HF_DIR) in fp32 on the same fixed input_ids and compares the logits (Megatron's cut to the HF
      vocab). Flags Megatron's load_args_from_checkpoint does not restore (--vocab-size, --norm-epsilon,
      --qk-layernorm, --openai-gelu) are derived from HF_DIR/config.json; FLAG ... are appended.
      Prints one JSON line and `PASS name max_abs_diff=…` or `FAIL name …`; exit 0 only on PASS (max |diff| ≤ 1e-3).
"""
import json
import os
import sys

TOL = 1e-3


def make_hf(work):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

    os.makedirs(work, exist_ok=True)
    common = dict(vocab_size=1000, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                  rms_norm_eps=1e-6, initializer_range=0.05)
    models = {
        # RoPE theta left at the configs' defaults (Llama 10000, Qwen3 1e6): transformers 5 keeps it in rope_parameters
        "hf-llama": (LlamaForCausalLM, LlamaConfig(**common, tie_word_embeddings=False, attention_bias=False, mlp_bias=False)),
        # head_dim ≠ hidden / heads and tied embeddings: the Qwen3 shapes that differ from Llama
        "hf-qwen3": (Qwen3ForCausalLM, Qwen3Config(**common, head_dim=32, tie_word_embeddings=True)),
    }
    for i, (name, (cls, cfg)) in enumerate(models.items()):
        torch.manual_seed(1234 + i)
        model = cls(cfg).to(torch.float32).eval()
        with torch.no_grad():  # norms away from 1 so that a swapped or missing norm shows in the logits
            for n, p in model.named_parameters():
                if "norm" in n:
                    p.copy_(1.0 + 0.1 * torch.randn_like(p))
        out = os.path.join(work, name)
        model.save_pretrained(out)  # safetensors by default
        with open(os.path.join(out, "config.json")) as f:
            c = json.load(f)
        rope = c.get("rope_parameters") or {"rope_theta": c.get("rope_theta")}
        print(f"wrote {out} ({cls.__name__}, {sum(p.numel() for p in model.parameters()):,} parameters, "
              f"rope_theta {rope.get('rope_theta')})", flush=True)


def flags_from_hf(hf_dir):
    with open(os.path.join(hf_dir, "config.json")) as f:
        c = json.load(f)
    t = c.get("model_type")
    flags = ["--vocab-size", str(c["vocab_size"])]
    if t == "gpt2":
        flags += ["--norm-epsilon", str(c.get("layer_norm_epsilon", 1e-5))]
        if c.get("activation_function", "gelu_new") != "gelu":
            flags += ["--openai-gelu"]
    else:
        flags += ["--norm-epsilon", str(c.get("rms_norm_eps", 1e-6))]
    if t == "qwen3":
        flags += ["--qk-layernorm"]
    return flags


def check(hf_dir, save, extra):
    name = os.path.basename(os.path.normpath(save))
    rec = {"name": name, "hf": hf_dir, "save": save}
    sys.argv = [sys.argv[0], "--load", save, "--use-checkpoint-args", "--finetune", "--no-load-optim", "--no-load-rng",
                "--micro-batch-size", "1", "--global-batch-size", "1", "--train-iters", "1", "--lr", "0",
                "--tensor-model-parallel-size", "1", "--pipeline-model-parallel-size", "1",
                "--transformer-impl", "local", "--no-gradient-accumulation-fusion", "--no-masked-softmax-fusion",
                "--no-bias-gelu-fusion", "--no-bias-swiglu-fusion", "--no-bias-dropout-fusion", "--no-rope-fusion",
                "--no-persist-layer-norm", "--attention-dropout", "0", "--hidden-dropout", "0",
                "--tokenizer-type", "NullTokenizer", "--ckpt-format", "torch_dist", "--distributed-backend", "nccl",
                "--exit-on-missing-checkpoint", *flags_from_hf(hf_dir), *extra]
    rec["megatron_argv"] = sys.argv[1:]
    try:
        import numpy as np
        import torch
        from functools import partial
        from transformers import AutoModelForCausalLM
        from megatron.training.initialize import initialize_megatron
        from megatron.training.arguments import parse_and_validate_args
        from megatron.training.training import get_model
        from megatron.training.checkpointing import load_checkpoint
        from model_provider import model_provider
        from gpt_builders import gpt_builder

        hf = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32).eval()
        vocab = hf.config.vocab_size
        g = torch.Generator().manual_seed(7)
        ids = torch.randint(0, vocab, (2, 16), generator=g)
        with torch.no_grad():
            want = hf(input_ids=ids).logits.float().numpy()

        args = parse_and_validate_args(args_defaults={"tokenizer_type": "NullTokenizer"})
        initialize_megatron()
        model = get_model(partial(model_provider, gpt_builder), wrap_with_ddp=False)
        load_checkpoint(model, None, None, strict=True)
        m = model[0].float().eval()
        b, s = ids.shape
        pos = torch.arange(s, device="cuda").unsqueeze(0).expand(b, s)
        with torch.no_grad():
            out = m(ids.cuda(), pos, attention_mask=None).float().cpu().numpy()
        got = out[..., :vocab]
        rec.update(padded_vocab=int(out.shape[-1]), vocab=int(vocab), layers=args.num_layers, hidden=args.hidden_size,
                   max_abs_diff=float(np.abs(got - want).max()), max_abs_logit=float(np.abs(want).max()),
                   argmax_agreement=float((got.argmax(-1) == want.argmax(-1)).mean()))
        ok = rec["max_abs_diff"] <= TOL
    except Exception as e:  # report, do not hide
        import traceback
        rec["error"] = f"{type(e).__name__}: {e}"[:600]
        rec["trace"] = traceback.format_exc()[-2000:]
        ok = False
    print(json.dumps(rec), flush=True)
    if ok:
        print(f"PASS {name} max_abs_diff={rec['max_abs_diff']:.3e} (≤ {TOL})", flush=True)
    else:
        print(f"FAIL {name} " + (f"max_abs_diff={rec['max_abs_diff']:.3e} > {TOL}" if "max_abs_diff" in rec else rec.get("error", "")), flush=True)
    return ok


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "make-hf":
        make_hf(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "check":
        sys.exit(0 if check(sys.argv[2], sys.argv[3], sys.argv[4:]) else 1)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
