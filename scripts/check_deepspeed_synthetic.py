#!/usr/bin/env python3
"""Validate the synthetic ZeRO-3 generator with DeepSpeed's own zero_to_fp32.py, and race it against ckpt.

Usage: check_deepspeed_synthetic.py --work DIR --java JAVA --bench-jar JAR --ckpt-jar JAR --deepspeed-bundle TAR_XZ
                                    [--shape llama3-8b] [--layers 2] [--vocab 32000] [--world-size 8] [--keep]

Steps (each timed, the two converters under /usr/bin/time -v for their peak RSS):
  1. java -cp JAR ckpt.bench.SyntheticZero3 --out DIR/ckpt ...  (default: Llama-3-8B layer shapes, 2 layers, vocab
     32,000: 0.70 B parameters, 8.4 GB over 8 ranks; reference-sha256.json from the generator's value streams)
  2. DeepSpeed 0.14.5's zero_to_fp32.py (from the bundle, pure Python) DIR/ckpt -> DIR/zero_to_fp32.bin
  3. ckpt convert DIR/ckpt --format pytorch --output-dir DIR/ckpt-pt
  4. every tensor: zero_to_fp32's == ckpt's (torch.equal, same dtype and shape) and sha256 == the generator's
Prints a summary (and DIR/result.json): sizes, wall time and peak RSS of both converters, and whether ckpt's peak RSS
stays within 1 GiB + the largest tensor. Exit status 1 on any difference.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

import torch


def run_timed(cmd, env=None, log=None):
    """Runs cmd; returns (wall seconds, peak RSS bytes) of that process alone (os.wait4's rusage, no /usr/bin/time)."""
    t0 = time.time()
    with open(log or os.devnull, "w") as out:
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(p.pid, 0)
    wall = time.time() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        if log:
            with open(log) as f:
                sys.stderr.write(f.read()[-8000:])
        raise SystemExit(f"failed ({rc}): {' '.join(cmd)}")
    return wall, usage.ru_maxrss * 1024


def sha256(t):
    t = t.contiguous()
    h = hashlib.sha256()
    flat = t.reshape(-1).view(torch.uint8)
    step = 1 << 28
    for i in range(0, flat.numel(), step):
        h.update(flat[i:i + step].numpy().tobytes())
    return h.hexdigest()


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--java", required=True)
    ap.add_argument("--bench-jar", required=True)
    ap.add_argument("--ckpt-jar", required=True)
    ap.add_argument("--deepspeed-bundle", required=True)
    ap.add_argument("--shape", default="llama3-8b")
    ap.add_argument("--layers", default="2")
    ap.add_argument("--vocab", default="32000")
    ap.add_argument("--world-size", default="8")
    ap.add_argument("--keep", action="store_true", help="keep the checkpoint and outputs")
    a = ap.parse_args()

    work = os.path.abspath(a.work)
    ckpt_dir, z2f_out, ckpt_out = os.path.join(work, "ckpt"), os.path.join(work, "zero_to_fp32.bin"), os.path.join(work, "ckpt-pt")
    os.makedirs(work, exist_ok=True)
    for p in (ckpt_dir, ckpt_out):
        shutil.rmtree(p, ignore_errors=True)
    site = os.path.join(work, "ds-site")
    if not os.path.isdir(os.path.join(site, "deepspeed")):
        os.makedirs(site, exist_ok=True)
        with tarfile.open(a.deepspeed_bundle) as t:
            t.extractall(site)

    t0 = time.time()
    subprocess.run([a.java, "-cp", a.bench_jar, "ckpt.bench.SyntheticZero3", "--out", ckpt_dir, "--shape", a.shape,
                    "--layers", a.layers, "--vocab", a.vocab, "--world-size", a.world_size], check=True)
    gen_s = time.time() - t0
    size = du(os.path.join(ckpt_dir, "global_step4"))
    with open(os.path.join(ckpt_dir, "reference-sha256.json")) as f:
        ref = json.load(f)
    largest = max(4 * torch.Size(v["shape"]).numel() for v in ref.values())
    print(f"generated {size:,} bytes over {a.world_size} ranks in {gen_s:.1f}s; largest tensor {largest:,} bytes")

    env = dict(os.environ, PYTHONPATH=site, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1", DS_BUILD_OPS="0")
    # Run a copy beside the checkpoint, as DeepSpeed itself places it: run from deepspeed/utils/, that folder's own
    # torch.py would shadow the real torch package (sys.path[0] is the script's folder).
    z2f = os.path.join(work, "zero_to_fp32.py")
    shutil.copyfile(os.path.join(site, "deepspeed", "utils", "zero_to_fp32.py"), z2f)
    z_wall, z_rss = run_timed([sys.executable, z2f, ckpt_dir, z2f_out], env=env, log=os.path.join(work, "zero_to_fp32.log"))
    print(f"zero_to_fp32.py: {z_wall:.1f}s, peak RSS {z_rss / 2**30:.2f} GiB")
    c_wall, c_rss = run_timed([a.java, "--enable-native-access=ALL-UNNAMED", "-jar", a.ckpt_jar, "convert", ckpt_dir,
                               "--format", "pytorch", "--output-dir", ckpt_out, "--quiet"], log=os.path.join(work, "ckpt.log"))
    print(f"ckpt convert:    {c_wall:.1f}s, peak RSS {c_rss / 2**30:.2f} GiB")

    z = torch.load(z2f_out, weights_only=True, mmap=True, map_location="cpu")
    c = torch.load(os.path.join(ckpt_out, "model.pt"), weights_only=True, mmap=True, map_location="cpu")["model_state_dict"]
    bad = 0
    if list(z.keys()) != list(c.keys()):
        print(f"key order or set differs: zero_to_fp32 {len(z)} keys, ckpt {len(c)}")
        bad += 1
    for k, want in ref.items():
        zt, ct = z.get(k), c.get(k)
        if zt is None or ct is None:
            print(f"{k}: missing ({'zero_to_fp32' if zt is None else 'ckpt'})")
            bad += 1
            continue
        if zt.dtype != ct.dtype or zt.shape != ct.shape or not torch.equal(zt, ct):
            print(f"{k}: ckpt differs from zero_to_fp32")
            bad += 1
        if list(zt.shape) != want["shape"] or sha256(zt) != want["sha256"]:
            print(f"{k}: zero_to_fp32's tensor differs from the generator's stream (layout rule mismatch)")
            bad += 1
    within = c_rss <= (1 << 30) + largest
    result = {"parameters": sum(torch.Size(v["shape"]).numel() for v in ref.values()), "checkpoint_bytes": size,
              "world_size": int(a.world_size), "largest_tensor_bytes": largest, "tensors": len(ref), "differences": bad,
              "zero_to_fp32": {"seconds": round(z_wall, 1), "peak_rss_bytes": z_rss},
              "ckpt": {"seconds": round(c_wall, 1), "peak_rss_bytes": c_rss, "within_1GiB_plus_largest": within}}
    with open(os.path.join(work, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))
    print(f"| synthetic ZeRO-3, {result['parameters'] / 1e9:.2f} B params, {size / 1e9:.1f} GB, {a.world_size} ranks | "
          f"zero_to_fp32.py {z_wall:.0f} s, {z_rss / 2**30:.1f} GiB | ckpt {c_wall:.0f} s, {c_rss / 2**30:.2f} GiB |")
    if not a.keep:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
        shutil.rmtree(ckpt_out, ignore_errors=True)
        os.remove(z2f_out)
    ok = bad == 0 and within
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
