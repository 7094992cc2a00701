#!/usr/bin/env python3
"""Check `ckpt diff --json` statistics against PyTorch's own arithmetic on the same two Megatron checkpoints.

Usage: check_diff_stats.py DIFF_JSON ITER_A ITER_B
  DIFF_JSON: output of `ckpt diff ITER_A ITER_B --json --optimizer` (made where ckpt runs)
  ITER_A/B:  two torch_dist iteration dirs, e.g. testdata/megatron-llama-tp2/checkpoint/iter_0000002 and _0000004

Each iteration is rebuilt into global tensors by torch.distributed.checkpoint.format_utils.dcp_to_torch_save
(PyTorch's reader, not ckpt's). For every tensor of the JSON compared under its own key, the statistics are
recomputed in float64: differing elements (|a-b| > atol + rtol*|b|, NaN == NaN), max |a-b|, max |a-b|/|b| over
b != 0, mean |a-b|, cosine a.b/(|a||b|), |a|, |b|, |a-b|/|b|. Counts must be equal; the float figures equal within
1e-9 relative (ckpt sums sequentially in double, torch pairwise). Exit 0 when all match, 1 otherwise. Uses only torch.
"""
import json
import math
import sys
import tempfile

import torch
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save


def flat(d, prefix=""):
    for k, v in d.items():
        key = prefix + str(k)
        if isinstance(v, dict):
            yield from flat(v, key + ".")
        elif isinstance(v, torch.Tensor):
            yield key, v


def load(iter_dir):
    with tempfile.NamedTemporaryFile(suffix=".pt") as f:
        dcp_to_torch_save(iter_dir, f.name)
        sd = torch.load(f.name, weights_only=False)
    return dict(flat(sd))


def stats(a, b, atol, rtol):
    a = a.double().reshape(-1)
    b = b.double().reshape(-1)
    both_nan = torch.isnan(a) & torch.isnan(b)
    close = (a == b) | ((a - b).abs() <= atol + rtol * b.abs())
    differing = int((~(close | both_nan)).sum())
    fin = torch.isfinite(a) & torch.isfinite(b)
    a, b = a[fin], b[fin]
    d = (a - b).abs()
    nz = b != 0
    out = {
        "differing_elements": differing,
        "max_abs_diff": float(d.max()) if d.numel() else None,
        "max_rel_diff": float((d[nz] / b[nz].abs()).max()) if int(nz.sum()) else None,
        "mean_abs_diff": float(d.mean()) if d.numel() else None,
        "norm_a": float(a.norm()),
        "norm_b": float(b.norm()),
    }
    na, nb = a.norm(), b.norm()
    out["cosine_similarity"] = float((a @ b) / (na * nb)) if na > 0 and nb > 0 else None
    out["relative_l2_diff"] = float((a - b).norm() / nb) if nb > 0 else None
    return out


def main():
    report = json.load(open(sys.argv[1]))
    ta, tb = load(sys.argv[2]), load(sys.argv[3])
    bad = checked = 0
    for t in report["tensors"]:
        if t["name_a"] != t["name"] or t["name_b"] != t["name"] or t["status"] not in ("same", "different", "dtype_changed"):
            continue
        ref = stats(ta[t["name"]], tb[t["name"]], report["atol"], report["rtol"])
        problems = []
        for k, v in ref.items():
            mine = t[k]
            if k == "differing_elements":
                ok = mine == v
            elif v is None or mine is None:
                ok = v is None and mine is None
            else:
                ok = math.isclose(mine, v, rel_tol=1e-9, abs_tol=1e-300)
            if not ok:
                problems.append(f"{k}: ckpt {mine} torch {v}")
        checked += 1
        bad += bool(problems)
        print(("OK   " if not problems else "DIFF ") + t["name"] + ("" if not problems else "  " + "; ".join(problems)))
    print(f"{checked} tensors checked, {bad} with differences")
    sys.exit(1 if bad or checked == 0 else 0)


if __name__ == "__main__":
    main()
