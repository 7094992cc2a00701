"""Prints the directories holding CUDA 13's runtime (libcudart.so.13), ':'-joined, for LD_LIBRARY_PATH; nothing if none.

Looks in PyTorch's pip wheels (nvidia/cu13/lib, nvidia/cuda_runtime/lib, ...) under every site-packages, and as a last
resort in the CUDA runtime torch itself maps. Used by check_cuda_engine.sh and bench_reshard_gpu_box.sh.
"""
import glob, os, site, sys
roots = []
try:
    import torch  # the wheel's own site-packages first
    roots.append(os.path.dirname(os.path.dirname(torch.__file__)))
except Exception:
    pass
try:
    roots += site.getsitepackages() + [site.getusersitepackages()]
except Exception:
    pass
roots += [p for p in sys.path if p.endswith("-packages")]
dirs = []
for r in roots:
    for pattern in ("nvidia/cu13/lib", "nvidia/cuda_runtime/lib", "nvidia/*/lib", "torch/lib"):
        for d in sorted(glob.glob(os.path.join(r, pattern))):
            if glob.glob(os.path.join(d, "libcudart.so.13*")) and d not in dirs:
                dirs.append(d)
if not dirs:  # last resort: where the CUDA runtime that torch itself maps lives
    try:
        import torch
        torch.zeros(1).cuda()
        for line in open("/proc/self/maps"):
            path = line.split()[-1]
            if "libcudart.so.13" in path and os.path.dirname(path) not in dirs:
                dirs.append(os.path.dirname(path))
    except Exception:
        pass
print(":".join(dirs))
