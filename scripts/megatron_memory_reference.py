#!/usr/bin/env python3
"""Reference values for `ckpt memory`: Megatron-LM's own theoretical memory function, run on plain
argparse.Namespace args (no torch, no GPU).

Usage:
    mkdir -p /tmp/mlm && tar -xJf megatron-d98e8a64.tar.xz -C /tmp/mlm
    python3 scripts/megatron_memory_reference.py /tmp/mlm testdata > testdata/memory-reference/megatron_theoretical_memory.json

The file megatron/training/theoretical_memory_usage.py is loaded unchanged; only its one import
(`from .utils import is_hybrid_model, print_rank_0`) is satisfied by a stub module whose is_hybrid_model is
Megatron's own one-liner (`args.hybrid_layer_pattern is not None`) and whose print_rank_0 is silent. The case
args are each fixture's saved Megatron args as Megatron/PyTorch dumped them (reference/iter_*/model.json), or
for the 8B metadata-only fixture the model args of its README's exact command, then the overrides of the case.
The byte figures are what report_theoretical_memory divides by 2**20 before printing, computed by the same
functions it calls and chosen the way it chooses (compute_activation_memory when sequence_parallel and
recompute_granularity == 'selective', else compute_activation_memory_without_sp).
"""
import argparse
import importlib.util
import json
import sys
import types
from pathlib import Path

# Args absent from older saves, at Megatron d98e8a64's defaults (argparse defaults; validate_args sets
# expert_tensor_parallel_size to the TP size when unset).
DEFAULTS = {
    "num_experts": None, "moe_layer_freq": 1, "moe_ffn_hidden_size": None, "moe_router_topk": 2,
    "moe_shared_expert_intermediate_size": None, "moe_shared_expert_gate": False, "moe_latent_size": None,
    "mtp_num_layers": None, "multi_latent_attention": False, "expert_model_parallel_size": 1,
    "expert_tensor_parallel_size": None, "virtual_pipeline_model_parallel_size": None,
    "recompute_granularity": None, "recompute_method": None, "recompute_num_layers": None,
    "sequence_parallel": False, "hybrid_layer_pattern": None, "context_parallel_size": 1,
}

# Model args of testdata/megatron-llama3-8b-meta/README.md's command (its saved args are in the absent data).
LLAMA3_8B = {
    "num_layers": 32, "hidden_size": 4096, "ffn_hidden_size": 14336, "num_attention_heads": 32,
    "group_query_attention": True, "num_query_groups": 8, "kv_channels": 128, "seq_length": 2048,
    "normalization": "RMSNorm", "swiglu": True, "untie_embeddings_and_output_weights": True,
    "add_bias_linear": False, "padded_vocab_size": 128256, "micro_batch_size": 1, "global_batch_size": 2,
    "tensor_model_parallel_size": 1, "pipeline_model_parallel_size": 1, "context_parallel_size": 1,
    "data_parallel_size": 2, "world_size": 2, "use_distributed_optimizer": True,
}
# (That run also used --recompute-granularity full --recompute-method uniform --recompute-num-layers 1, which
# Megatron's function does not model: it would apply its no-recompute formula. The cases below leave recompute to
# each override set, as for the other fixtures.)

# Override sets: names as `ckpt memory` options take them.
OVERRIDES = {
    "as-saved": {},
    "tp2-pp2-dp4": {"tp": 2, "pp": 2, "dp": 4, "micro_batch_size": 1, "global_batch_size": 32},
    "tp4-selective-sp-no-distopt": {"tp": 4, "pp": 1, "dp": 2, "sequence_parallel": True,
                                    "recompute_granularity": "selective", "use_distributed_optimizer": False},
    "pp2-vpp2-seq4096": {"tp": 1, "pp": 2, "vpp": 2, "dp": 2, "micro_batch_size": 2, "global_batch_size": 16,
                         "seq_length": 4096},
    "pp4-two-microbatches": {"tp": 1, "pp": 4, "dp": 2, "micro_batch_size": 1, "global_batch_size": 4},
    "tp2-sp-no-recompute-dp8": {"tp": 2, "pp": 1, "dp": 8, "sequence_parallel": True, "global_batch_size": 64,
                                "recompute_granularity": None},
    "tp8-pp2-selective-sp-distopt": {"tp": 8, "pp": 2, "dp": 2, "sequence_parallel": True,
                                     "recompute_granularity": "selective", "use_distributed_optimizer": True,
                                     "micro_batch_size": 1, "global_batch_size": 8},
    # MoE variant of the model (model args given as options, as for a checkpoint whose args lack them).
    "moe8-top2-ep2-tp2-dp4": {"num_experts": 8, "moe_ffn_hidden_size": 96, "moe_router_topk": 2, "ep": 2,
                              "tp": 2, "dp": 4, "micro_batch_size": 1, "global_batch_size": 16},
}

FIXTURES = {
    "megatron-llama-tp2": "megatron-llama-tp2/reference/iter_0000004/model.json",
    "megatron-llama-tp2-core014": "megatron-llama-tp2-core014/reference/iter_0000004/model.json",
    "megatron-qwen3-tp2": "megatron-qwen3-tp2/reference/iter_0000004/model.json",
    # Same pretrain_gpt.py command as megatron-llama-tp2 with --ckpt-format torch (its README): same model args.
    "megatron-llama-tp2-legacy-torch": "megatron-llama-tp2/reference/iter_0000004/model.json",
}


def load_megatron(root):
    utils = types.ModuleType("megatron.training.utils")
    utils.is_hybrid_model = lambda args: args.hybrid_layer_pattern is not None
    utils.print_rank_0 = lambda *a, **k: None
    for name in ("megatron", "megatron.training"):
        pkg = types.ModuleType(name)
        pkg.__path__ = []
        sys.modules[name] = pkg
    sys.modules["megatron.training.utils"] = utils
    path = Path(root) / "megatron" / "training" / "theoretical_memory_usage.py"
    spec = importlib.util.spec_from_file_location("megatron.training.theoretical_memory_usage", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def case_args(saved, overrides):
    a = dict(DEFAULTS)
    a.update(saved)
    etp_follows_tp = a.get("expert_tensor_parallel_size") in (None, a["tensor_model_parallel_size"])
    names = {"tp": "tensor_model_parallel_size", "pp": "pipeline_model_parallel_size",
             "vpp": "virtual_pipeline_model_parallel_size", "cp": "context_parallel_size",
             "ep": "expert_model_parallel_size", "dp": "data_parallel_size"}
    for k, v in overrides.items():
        a[names.get(k, k)] = v
    if etp_follows_tp:
        a["expert_tensor_parallel_size"] = a["tensor_model_parallel_size"]
    a["world_size"] = (a["tensor_model_parallel_size"] * a["pipeline_model_parallel_size"]
                       * a["context_parallel_size"] * a["data_parallel_size"])
    return a


def main():
    mlm, testdata = sys.argv[1], Path(sys.argv[2])
    tmu = load_megatron(mlm)
    sources = {f: json.loads((testdata / p).read_text())["args"] for f, p in FIXTURES.items()}
    sources["megatron-llama3-8b-meta"] = LLAMA3_8B
    cases = []
    for fixture, saved in sources.items():
        for name, ov in OVERRIDES.items():
            if fixture == "megatron-llama3-8b-meta" and name == "as-saved":
                continue  # its saved args are absent: every 8B case states its parallel layout
            a = case_args(saved, ov)
            nmb = a["global_batch_size"] // (a["micro_batch_size"] * a["data_parallel_size"])
            used = {k: a.get(k) for k in sorted(set(DEFAULTS) | set(LLAMA3_8B) | {"world_size"})}
            w = tmu.compute_weight_and_optimizer_memory(argparse.Namespace(**a))
            sp_selective = a["sequence_parallel"] and a["recompute_granularity"] == "selective"
            fn = tmu.compute_activation_memory if sp_selective else tmu.compute_activation_memory_without_sp
            act = fn(argparse.Namespace(**a), num_microbatches=nmb)
            report = tmu.report_theoretical_memory(argparse.Namespace(**a), num_microbatches=nmb)
            assert report[0] == w / tmu.NUM_BYTES_IN_MEGABYTE and report[1] == act / tmu.NUM_BYTES_IN_MEGABYTE
            cases.append({
                "fixture": fixture, "case": name, "overrides": ov, "num_microbatches": nmb,
                "args": used, "activation_function": fn.__name__,
                "weight_and_optimizer_bytes": w, "activation_bytes": act,
                "report_mb": {"weight_and_optimizer": report[0], "activation": report[1], "total": report[2]},
            })
    json.dump({"megatron": "d98e8a64 megatron/training/theoretical_memory_usage.py",
               "produced_by": "scripts/megatron_memory_reference.py", "cases": cases}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()) as buf:  # report_theoretical_memory prints its summary
        main()
    out = buf.getvalue()
    sys.stdout.write(out[out.index("{"):])
