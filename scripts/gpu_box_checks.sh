#!/usr/bin/env bash
# Runs the interoperability checks that need PyTorch/transformers/DeepSpeed on the GPU box, with ckpt from the
# release tarball (the box has no JDK). Usage, from the repository root on the box:
#   scripts/gpu_box_checks.sh RELEASE_TAR(.gz|.xz) BENCH_THIN_JAR DEEPSPEED_BUNDLE PHASE...
# Phases: megatron-logits (HF export of the Megatron fixtures vs Megatron's logits, from device-refs/: carry it),
#         deepspeed (fixture logits + torch.load), deepspeed-synthetic (≥ 8 GB ZeRO-3 vs zero_to_fp32.py),
#         read-metadata (8B and synthetic 405B .metadata: ckpt inspect vs torch's read_metadata), diff-stats.
set -uo pipefail
rel=${1:?release tarball}; bench=${2:?bench jar}; dsb=${3:?deepspeed bundle}; shift 3
w=${WORK:-/tmp/ckpt-checks}; mkdir -p "$w/rel"
tar -xf "$rel" -C "$w/rel" || exit 1
home=$(echo "$w"/rel/*/); ckpt="$home/bin/ckpt"; java="$home/runtime/bin/java"; jar="$home/lib/ckpt.jar"
"$ckpt" --version || exit 1
fail=0
# Wall time and peak RSS of one command (the child's ru_maxrss; /usr/bin/time may be absent on the box).
timed() { python3 -c 'import resource,subprocess,sys,time
t=time.time(); r=subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL)
print(f"{sys.argv[1]}: {time.time()-t:.2f} s wall, {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} KB peak RSS")
sys.exit(r.returncode)' "$@"; }
step() { echo "== $*"; "$@" || { echo "FAILED: $*"; fail=1; }; }
for phase in "$@"; do
  case $phase in
    megatron-logits)
      # Megatron's own logits are not in git (device-refs/README.md): check they are the recorded bytes first.
      if ! (cd device-refs && sha256sum -c --quiet SHA256SUMS); then
        echo "FAILED: device-refs/ missing or not the recorded bytes (carry device-refs)"; fail=1; continue
      fi
      for f in megatron-llama-tp2 megatron-qwen3-tp2; do
        step "$ckpt" convert "testdata/$f/checkpoint" --format huggingface --output-dir "$w/$f-hf" --force --quiet
        step python3 scripts/check_hf_logits.py "$w/$f-hf" "device-refs/$f/reference/iter_0000004/logits.safetensors"
      done ;;
    deepspeed)
      args=()
      for f in deepspeed-zero1-gpt2-fp16 deepspeed-zero3-llama-dp2; do
        step "$ckpt" convert "testdata/$f" --format huggingface --config "testdata/$f/reference" --output-dir "$w/$f-hf" --force --quiet
        step "$ckpt" convert "testdata/$f" --format pytorch --output-dir "$w/$f-pt" --force --quiet
        args+=("testdata/$f" "$w/$f-hf" "$w/$f-pt/model.pt")
      done
      step python3 scripts/check_deepspeed_hf_logits.py "${args[@]}" ;;
    deepspeed-synthetic)
      step python3 scripts/check_deepspeed_synthetic.py --work "$w/z3" --java "$java" --bench-jar "$jar:$bench" \
        --ckpt-jar "$jar" --deepspeed-bundle "$dsb" ;;
    read-metadata)
      step "$java" -cp "$jar:$bench" ckpt.bench.SyntheticCheckpoint --shape llama3-405b --tp 8 --pp 14 --dp 144 \
        --bucket-size 40000000 --metadata-only --out "$w/m405" >/dev/null
      # EXTRA_METADATA_DIRS: more iteration dirs to time, e.g. issue 17's 208 MB .metadata from the generator before
      # 01e48ba (1.37 M chunks; today's generator writes 27 MB, 162 k chunks, for the same arguments).
      for d in testdata/megatron-llama3-8b-meta/checkpoint/iter_0000001 "$(ls -d "$w"/m405/iter_* | head -1)" ${EXTRA_METADATA_DIRS:-}; do
        [ -d "$d" ] || d=$(ls -d testdata/megatron-llama3-8b-meta/checkpoint/iter_* | head -1)
        echo "-- $d"
        for i in 1 2 3; do timed "ckpt --version" "$ckpt" --version; done
        for i in 1 2; do timed "ckpt inspect --json --summary" "$ckpt" inspect --json --summary "$d"; done
        for i in 1; do timed "ckpt inspect (human)" "$ckpt" inspect "$d"; done
        "$ckpt" inspect "$d" | head -12
        for i in 1; do timed "python3 + torch read_metadata (whole process)" python3 scripts/bench_read_metadata.py "$d" --runs 0; done
        python3 scripts/bench_read_metadata.py "$d" --runs 1
      done ;;
    diff-stats)
      a=testdata/megatron-llama-tp2/checkpoint/iter_0000002; b=testdata/megatron-llama-tp2/checkpoint/iter_0000004
      "$ckpt" diff "$a" "$b" --optimizer --json > "$w/diff-2-4.json"
      # dcp_to_torch_save unpickles Megatron's common state, which names megatron classes: needs $MLM on the path.
      PYTHONPATH=${MLM:-/tmp/mlm}${PYTHONPATH:+:$PYTHONPATH} step python3 scripts/check_diff_stats.py "$w/diff-2-4.json" "$a" "$b" ;;
    *) echo "unknown phase $phase"; fail=1 ;;
  esac
done
[ $fail = 0 ] && echo "ALL CHECKS PASSED" || echo "SOME CHECKS FAILED"
exit $fail
