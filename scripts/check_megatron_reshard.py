"""GPU box: does Megatron-core 0.20 resume from `ckpt reshard`'s fully_reshardable output at another TP, with the
optimizer state the source's dp_reshardable buckets held, bit for bit? (scripts/check_megatron_reshard.sh drives all.)

  python3 check_megatron_reshard.py expected SRC_ITER_DIR OUT.npz
      reads the SOURCE checkpoint's bucket tensors (optimizer.distributed.dp_group_idx_<m>...bucket_idx_0.{param,
      exp_avg,exp_avg_sq}) and model weights with torch.distributed.checkpoint directly (no ckpt code), cuts every
      parameter's range out of its TP rank's bucket by Megatron's layout rules (reverse registration order, 64-element
      aligned starts; docs/FORMATS.md §4.7), assembles each parameter's global fp32 tensor per layer, checks that the
      fp32 `param` rounds to the saved bf16 weight (proves the reference's layout), writes them to OUT.npz.
  torchrun --standalone --nproc_per_node 1 check_megatron_reshard.py train DUMP.npz MEGATRON_FLAG ...
      runs Megatron's pretrain_gpt.py (PYTHONPATH=$MLM) with the flags; right after Megatron's own load_checkpoint it
      dumps, per model parameter, the DistributedOptimizer's loaded fp32 main param and Adam moments (and the bf16
      weight) to DUMP.npz, then training continues.
  python3 check_megatron_reshard.py compare EXPECTED.npz DUMP.npz TRAIN_LOG FIRST_ITER LAST_ITER
      PASS only if every parameter's loaded main param / exp_avg / exp_avg_sq equals the expected one bit for bit, the
      bf16 weights equal the source's, and Megatron logged a finite lm loss for iterations FIRST..LAST.
The layout reference needs numpy only once the tensors are loaded (`expected-dry SRC_ITER_DIR DCP_METADATA_JSON OUT`
reads the chunks through the fixture's reference dcp_metadata.json instead of torch, for a dry run without torch).
"""
import json
import math
import os
import re
import sys

import numpy as np

LAYER_KEYS = ["self_attention.linear_qkv.layer_norm_weight", "self_attention.linear_proj.weight",
              "self_attention.linear_qkv.weight", "mlp.linear_fc1.layer_norm_weight", "mlp.linear_fc1.weight",
              "mlp.linear_fc2.weight"]
STATES = ["param", "exp_avg", "exp_avg_sq"]
BUCKET = "optimizer.distributed.dp_group_idx_{m}.gbuf_idx_0.dtype_(torch.bfloat16, torch.float32).bucket_idx_0.{s}"


def split_axis(key):
    """Module axis of the TP split (after the layer axis); -1 replicated; 'glu' for SwiGLU fc1 (gate/up halves)."""
    if "layer_norm" in key or "layernorm" in key:
        return -1
    if key.endswith("linear_fc1.weight"):
        return "glu"
    if key.endswith("linear_proj.weight") or key.endswith("linear_fc2.weight"):
        return 1
    return 0


def registration_order(layers):
    """mcore GPT, local spec: embedding, per layer (input norm, linear_proj, linear_qkv, pre-MLP norm, fc1, fc2), final norm, output."""
    order = [("embedding.word_embeddings.weight", -1)]
    for l in range(layers):
        order += [("decoder.layers." + k, l) for k in LAYER_KEYS]
    order += [("decoder.final_layernorm.weight", -1), ("output_layer.weight", -1)]
    return order


def expected_from(tensors, tp, layers):
    """tensors: name → numpy array (buckets float32 1-d, model weights as uint16 bf16 bits). Returns 'state|key|layer' → fp32."""
    out = {}
    order = registration_order(layers)
    for state in STATES:
        glob = {}
        for m in range(tp):
            bucket = tensors[BUCKET.format(m=m, s=state)]
            at = 0
            for key, layer in reversed(order):
                g = tensors[key].shape
                module = g[1:] if layer >= 0 else g
                ax = split_axis(key)
                n = int(np.prod(module)) // (1 if ax == -1 else tp)
                start = (at + 63) // 64 * 64
                at = start + n
                if ax == -1 and m > 0:
                    continue
                local_shape = list(module)
                if ax == "glu" or ax == 0:
                    local_shape[0] //= tp
                elif ax == 1:
                    local_shape[1] //= tp
                local = bucket[start:start + n].reshape(local_shape)
                full = glob.setdefault((key, layer), np.full(module, np.nan, dtype=np.float32))
                if ax == -1:
                    full[...] = local
                elif ax == "glu":
                    half = module[0] // (2 * tp)
                    full[m * half:(m + 1) * half] = local[:half]
                    full[module[0] // 2 + m * half: module[0] // 2 + (m + 1) * half] = local[half:]
                elif ax == 0:
                    full[m * local_shape[0]:(m + 1) * local_shape[0]] = local
                else:
                    full[:, m * local_shape[1]:(m + 1) * local_shape[1]] = local
            if at != bucket.shape[0]:
                raise SystemExit(f"reference layout ends at {at}, bucket {m} holds {bucket.shape[0]}: wrong reference order")
        for (key, layer), v in glob.items():
            out[f"{state}|{key}|{layer}"] = v
    # the reference's own proof: fp32 main params round (nearest even) to the saved bf16 weights
    bad = 0
    for key, layer in order:
        w = tensors[key][layer] if layer >= 0 else tensors[key]
        p = out[f"param|{key}|{layer}"].view(np.uint32).astype(np.uint64)
        r = ((p + 0x7FFF + ((p >> 16) & 1)) >> 16).astype(np.uint16)
        if not np.array_equal(r, w):
            bad += 1
            print(f"reference: {key} layer {layer}: fp32 param does not round to the bf16 weight", flush=True)
        out[f"model|{key}|{layer}"] = w
    if bad:
        raise SystemExit("FAIL reference layout (see above)")
    return out


def load_dcp(src_iter):
    import torch
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.metadata import TensorStorageMetadata
    reader = dcp.FileSystemReader(src_iter)
    md = reader.read_metadata()
    sd = {k: torch.empty(tuple(v.size), dtype=v.properties.dtype) for k, v in md.state_dict_metadata.items()
          if isinstance(v, TensorStorageMetadata) and (k.startswith("optimizer.distributed.") or not k.startswith("optimizer."))}
    dcp.load(sd, storage_reader=reader, no_dist=True)
    out = {}
    for k, t in sd.items():
        out[k] = t.view(torch.int16).numpy().view(np.uint16) if t.dtype == torch.bfloat16 else t.numpy()
    return out


def load_dcp_json(src_iter, metadata_json):
    """Dry runs without torch: the fixture's reference dcp_metadata.json (PyTorch's dump of .metadata) locates every
    chunk's torch.save archive; its single storage member holds the chunk's bytes."""
    import io
    import zipfile
    with open(metadata_json) as f:
        md = json.load(f)
    records = {}
    for r in md["storage_data"]:
        if r["offset"] is not None:
            records[(r["fqn"], tuple(r["offset"]))] = r
    out = {}
    for k, v in md["state_dict_metadata"].items():
        if v["kind"] != "tensor" or (k.startswith("optimizer.") and not k.startswith("optimizer.distributed.")):
            continue
        dt = {"float32": np.float32, "bfloat16": np.uint16}[v["dtype"]]
        full = np.zeros(v["size"], dtype=dt)
        for c in v["chunks"]:
            r = records[(k, tuple(c["offsets"]))]
            with open(os.path.join(src_iter, r["storage_relative_path"]), "rb") as f:
                f.seek(r["storage_offset"])
                z = zipfile.ZipFile(io.BytesIO(f.read(r["storage_length"])))
            data = [n for n in z.namelist() if re.search(r"/data/\d+$", n)]
            arr = np.frombuffer(z.read(data[0]), dtype=dt).reshape(c["sizes"])
            full[tuple(slice(o, o + n) for o, n in zip(c["offsets"], c["sizes"]))] = arr
        out[k] = full
    return out


def layers_and_tp(tensors):
    tp = len({k.split(".")[2] for k in tensors if k.startswith("optimizer.distributed.dp_group_idx_")})
    layers = tensors["decoder.layers.mlp.linear_fc2.weight"].shape[0]
    return tp, layers


def dump_after_load(path):
    """Wraps Megatron's load_checkpoint: after it returns, the loaded optimizer state per parameter goes to `path`."""
    import torch
    import megatron.training.training as T
    orig = T.load_checkpoint

    def name_to_key(name):
        while name.startswith("module."):
            name = name[len("module."):]
        m = re.match(r"decoder\.layers\.(\d+)\.(.+)", name)
        if not m:
            return name, -1
        rest = m.group(2)
        rest = {"input_layernorm.weight": "self_attention.linear_qkv.layer_norm_weight",
                "pre_mlp_layernorm.weight": "mlp.linear_fc1.layer_norm_weight"}.get(rest, rest)
        return "decoder.layers." + rest, int(m.group(1))

    def wrapped(model, optimizer, opt_param_scheduler, *a, **kw):
        subs = getattr(optimizer, "chained_optimizers", None) or [optimizer]
        import megatron.core.optimizer.distrib_optimizer as D
        if not D.HAVE_APEX_OR_TE:
            # Megatron 0.20's DistributedOptimizer.state_dict() reads the Adam 'step' of existing state when it builds
            # the sharded state dict to load into; with torch's Adam fallback (no Apex/TE, as here) a fresh optimizer
            # has none and resuming ANY distributed-optimizer checkpoint fails (`assert len(steps) == 1`), Megatron's
            # own saves included. Initialize the state as Megatron's fsdp_dtensor load path does
            # (_init_optimizer_states_with_dummy_values); the load then overwrites every value.
            for o in subs:
                if hasattr(o, "_init_optimizer_states_with_dummy_values") and len(o.optimizer.state) == 0:
                    o._init_optimizer_states_with_dummy_values()
                    print("initialized empty Adam state before the load (torch Adam fallback)", flush=True)
            # The same fallback keeps Adam's 'step' as a tensor in each parameter's state, and Megatron's
            # fully_reshardable copy (_set_main_param_and_optimizer_states) expects a source for every state tensor
            # (KeyError: 'step', seen on the GPU box). Step is restored from the param groups; keep it as it is.
            orig_set = D.DistributedOptimizer._set_main_param_and_optimizer_states

            def set_keeping_step(self, model_param, tensors):
                if "step" not in tensors:
                    gi, go = self.model_param_group_index_map[model_param]
                    st = self.optimizer.state[self.optimizer.param_groups[gi]["params"][go]].get("step")
                    if isinstance(st, torch.Tensor):
                        tensors = {**tensors, "step": st.clone()}
                return orig_set(self, model_param, tensors)

            D.DistributedOptimizer._set_main_param_and_optimizer_states = set_keeping_step
        res = orig(model, optimizer, opt_param_scheduler, *a, **kw)
        out = {}
        for name, p in model[0].named_parameters():
            key, layer = name_to_key(name)
            opt = next((o for o in subs if p in getattr(o, "model_param_group_index_map", {})), None)
            if opt is None:
                raise SystemExit(f"FAIL no distributed optimizer holds {name}")
            st = opt._get_main_param_and_optimizer_states(p)
            for s in STATES:
                v = st[s].detach().float().cpu()
                if v.numel() != p.numel():
                    raise SystemExit(f"FAIL {name}: {s} shard has {v.numel()} of {p.numel()} elements (DP must be 1)")
                out[f"{s}|{key}|{layer}"] = v.reshape(p.shape).numpy()
            out[f"model|{key}|{layer}"] = p.detach().cpu().view(torch.int16).numpy().view(np.uint16)
        np.savez(path, **out)
        steps = [g.get("step") for o in subs for g in o.optimizer.param_groups]
        print(f"DUMPED {len(out)} arrays after load: iteration {res[0]}, optimizer step {steps[:1]}", flush=True)
        return res

    T.load_checkpoint = wrapped


def compare(expected, loaded, log, first, last):
    e, g = np.load(expected), np.load(loaded)
    ok = True
    if set(e.files) != set(g.files):
        print(f"FAIL keys differ: only expected {sorted(set(e.files) - set(g.files))[:5]}, "
              f"only loaded {sorted(set(g.files) - set(e.files))[:5]}")
        ok = False
    counts = {}
    for k in sorted(set(e.files) & set(g.files)):
        a, b = e[k], g[k]
        same = a.shape == b.shape and np.array_equal(a.view(np.uint8), b.view(np.uint8))
        kind = k.split("|")[0]
        counts.setdefault(kind, [0, 0])[0 if same else 1] += 1
        if not same:
            ok = False
            d = "shape " + str(a.shape) + " vs " + str(b.shape) if a.shape != b.shape else \
                f"{int((a.view(np.uint8) != b.view(np.uint8)).sum())} bytes differ"
            print(f"FAIL {k}: {d}")
    for kind, (good, bad) in sorted(counts.items()):
        print(f"{'PASS' if bad == 0 else 'FAIL'} {kind}: {good} tensors bit-identical, {bad} differ")
    losses = {}
    with open(log, errors="replace") as f:
        for line in f:
            m = re.search(r"iteration\s+(\d+)/\s*\d+ \|.*?lm loss: ([^ |]+)", line)
            if m:
                losses[int(m.group(1))] = float(m.group(2))
    for it in range(first, last + 1):
        v = losses.get(it)
        good = v is not None and math.isfinite(v)
        ok &= good
        print(f"{'PASS' if good else 'FAIL'} iteration {it} lm loss {v}")
    if min(losses, default=first) < first:
        print(f"FAIL training started at iteration {min(losses)}, not {first}: the checkpoint's iteration was not resumed")
        ok = False
    print("ALL PASS" if ok else "SOME FAILED", flush=True)
    return ok


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "expected":
        t = load_dcp(sys.argv[2])
        tp, layers = layers_and_tp(t)
        np.savez(sys.argv[3], **expected_from(t, tp, layers))
        print(f"expected: TP {tp}, {layers} layers → {sys.argv[3]}")
    elif cmd == "expected-dry":  # SRC_ITER_DIR DCP_METADATA_JSON OUT.npz
        t = load_dcp_json(sys.argv[2], sys.argv[3])
        tp, layers = layers_and_tp(t)
        np.savez(sys.argv[4], **expected_from(t, tp, layers))
        print(f"expected (dry run, no torch): TP {tp}, {layers} layers → {sys.argv[4]}")
    elif cmd == "train":
        dump = sys.argv[2]
        mlm = os.environ.get("MLM", "/tmp/mlm")
        sys.path.insert(0, mlm)
        dump_after_load(dump)
        import runpy
        sys.argv = [os.path.join(mlm, "pretrain_gpt.py")] + sys.argv[3:]
        runpy.run_path(sys.argv[0], run_name="__main__")
    elif cmd == "compare":
        sys.exit(0 if compare(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])) else 1)
    else:
        print(__doc__)
        sys.exit(2)
