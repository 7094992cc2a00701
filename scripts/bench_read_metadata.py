#!/usr/bin/env python3
"""Time PyTorch's own DCP metadata read, for a side-by-side with `ckpt inspect` (docs/BENCHMARKS.md).

usage: bench_read_metadata.py DIR [--runs N] [--json]

DIR  a DCP checkpoint directory holding `.metadata` (for a Megatron torch_dist save: its iter_NNNNNNN dir), e.g. the
     synthetic 405B-scale one written by
       java -cp bench/target/ckpt-bench.jar ckpt.bench.SyntheticCheckpoint --shape llama3-405b --tp 8 --pp 14 \\
            --dp 144 --bucket-size 40000000 --metadata-only --out /tmp/m405

Reports, for one fresh process:
  import_s        importing torch.distributed.checkpoint (what any Python tool pays first)
  first_read_s    FileSystemReader(DIR).read_metadata(), the first call
  warm_read_s     the same call again, best of --runs further calls (0 runs: skipped)
  peak_rss_mib    the process's peak resident set (ru_maxrss) after the reads
  chunks, tensors, storage_records: counts from the result, to check both tools read the same thing

For a whole-process comparison in one run, with hyperfine (both cold processes, same machine):
  hyperfine -N --runs 3 'python3 scripts/bench_read_metadata.py /tmp/m405/iter_0000100 --runs 0' \\
                        './ckpt inspect --json --summary /tmp/m405/iter_0000100'
"""
import argparse
import json
import resource
import sys
import time

t0 = time.perf_counter()
from torch.distributed.checkpoint import FileSystemReader  # noqa: E402
from torch.distributed.checkpoint.metadata import TensorStorageMetadata  # noqa: E402
import_s = time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--runs", type=int, default=3, help="warm repeats after the first read (default 3)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    a = ap.parse_args()

    t = time.perf_counter()
    md = FileSystemReader(a.dir).read_metadata()
    first = time.perf_counter() - t
    warm = None
    for _ in range(a.runs):
        t = time.perf_counter()
        FileSystemReader(a.dir).read_metadata()
        d = time.perf_counter() - t
        warm = d if warm is None else min(warm, d)

    tensors = [v for v in md.state_dict_metadata.values() if isinstance(v, TensorStorageMetadata)]
    out = {
        "dir": a.dir,
        "import_s": round(import_s, 3),
        "first_read_s": round(first, 3),
        "warm_read_s": None if warm is None else round(warm, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "tensors": len(tensors),
        "chunks": sum(len(v.chunks) for v in tensors),
        "storage_records": len(md.storage_data or {}),
    }
    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:16} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
