#!/usr/bin/env bash
# Red-team sweep of every command's bad-input paths (not in CI: several hundred JVM runs, minutes).
#
#   scripts/redteam_errors.sh [JAR]        JAR defaults to ckpt-cli/target/ckpt.jar
#   RT_FILTER=REGEX   run only the cases whose name matches (grep -E)
#   RT_KEEP=1         keep the work dir (/tmp/ckpt-redteam.*) to look at outputs
#   RT_MODE=reports   only verify, verify --deep and diff (text and --json) over a subset of the damage kinds: what
#                     those commands print on stdout, where they report a damaged file as a finding
#
# Damages COPIES of the fixtures (testdata/ is never touched) and runs the commands on them. Each case must hold to the
# project's standard for bad input: exit 0 (damage not visible to that command) or 1 (2 only for usage errors), never 3
# or a timeout; at most one stderr line (verify and diff report problems on stdout), which names the damaged file or
# the input; no stack trace, no Java class or record name, no line over 600 characters; the input's bytes unchanged;
# no output dir or staging file left behind by a failed run. verify and diff also have their stdout checked: no trace
# or class name there either, no line over 1000 characters (the longest sound one: the note listing the loader-allowlisted
# globals a Megatron .metadata needs, about 700; input text is quoted at most 200 characters at a time), every problem line starting with the file it names, the
# damaged file named when they exit 1 with problems listed, and --json output valid JSON (or nothing, when the error
# went to stderr) whose strings obey the same rules. No message may lead with a pickle opcode name. Prints a table and exits 1 on any violation.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=$(realpath "${1:-$ROOT/ckpt-cli/target/ckpt.jar}")
JAVA=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
FILTER=${RT_FILTER:-.}
MODE=${RT_MODE:-all}
W=$(mktemp -d /tmp/ckpt-redteam.XXXXXX)
cleanup() { chmod -R u+rwX "$W" 2>/dev/null; [ "${RT_KEEP:-0}" = 1 ] || rm -rf "$W"; }
trap cleanup EXIT
TD=$ROOT/testdata
N=0; BAD=0; CASE_ID=0
printf '%-58s %3s %3s %-5s %-5s %-4s %5s %-4s %-5s %s\n' CASE rc err trace class file secs same left verdict

# a Java class name: a qualified name, an exception or error type, a record's toString, an identity hash, a lambda
CLASS_RE='\b(java|javax|jdk|sun|ckpt|picocli|com\.fasterxml|org\.apache)\.[a-z_]+\.[A-Za-z_$]|\b[A-Z][A-Za-z0-9]*(Exception|Error)\b|\b[A-Z][a-z]+[A-Z][A-Za-z0-9]*\[[a-zA-Z]+=|\b[A-Z][A-Za-z0-9]*\([a-z]+=|: null\b|@[0-9a-f]{6,}\b|\$\$Lambda|\$[A-Z][A-Za-z]+\b'
export CLASS_RE
# pickle jargon as the headline of a message ("SETITEMS (0x75): odd number of items"): the opcode may appear only as a
# detail in parentheses after what is wrong in user terms
OPCODE_RE='(^|: )[A-Z][A-Z0-9_]+ \(0x[0-9a-f]{2}\)|unknown opcode 0x'
export OPCODE_RE

# report_check OUT JSON(0|1) RC NAMEPAT WORKDIR: rules for the stdout of verify or diff; prints the violations found
report_check() { python3 - "$@" <<'EOF'
import sys, json, os, re
out, is_json, rc, namepat, work = sys.argv[1], sys.argv[2] == '1', sys.argv[3], sys.argv[4], sys.argv[5]
cls = re.compile(os.environ['CLASS_RE'])
opc = re.compile(os.environ['OPCODE_RE'])
text = open(out, encoding='utf-8', errors='replace').read()
why = []
def line_rules(s, where):
    if len(s) > 1000: why.append(f'{where}-long({len(s)})')
    if cls.search(s): why.append(f'{where}-class')
    if opc.search(s): why.append(f'{where}-opcode')
if is_json:
    doc = None
    if text.strip():
        try:
            doc = json.loads(text)
        except ValueError:
            why.append('bad-json')
    # messages (problems' file and what, notes) are bounded; names (a problem's key, diff's tensor names) are data,
    # kept whole for whoever matches on them, and only checked for Java names
    def walk(v, k=None):
        if isinstance(v, str): line_rules(v, 'json') if k in ('file', 'what', 'notes', 'engine_notes') else (
            why.append('json-class') if cls.search(v) else None)
        elif isinstance(v, dict): [walk(x, kk) for kk, x in v.items()]
        elif isinstance(v, list): [walk(x, k) for x in v]
    walk(doc)
    for r in (doc if isinstance(doc, list) else [doc] if isinstance(doc, dict) else []):
        probs = r.get('problems') or []
        for p in probs:
            if not p.get('file') or not str(p['file']).startswith(work): why.append('json-problem-no-file')
        if rc == '1' and probs and namepat != '-' and namepat not in json.dumps(probs, ensure_ascii=False):
            why.append('json-no-file')
else:
    problems = False
    for line in text.splitlines():
        line_rules(line, 'out')
        if re.fullmatch(r'\d+ problems?:', line): problems = True
        elif problems and line.startswith('  '):
            if not line.startswith('  ' + work): why.append('problem-no-file')
        else: problems = False
    if re.search(r'(?m)^\d+ problems?:$', text) and namepat != '-' and namepat not in text: why.append('out-no-file')
print(' '.join(sorted(set(why))))
EOF
}

hash_tree() { (cd "$1" 2>/dev/null && find -L . -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum 2>/dev/null | sha256sum) || sha256sum "$1" 2>/dev/null; }

# rt NAME RCS INPUT NAMEPAT OUT -- ARGS...
#   RCS: allowed exit codes (e.g. "01", "1", "2"); INPUT: file or dir whose bytes must not change ("-": none);
#   NAMEPAT: a string the error line must contain (a file name or the input path); OUT: the output dir ("-": none).
rt() {
  local name=$1 rcs=$2 input=$3 namepat=$4 out=$5; shift 6
  [[ $name =~ $FILTER ]] || return 0
  CASE_ID=$((CASE_ID + 1)); N=$((N + 1))
  local d=$W/run.$CASE_ID; mkdir -p "$d"
  local before='' after='' outparent='' lsb='' lsa='' existed=0
  [ "$input" != - ] && before=$(hash_tree "$input")
  if [ "$out" != - ]; then outparent=$(dirname "$out"); lsb=$(ls -A "$outparent" 2>/dev/null); [ -e "$out" ] && existed=1; fi
  local t0=$(date +%s.%N)
  timeout 60 "$JAVA" --enable-native-access=ALL-UNNAMED -jar "$JAR" "$@" >"$d/out" 2>"$d/err" </dev/null
  local rc=$?
  local secs=$(echo "$(date +%s.%N) - $t0" | bc)
  [ "$input" != - ] && after=$(hash_tree "$input")
  local errn=$(wc -l <"$d/err")
  local all="$d/all"; cat "$d/err" "$d/out" >"$all"
  local trace=no class=no file=ok same=yes left=no why=''
  grep -qE '^\s+at [a-zA-Z_$.]+\(|\.java:[0-9]+\)|^(Exception|Caused by)' "$all" && trace=YES
  # a ckpt JSON schema name (ckpt.convert.parts/2) is a name users see in the files, not a Java package
  sed -E 's#ckpt\.[a-z_.]+/[0-9]+#SCHEMA#g' "$d/err" | grep -qE "$CLASS_RE" && class=YES
  grep -qE "$OPCODE_RE" "$d/err" && why+=' opcode'
  if [ "$rc" != 0 ] && [ "$errn" -ge 1 ] && [ "$namepat" != - ] && ! grep -qF -- "$namepat" "$d/err"; then file=NO; fi
  awk 'length > 600 { exit 1 }' "$d/err" || why+=' long-line'
  [ "$before" != "$after" ] && same=NO
  if [ "$out" != - ]; then
    lsa=$(ls -A "$outparent" 2>/dev/null)
    if [ "$rc" != 0 ]; then
      if [ $existed = 0 ] && [ -e "$out" ]; then left=YES; fi
      [ "$lsb" != "$lsa" ] && [ $existed = 0 ] && [ ! -e "$out" ] && left=YES
      [ $existed = 1 ] && [ "$lsb" != "$lsa" ] && left=YES
    fi
  fi
  [[ $rcs == *"$rc"* ]] || why+=" rc=$rc"
  [ "$rc" = 124 ] && why+=' timeout'
  [ "$errn" -gt 1 ] && why+=' lines'
  [ "$rc" = 1 ] && [ "$errn" = 0 ] && [[ ! " $* " =~ \ (verify|diff)\  ]] && why+=' silent'
  [ "$rc" = 1 ] && [ "$errn" = 0 ] && [ ! -s "$d/out" ] && why+=' silent'
  # input text reaches the terminal escaped: no raw control character but tab and newline, in either stream
  LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]' "$all" && why+=' control-char'
  if [[ " $* " == *" inspect "*"--json"* ]] && [ -s "$d/out" ]; then
    python3 -c 'import json,sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$d/out" 2>/dev/null || why+=' bad-json'
  fi
  if [[ " $* " =~ \ (verify|diff)\  ]]; then
    local js=0 rep; [[ " $* " == *" --json "* ]] && js=1
    rep=$(report_check "$d/out" $js "$rc" "$namepat" "$W/")
    [ -n "$rep" ] && why+=" $rep"
    grep -qE '^\s+at [a-zA-Z_$.]+\(|\.java:[0-9]+\)|^(Exception|Caused by)' "$d/out" && why+=' out-trace'
  fi
  [ $trace = YES ] && why+=' trace'; [ $class = YES ] && why+=' class'; [ $file = NO ] && why+=' no-file'
  [ $same = NO ] && why+=' modified'; [ $left = YES ] && why+=' leftover'
  local verdict=ok
  if [ -n "$why" ]; then verdict="FAIL$why"; BAD=$((BAD + 1)); fi
  printf '%-58s %3s %3s %-5s %-5s %-4s %5.1f %-4s %-5s %s\n' "${name:0:58}" "$rc" "$errn" $trace $class $file "$secs" $same $left "$verdict"
  if [ -n "$why" ]; then head -c 400 "$d/err" | sed 's/^/      | /'; [ -s "$d/err" ] || head -c 600 "$d/out" | sed 's/^/      > /'; echo; fi
  [ "$out" != - ] && [ $existed = 0 ] && rm -rf "$out" "$out.parts"
  rm -rf "$d"
}

# ---- damage helpers (work on copies under $W) --------------------------------------------------------------------
copy() { chmod -R u+rwX "$2" 2>/dev/null; rm -rf "$2"; mkdir -p "$(dirname "$2")"; cp -a "$1" "$2"; }
truncate_at() { python3 - "$1" "$2" <<'EOF'
import sys, os
p, frac = sys.argv[1], sys.argv[2]
n = os.path.getsize(p)
at = int(frac) if not frac.endswith('%') else n * int(frac[:-1]) // 100
os.truncate(p, max(0, min(n - 1, at)))
EOF
}
flip() { python3 - "$1" "$2" <<'EOF'
import sys, random
p, seed = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read())
r = random.Random(seed)
for _ in range(8):
    i = r.randrange(len(b)); b[i] ^= 1 << r.randrange(8)
open(p, 'wb').write(b)
EOF
}
# hostile .metadata: the first torch.Size's first dim replaced (pickle protocol 4, one frame: the frame length is fixed)
hostile_size() { python3 - "$1" "$2" <<'EOF'
import sys, struct
p, kind = sys.argv[1], sys.argv[2]
d = open(p, 'rb').read()
i = d.index(b'\x8c\x04Size\x94\x93\x94') + 9
width = {ord('K'): 2, ord('M'): 3, ord('J'): 5}[d[i]]  # BININT1, BININT2, BININT
rep = {'longstr': b'X' + struct.pack('<I', 100000) + b'A' * 100000,
       'huge': b'\x8a\x08' + struct.pack('<q', 2**62),
       'neg': b'J' + struct.pack('<i', -7),
       'bigint': b'\x8b' + struct.pack('<I', 4000) + b'\x7f' * 4000,
       'float': b'G' + struct.pack('>d', 1.5),
       'none': b'N'}[kind]
d = d[:i] + rep + d[i + width:]
if d[2] == 0x95:
    d = d[:3] + struct.pack('<Q', len(d) - 11) + d[11:]
open(p, 'wb').write(d)
EOF
}
# a torch.save zip whose data.pkl is hostile
hostile_pt() { python3 - "$1" "$2" <<'EOF'
import sys, zipfile, struct
p, kind = sys.argv[1], sys.argv[2]
if kind == 'deep':        # 200000 nested lists
    pk = b'\x80\x02' + b']' * 200000 + b'a' * 199999 + b'.'
elif kind == 'deepdict':  # 200000 nested MARKs
    pk = b'\x80\x02' + b'(' * 200000 + b'.'
elif kind == 'hugelen':   # a string claiming 4 GiB
    pk = b'\x80\x02X' + struct.pack('<I', 0xFFFFFFF0) + b'abc.'
elif kind == 'hugebytes': # BINBYTES8 claiming 2^62
    pk = b'\x80\x04\x8e' + struct.pack('<Q', 2**62) + b'abc.'
elif kind == 'hugeint':   # LONG4 of 100 MB
    pk = b'\x80\x02\x8b' + struct.pack('<I', 100_000_000) + b'\x01' * 1000 + b'.'
elif kind == 'longkey':   # a dict with a 1 MB key holding a non-tensor
    pk = b'\x80\x02}X' + struct.pack('<I', 1_000_000) + b'k' * 1_000_000 + b'K\x01s.'
elif kind == 'notdict':   # a top-level int
    pk = b'\x80\x02K\x05.'
elif kind == 'badglobal': # an unknown class
    pk = b'\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.'
elif kind == 'longglobal': # an unknown class whose module name is 100 kB, called
    pk = b'\x80\x02c' + b'm' * 100000 + b'\nf\nX\x02\x00\x00\x00id\x85R.'
elif kind == 'manyglobals': # 5000 distinct unknown classes, each called
    pk = b'\x80\x02]' + b''.join(b'cmod%d\nf\n)R' % i + b'a' for i in range(5000)) + b'.'
elif kind == 'memo':      # BINGET of an unset memo slot
    pk = b'\x80\x02h\x07.'
elif kind == 'stackunder':# SETITEM on an empty stack
    pk = b'\x80\x02s.'
elif kind == 'noend':     # no STOP
    pk = b'\x80\x02}K\x01K\x02s'
with zipfile.ZipFile(p, 'w') as z:
    z.writestr('archive/data.pkl', pk)
    z.writestr('archive/byteorder', 'little')
    z.writestr('archive/version', '3\n')
EOF
}

O=$W/out/o   # every output dir
mkdir -p "$W/out"

# ---- commands on one input ----------------------------------------------------------------------------------------
# full IN NAMEPAT KIND: every read-side command (KIND: meg, leg, dcp, ts, st, ds picks the ones that apply)
full() {
  local tag=$1 in=$2 np=$3 kind=$4 rcs=${5:-01}
  if [ "$MODE" = reports ]; then reports "$@"; return; fi
  rt "$tag inspect" $rcs "$in" "$np" - -- inspect "$in"
  rt "$tag inspect --json" $rcs "$in" "$np" - -- inspect --json "$in"
  rt "$tag inspect --json --summary" $rcs "$in" "$np" - -- inspect --json --summary "$in"
  rt "$tag inspect --files" $rcs "$in" "$np" - -- inspect --files "$in"
  rt "$tag inspect --tensors" $rcs "$in" "$np" - -- inspect --tensors "$in"
  rt "$tag verify" $rcs "$in" "$np" - -- verify "$in"
  rt "$tag verify --deep" $rcs "$in" "$np" - -- verify --deep "$in"
  rt "$tag convert pytorch" $rcs "$in" "$np" "$O" -- convert --quiet --format pytorch --output-dir "$O" "$in"
  rt "$tag convert safetensors" $rcs "$in" "$np" "$O" -- convert --quiet --format safetensors --output-dir "$O" "$in"
  rt "$tag convert safetensors bf16" $rcs "$in" "$np" "$O" -- convert --quiet --format safetensors --dtype bf16 --output-dir "$O" "$in"
  rt "$tag convert pytorch fp16" $rcs "$in" "$np" "$O" -- convert --quiet --format pytorch --dtype fp16 --output-dir "$O" "$in"
  case $kind in meg|leg)
    rt "$tag convert huggingface" $rcs "$in" "$np" "$O" -- convert --quiet --format huggingface --output-dir "$O" "$in"
    rt "$tag convert huggingface bf16" $rcs "$in" "$np" "$O" -- convert --quiet --format huggingface --dtype bf16 --output-dir "$O" "$in"
    rt "$tag reshard tp1" $rcs "$in" "$np" "$O" -- reshard --quiet --tp 1 --output-dir "$O" "$in"
    rt "$tag memory" $rcs "$in" "$np" - -- memory "$in"
    rt "$tag list" $rcs "$in" "$np" - -- list "$in" ;;
  esac
  case $kind in ds) rt "$tag list" $rcs "$in" "$np" - -- list "$in" ;; esac
  rt "$tag diff vs itself" $rcs "$in" "$np" - -- diff "$in" "$in"
}
# quick IN NAMEPAT: the two commands that read the most (for the many truncations and flips)
quick() {
  local tag=$1 in=$2 np=$3 rcs=${4:-01}
  if [ "$MODE" = reports ]; then reports "$1" "$2" "$3" - "${4:-01}"; return; fi
  rt "$tag inspect --json" $rcs "$in" "$np" - -- inspect --json "$in"
  rt "$tag verify --deep" $rcs "$in" "$np" - -- verify --deep "$in"
}

# reports IN NAMEPAT KIND [RCS]: verify (fast and deep) and diff, text and --json; diff also against $ORIG, the
# undamaged input, when set (a damaged file that still reads is then a difference, reported on stdout)
reports() {
  local tag=$1 in=$2 np=$3 rcs=${5:-01}
  rt "$tag verify" $rcs "$in" "$np" - -- verify "$in"
  rt "$tag verify --json" $rcs "$in" "$np" - -- verify --json "$in"
  rt "$tag verify --deep" $rcs "$in" "$np" - -- verify --deep "$in"
  rt "$tag verify --deep --json" $rcs "$in" "$np" - -- verify --deep --json "$in"
  if [ -n "${ORIG:-}" ]; then
    rt "$tag diff vs undamaged" $rcs "$in" "$np" - -- diff "$ORIG" "$in"
    rt "$tag diff vs undamaged --json" $rcs "$in" "$np" - -- diff --json "$ORIG" "$in"
  else
    rt "$tag diff vs itself" $rcs "$in" "$np" - -- diff "$in" "$in"
    rt "$tag diff vs itself --json" $rcs "$in" "$np" - -- diff --json "$in" "$in"
  fi
}

# ---- the fixtures and the files damaged in each -------------------------------------------------------------------
MEG=$TD/megatron-llama-tp2/checkpoint
LEG=$TD/megatron-llama-tp2-legacy-torch/checkpoint
DCP=$TD/dcp-variety/checkpoint
ST=$TD/dcp-variety-hf/checkpoint
TS=$TD/torch-save/files
DS=$TD/deepspeed-zero3-llama-dp2

meg_copy() { chmod -R u+rwX "$W/meg" 2>/dev/null; rm -rf "$W/meg"; mkdir -p "$W/meg"; cp -a "$MEG/iter_0000004" "$W/meg/"; echo 4 >"$W/meg/latest_checkpointed_iteration.txt"; }
leg_copy() { copy "$LEG" "$W/leg"; }
ds_copy() { rm -rf "$W/ds"; mkdir -p "$W/ds"; cp -a "$DS/global_step4" "$DS/latest" "$W/ds/"; }

damage_family() { # FAMILY COPYFN DIR RELFILE KIND [INPUT: what the commands open, default DIR]
  local fam=$1 copyfn=$2 dir=${6:-$3} rel=$4 kind=$5 df=$3/$4 b; b=$(basename "$4")
  $copyfn; : >"$df"; full "$fam $b empty" "$dir" "$b" $kind
  $copyfn; flip "$df" 1; full "$fam $b flip1" "$dir" "$b" $kind
  if [ "$MODE" = reports ]; then # a subset: a cut in the header and one in the middle, a missing file
    for at in 64 50%; do $copyfn; truncate_at "$df" $at; full "$fam $b trunc$at" "$dir" "$b" $kind; done
    $copyfn; rm -f "$df"; full "$fam $b missing" "$dir" "$b" $kind
    return
  fi
  for at in 1 64 50% 90%; do $copyfn; truncate_at "$df" $at; quick "$fam $b trunc$at" "$dir" "$b"; done
  for s in 2 3; do $copyfn; flip "$df" $s; quick "$fam $b flip$s" "$dir" "$b"; done
  $copyfn; rm -rf "$df"; mkdir "$df"; quick "$fam $b is-a-dir" "$dir" "$b"
  $copyfn; rm -f "$df"; quick "$fam $b missing" "$dir" "$b"
  $copyfn; rm -f "$df"; ln -s "$b" "$df"; quick "$fam $b symlink-loop" "$dir" "$b"
}

# Megatron torch_dist (ORIG: what diff compares a damaged copy with in RT_MODE=reports): .metadata, a shard, metadata.json, the tracker
ORIG=$MEG
damage_family meg meg_copy "$W/meg" iter_0000004/.metadata meg
damage_family meg meg_copy "$W/meg" iter_0000004/__0_0.distcp meg
damage_family meg meg_copy "$W/meg" iter_0000004/metadata.json meg
meg_copy; echo 7 >"$W/meg/latest_checkpointed_iteration.txt"; full "meg tracker names iter 7" "$W/meg" latest_checkpointed_iteration.txt meg
meg_copy; printf 'garbage\xff\n' >"$W/meg/latest_checkpointed_iteration.txt"; full "meg tracker garbage" "$W/meg" latest_checkpointed_iteration.txt meg
meg_copy; head -c 100000 /dev/urandom | base64 -w0 >"$W/meg/latest_checkpointed_iteration.txt"; quick "meg tracker 130k chars" "$W/meg" latest_checkpointed_iteration.txt
for k in longstr huge neg bigint float none; do
  meg_copy; hostile_size "$W/meg/iter_0000004/.metadata" $k; quick "meg .metadata torch.Size $k" "$W/meg" .metadata
done
ORIG=$DCP
for k in longstr huge neg bigint float none; do
  copy "$DCP" "$W/dcp"; hostile_size "$W/dcp/.metadata" $k; full "dcp .metadata torch.Size $k" "$W/dcp" .metadata dcp
done
# Megatron legacy torch
ORIG=$LEG
damage_family leg leg_copy "$W/leg" iter_0000004/mp_rank_00/model_optim_rng.pt leg
damage_family leg leg_copy "$W/leg" iter_0000004/mp_rank_01/distrib_optim.pt leg
leg_copy; rm -rf "$W/leg/iter_0000004/mp_rank_01"; full "leg missing rank dir mp_rank_01" "$W/leg" "$W/leg" leg
# PyTorch DCP
ORIG=$DCP
damage_family dcp "copy $DCP $W/dcp" "$W/dcp" .metadata dcp
damage_family dcp "copy $DCP $W/dcp" "$W/dcp" __1_0.distcp dcp
# safetensors
ORIG=$ST
damage_family st "copy $ST $W/st" "$W/st" model-00001-of-00001.safetensors st
copy "$ST" "$W/st"; python3 - "$W/st/model-00001-of-00001.safetensors" <<'EOF'
import sys, struct
p = sys.argv[1]; d = open(p, 'rb').read(); n = struct.unpack('<Q', d[:8])[0]
open(p, 'wb').write(struct.pack('<Q', 2**63 - 1) + d[8:])
EOF
quick "st header length 2^63" "$W/st" model-00001-of-00001.safetensors
copy "$ST" "$W/st"; python3 - "$W/st/model-00001-of-00001.safetensors" <<'EOF'
import sys, struct, json
p = sys.argv[1]; d = open(p, 'rb').read(); n = struct.unpack('<Q', d[:8])[0]
h = json.loads(d[8:8+n]); k = next(k for k in h if k != '__metadata__')
h[k]['shape'] = ['x' * 5000]; h['y' * 3000] = h[k]
hb = json.dumps(h).encode(); open(p, 'wb').write(struct.pack('<Q', len(hb)) + hb + d[8+n:])
EOF
quick "st hostile shape and long key" "$W/st" model-00001-of-00001.safetensors
copy "$ST" "$W/st"; python3 - "$W/st/model-00001-of-00001.safetensors" <<'EOF'
import sys, struct, json
p = sys.argv[1]; d = open(p, 'rb').read(); n = struct.unpack('<Q', d[:8])[0]
h = json.loads(d[8:8+n]); k = next(k for k in h if k != '__metadata__')
h['\x1b]0;x\x07' + 'y' * 5000 + k] = h.pop(k)   # a sound file whose tensor name is long and holds escapes
hb = json.dumps(h).encode(); open(p, 'wb').write(struct.pack('<Q', len(hb)) + hb + d[8+n:])
EOF
ORIG=$ST/model-00001-of-00001.safetensors  # the file itself: the dir's index does not list the new name
full "st sound file, 5000-char tensor name" "$W/st/model-00001-of-00001.safetensors" - st  # nothing damaged to name
ORIG=$ST
# torch.save
for f in zip_module_state.pt legacy_nonzip.pt; do
  ORIG=$TS/$f
  damage_family ts "copy $TS/$f $W/ts/$f" "$W/ts" "$f" ts "$W/ts/$f"
done
ORIG=
for k in deep deepdict hugelen hugebytes hugeint longkey notdict badglobal longglobal manyglobals memo stackunder noend; do
  mkdir -p "$W/hp"; rm -f "$W/hp/h.pt"; hostile_pt "$W/hp/h.pt" $k; full "pickle $k" "$W/hp/h.pt" h.pt ts
done
# DeepSpeed
ORIG=$DS
damage_family ds ds_copy "$W/ds" global_step4/zero_pp_rank_0_mp_rank_00_model_states.pt ds
damage_family ds ds_copy "$W/ds" global_step4/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt ds
ds_copy; rm "$W/ds/global_step4/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt"; full "ds missing rank 1 optim" "$W/ds" "$W/ds" ds
ds_copy; echo global_step9 >"$W/ds/latest"; full "ds latest names a missing dir" "$W/ds" latest ds

ORIG=
if [ "$MODE" = reports ]; then
  # every iteration of a save dir, one of them damaged: the text report and the JSON array
  meg_copy; cp -a "$MEG/iter_0000002" "$W/meg/"; truncate_at "$W/meg/iter_0000002/.metadata" 50%
  rt "meg --all, iter 2 .metadata trunc50% verify" 01 "$W/meg" .metadata - -- verify --all "$W/meg"
  rt "meg --all, iter 2 .metadata trunc50% verify --json" 01 "$W/meg" .metadata - -- verify --all --json "$W/meg"
  rt "meg --all, iter 2 .metadata trunc50% verify --deep --json" 01 "$W/meg" .metadata - -- verify --all --deep --json "$W/meg"
  echo; echo "$N cases, $BAD violations"; [ $BAD = 0 ]; exit
fi

# ---- the output side ----------------------------------------------------------------------------------------------
mkdir -p "$W/exists"; echo keep >"$W/exists/x"
rt "convert output exists, no --force" 1 "$MEG" "$W/exists" "$W/exists" -- convert --quiet --format pytorch --output-dir "$W/exists" "$MEG"
rt "reshard output exists, no --force" 1 "$MEG" "$W/exists" "$W/exists" -- reshard --quiet --tp 1 --output-dir "$W/exists" "$MEG"
[ "$(cat "$W/exists/x")" = keep ] || { echo "FAIL: existing output dir changed"; BAD=$((BAD + 1)); }
meg_copy; rt "convert output inside the input" 1 "$W/meg" "$W/meg" - -- convert --quiet --format pytorch --output-dir "$W/meg/iter_0000004/out" "$W/meg"
meg_copy; rt "convert output = the input" 1 "$W/meg" "$W/meg" - -- convert --quiet --force --format pytorch --output-dir "$W/meg" "$W/meg"
meg_copy; rt "reshard output inside the input" 1 "$W/meg" "$W/meg" - -- reshard --quiet --tp 1 --output-dir "$W/meg/sub" "$W/meg"
meg_copy; rt "reshard output = the input --force" 1 "$W/meg" "$W/meg" - -- reshard --quiet --force --tp 1 --output-dir "$W/meg" "$W/meg"
echo x >"$W/afile"
rt "convert output parent is a file" 1 "$MEG" afile - -- convert --quiet --format pytorch --output-dir "$W/afile/o" "$MEG"
rt "convert output is a file, no --force" 1 "$MEG" afile - -- convert --quiet --format pytorch --output-dir "$W/afile" "$MEG"
rt "convert input missing" 1 - "$W/nope" - -- convert --quiet --format pytorch --output-dir "$O" "$W/nope"
rt "inspect input missing" 1 - "$W/nope" - -- inspect "$W/nope"
rt "verify input missing" 1 - "$W/nope" - -- verify "$W/nope"
rt "list input missing" 1 - "$W/nope" - -- list "$W/nope"
rt "rotate input missing" 1 - "$W/nope" - -- rotate --keep-last 1 "$W/nope"
rt "memory input missing" 1 - "$W/nope" - -- memory "$W/nope"
rt "diff input missing" 1 - "$W/nope" - -- diff "$MEG" "$W/nope"
mkdir -p "$W/emptydir"
for c in inspect verify memory; do rt "$c empty dir" 1 "$W/emptydir" emptydir - -- $c "$W/emptydir"; done
rt "list empty dir" 01 "$W/emptydir" emptydir - -- list "$W/emptydir"   # an empty save dir lists nothing
rt "convert empty dir" 1 "$W/emptydir" emptydir "$O" -- convert --quiet --format pytorch --output-dir "$O" "$W/emptydir"
rt "reshard empty dir" 1 "$W/emptydir" emptydir "$O" -- reshard --quiet --tp 1 --output-dir "$O" "$W/emptydir"
rt "convert megatron from empty dir" 1 "$W/emptydir" emptydir "$O" -- convert --quiet --format megatron --output-dir "$O" "$W/emptydir"
rt "convert megatron from a torch_dist dir" 1 "$MEG" iter_0000004 "$O" -- convert --quiet --format megatron --output-dir "$O" "$MEG/iter_0000004"
mkdir -p "$W/hf"; cp "$ST"/* "$W/hf/"; echo '{"architectures": ["LlamaForCausalLM"], "hidden_size": "x"}' >"$W/hf/config.json"
rt "convert megatron bad config.json" 1 "$W/hf" config.json "$O" -- convert --quiet --format megatron --output-dir "$O" "$W/hf"
echo '{not json' >"$W/hf/config.json"
rt "convert megatron garbled config.json" 1 "$W/hf" config.json "$O" -- convert --quiet --format megatron --output-dir "$O" "$W/hf"
ln -s loop1 "$W/loop2"; ln -s loop2 "$W/loop1"
for c in inspect verify list; do rt "$c symlink loop" 1 - loop1 - -- $c "$W/loop1"; done
# unreadable files (root reads them anyway: then the run just succeeds)
meg_copy; chmod 000 "$W/meg/iter_0000004/__1_0.distcp"; quick "meg shard chmod 000" "$W/meg" __1_0.distcp; chmod 644 "$W/meg/iter_0000004/__1_0.distcp"
# rotate on a damaged save dir (rotate may remove; here only --dry-run and a save dir of one damaged iteration)
meg_copy; : >"$W/meg/iter_0000004/.metadata"; rt "rotate dry-run damaged" 01 "$W/meg" "$W/meg" - -- rotate --dry-run --keep-last 1 "$W/meg"
meg_copy; printf 'x\xff' >"$W/meg/latest_checkpointed_iteration.txt"; rt "rotate garbled tracker" 01 - latest_checkpointed_iteration.txt - -- rotate --keep-last 1 "$W/meg"
# a full disk: a 1 MiB tmpfs (the outputs need about 5 MB), where permitted; the line names the output or its file system
mkdir -p "$W/full"
if mount -t tmpfs -o size=1m tmpfs "$W/full" 2>/dev/null; then
  rt "convert to a full disk" 1 "$MEG" "$W/full" "$W/full/o" -- convert --quiet --format pytorch --output-dir "$W/full/o" "$MEG"
  rt "reshard to a full disk" 1 "$MEG" "$W/full" "$W/full/o" -- reshard --quiet --tp 1 --output-dir "$W/full/o" "$MEG"
  rt "convert hf to a full disk" 1 "$MEG" "$W/full" "$W/full/o" -- convert --quiet --format huggingface --output-dir "$W/full/o" "$MEG"
  umount "$W/full"
else echo "(no tmpfs mount permitted: full-disk cases skipped)"; fi
# a stale DIR.parts left by a --finish killed between publishing DIR and removing DIR.parts
meg_copy
"$JAVA" --enable-native-access=ALL-UNNAMED -jar "$JAR" convert --quiet --format safetensors --part 1/1 --output-dir "$W/out/p" "$W/meg" >/dev/null 2>&1
cp -a "$W/out/p.parts" "$W/saved.parts"
"$JAVA" --enable-native-access=ALL-UNNAMED -jar "$JAR" convert --quiet --format safetensors --finish --output-dir "$W/out/p" "$W/meg" >/dev/null 2>&1
rm -rf "$W/saved.parts/out"; mv "$W/saved.parts" "$W/out/p.parts"   # what a kill after the publishing rename leaves
rt "convert --finish with a stale DIR.parts" 1 "$W/meg" p.parts - -- convert --quiet --format safetensors --finish --output-dir "$W/out/p" "$W/meg"
rt "convert --part with a stale DIR.parts" 1 "$W/meg" p.parts - -- convert --quiet --format safetensors --part 1/1 --output-dir "$W/out/p" "$W/meg"
rm -rf "$W/out/p" "$W/out/p.parts"

# ---- more hostile inputs (cases named "ext …": RT_FILTER='^ext' runs only these) ------------------------------------
# convert/reshard in parts over an input damaged between the steps, and a damaged staging dir
parts_case() { # TAG CMD... : part 1/2 of the sound copy, then DAMAGE (a command), then part 2/2 and --finish must fail cleanly
  local tag=$1 dmg=$2; shift 2
  meg_copy; rm -rf "$W/out/p" "$W/out/p.parts"
  "$JAVA" --enable-native-access=ALL-UNNAMED -jar "$JAR" "$@" --quiet --part 1/2 --output-dir "$W/out/p" "$W/meg" >/dev/null 2>&1
  eval "$dmg"
  # (no output check on the part: rt would remove DIR.parts after it; the finish must leave no DIR, and name the
  # damaged file or, when the part refused, the staging dir)
  rt "ext $tag part 2/2" 01 - "${NP:-$W}" - -- "$@" --quiet --part 2/2 --output-dir "$W/out/p" "$W/meg"
  rt "ext $tag finish" "${FRC:-1}" - "$W/" "$W/out/p" -- "$@" --quiet --finish --output-dir "$W/out/p" "$W/meg"
  rm -rf "$W/out/p" "$W/out/p.parts"
}
for c in "convert --format safetensors" "convert --format pytorch" "reshard --tp 1"; do
  # the finish may succeed: part 1 read the shard before the cut, and part 2 may not need what was cut
  FRC=01 NP=__1_0.distcp parts_case "$c, shard truncated between parts:" 'truncate_at "$W/meg/iter_0000004/__1_0.distcp" 50%' $c
  NP=.metadata parts_case "$c, .metadata emptied between parts:" ': >"$W/meg/iter_0000004/.metadata"' $c
  NP=plan.json parts_case "$c, plan.json a JSON array:" 'echo "[1, 2]" >"$W/out/p.parts/plan.json"' $c
  NP=plan.json parts_case "$c, plan.json cut short:" 'printf "{\"x\":" >"$W/out/p.parts/plan.json"' $c
  NP=plan.json parts_case "$c, plan.json nested 100000 deep:" 'python3 -c "print(\"[\" * 100000)" >"$W/out/p.parts/plan.json"' $c
  NP=done.json parts_case "$c, part marker garbage:" 'for f in "$W"/out/p.parts/*.done.json; do echo "{\"schema\": 5}" >"$f"; done' $c
done
unset NP
# save dirs with hostile trees: list, rotate (dry run and real), inspect, verify
tree_case() { # TAG SETUP: a Megatron save dir (iterations 2 and 4) changed by SETUP
  local tag=$1 setup=$2
  for c in "list" "rotate --dry-run --keep-last 1" "inspect" "verify" "verify --all"; do
    meg_copy; cp -a "$MEG/iter_0000002" "$W/meg/"; eval "$setup"
    rt "ext tree $tag: $c" 01 - "${NP:-meg}" - -- $c "$W/meg"
  done
  # a real rotate must never reach outside the save dir (precious/ sits beside it) nor hang on loops
  meg_copy; cp -a "$MEG/iter_0000002" "$W/meg/"; eval "$setup"; mkdir -p "$W/precious"; echo keep >"$W/precious/data"
  rt "ext tree $tag: rotate --remove-incomplete" 01 "$W/precious" "${NP:-meg}" - -- rotate --keep-last 1 --remove-incomplete --min-age 0s "$W/meg"
  [ "$(cat "$W/precious/data" 2>/dev/null)" = keep ] || { echo "FAIL: rotate reached outside the save dir ($tag)"; BAD=$((BAD + 1)); }
  chmod -R u+rwX "$W/meg" 2>/dev/null
}
tree_case "iteration dir is a symlink loop" 'ln -s iter_0000009 "$W/meg/iter_0000009"'
tree_case "iteration dir links outside" 'ln -s ../precious "$W/meg/iter_0000001"'
tree_case "incomplete iteration holds links out and a loop" 'mkdir -p "$W/meg/iter_0000001/sub"; ln -s ../../precious "$W/meg/iter_0000001/out"; ln -s .. "$W/meg/iter_0000001/sub/loop"'
tree_case "iteration dir unreadable" 'chmod 000 "$W/meg/iter_0000002"'
tree_case "odd iteration names" 'mkdir "$W/meg/iter_abc" "$W/meg/iter_-1" "$W/meg/iter_99999999999999999999" "$W/meg/iter_0000005$(printf "\x1b[2J")"; : >"$W/meg/iter_0000006"'
tree_case "iteration dir is a fifo" 'mkfifo "$W/meg/iter_0000001"'
NP=latest_checkpointed_iteration.txt
tree_case "tracker 10 MB of digits" 'head -c 10000000 /dev/zero | tr "\0" 7 >"$W/meg/latest_checkpointed_iteration.txt"'
tree_case "tracker a 30-digit number" 'echo 999999999999999999999999999999 >"$W/meg/latest_checkpointed_iteration.txt"'
tree_case "tracker holds a NUL" 'printf "4\0" >"$W/meg/latest_checkpointed_iteration.txt"'
tree_case "tracker holds escapes" 'printf "\x1b]0;x\x07\x1b[2J" >"$W/meg/latest_checkpointed_iteration.txt"'
tree_case "tracker negative" 'echo -4 >"$W/meg/latest_checkpointed_iteration.txt"'
tree_case "tracker is a directory" 'rm "$W/meg/latest_checkpointed_iteration.txt"; mkdir "$W/meg/latest_checkpointed_iteration.txt"'
tree_case "tracker is a symlink loop" 'rm "$W/meg/latest_checkpointed_iteration.txt"; ln -s latest_checkpointed_iteration.txt "$W/meg/latest_checkpointed_iteration.txt"'
unset NP
# DeepSpeed trackers
for k in nul notutf8 huge dotdot dir; do
  ds_copy
  case $k in
    nul) printf 'global_step4\0x' >"$W/ds/latest" ;;
    notutf8) printf '\xff\xfe' >"$W/ds/latest" ;;
    huge) head -c 5000000 /dev/urandom >"$W/ds/latest" ;;
    dotdot) printf '../../etc' >"$W/ds/latest" ;;
    dir) rm "$W/ds/latest"; mkdir "$W/ds/latest" ;;
  esac
  for c in inspect verify list "rotate --dry-run --keep-last 1"; do rt "ext ds latest $k: $c" 01 "$W/ds" latest - -- $c "$W/ds"; done
  rt "ext ds latest $k: convert" 01 "$W/ds" latest "$O" -- convert --quiet --format pytorch --output-dir "$O" "$W/ds"
done
# output dirs: a file, a link to the input, a dangling link, inside the input (in parts too), a read-only parent
meg_copy; echo x >"$W/afile"
for c in "convert --format pytorch" "reshard --tp 1"; do
  rt "ext $c: output is a file, --force" 1 "$W/meg" afile - -- $c --quiet --force --output-dir "$W/afile" "$W/meg"
  ln -sfn "$W/meg" "$W/tolink"
  rt "ext $c: output links to the input, --force" 1 "$W/meg" tolink - -- $c --quiet --force --output-dir "$W/tolink" "$W/meg"
  rm -f "$W/tolink"; ln -s "$W/nowhere" "$W/dangling"
  rt "ext $c: output is a dangling link" 1 "$W/meg" dangling - -- $c --quiet --output-dir "$W/dangling" "$W/meg"
  rm -f "$W/dangling"
  rt "ext $c --part: output inside the input" 1 "$W/meg" "$W/meg" - -- $c --quiet --part 1/2 --output-dir "$W/meg/iter_0000004/o" "$W/meg"
  mkdir -p "$W/ro"; chmod 555 "$W/ro"  # root writes anyway: the run then just succeeds
  rt "ext $c: output parent read-only" 01 "$W/meg" ro "$W/ro/o" -- $c --quiet --output-dir "$W/ro/o" "$W/meg"
  chmod 755 "$W/ro"; rm -rf "$W/ro"
done
# safetensors: header lengths past the file, over the limit, at the top of the range; a header cut inside a string
for L in 7 9 4096 100000000 1099511627776 18446744073709551615; do
  copy "$ST" "$W/st"; python3 - "$W/st/model-00001-of-00001.safetensors" $L <<'EOF2'
import sys, struct
p, L = sys.argv[1], int(sys.argv[2]); d = open(p, 'rb').read(); n = struct.unpack('<Q', d[:8])[0]
open(p, 'wb').write(struct.pack('<Q', L) + d[8:8 + min(n, 60)])
EOF2
  quick "ext st header length $L over a 60-byte rest" "$W/st" model-00001-of-00001.safetensors
  rt "ext st header length $L convert" 01 "$W/st" model-00001-of-00001.safetensors "$O" -- convert --quiet --format pytorch --output-dir "$O" "$W/st"
done
# HF dirs with a hostile config.json: deep nesting, huge numbers, wrong types, duplicate keys, a directory
B='"model_type": "llama", "architectures": ["LlamaForCausalLM"]'
i=0
for cfg in "{$B, \"x\": $(python3 -c 'print("[" * 100000 + "]" * 100000)')}" \
           "{$B, \"hidden_size\": 1e400, \"num_hidden_layers\": 99999999999999999999999999, \"num_attention_heads\": 1e-400}" \
           "{$B, \"hidden_size\": [1], \"num_hidden_layers\": null, \"vocab_size\": {\"a\": 1}, \"num_attention_heads\": true}" \
           "{$B, \"hidden_size\": \"64\", \"num_hidden_layers\": -3, \"num_attention_heads\": 2.5, \"intermediate_size\": 0}" \
           "{$B, $B}" "[$B]" '"just a string"' "{$B, \"rope_theta\": \"x\", \"tie_word_embeddings\": \"yes\", \"torch_dtype\": 5}" DIR; do
  i=$((i + 1)); rm -rf "$W/hf"; mkdir -p "$W/hf"; cp "$ST"/* "$W/hf/"
  if [ "$cfg" = DIR ]; then mkdir "$W/hf/config.json"; else printf '%s' "$cfg" >"$W/hf/config.json"; fi
  rt "ext hf config.json #$i inspect" 01 "$W/hf" config.json - -- inspect "$W/hf"
  rt "ext hf config.json #$i inspect --json" 01 "$W/hf" config.json - -- inspect --json "$W/hf"
  # verify checks the weights, not config.json; this dir's index lists keys its one shard lacks: problems, none of them config.json's
  rt "ext hf config.json #$i verify" 01 "$W/hf" - - -- verify "$W/hf"
  rt "ext hf config.json #$i memory" 01 "$W/hf" "$W/hf" - -- memory "$W/hf"
  rt "ext hf config.json #$i convert megatron" 1 "$W/hf" config.json "$O" -- convert --quiet --format megatron --output-dir "$O" "$W/hf"
  rt "ext hf config.json #$i convert pytorch" 01 "$W/hf" config.json "$O" -- convert --quiet --format pytorch --output-dir "$O" "$W/hf"
done
# names with control characters: every tensor renamed (NUL, ESC sequences, newline, DEL, U+2028, quotes), and metadata
copy "$ST" "$W/st"; python3 - "$W/st/model-00001-of-00001.safetensors" <<'EOF2'
import sys, struct, json
p = sys.argv[1]; d = open(p, 'rb').read(); n = struct.unpack('<Q', d[:8])[0]
h = json.loads(d[8:8 + n]); ks = [k for k in h if k != '__metadata__']
names = ['a\x00b', 'c\x1b[2Jd', 'e\nf', 'g\u2028h', 'i\x7fj', '"q\\b', 'k\x1b]0;t\x07']
for k, nm in zip(ks, names): h[nm] = h.pop(k)
h.setdefault('__metadata__', {})['evil\x07'] = '\x1b]0;t\x07'
hb = json.dumps(h).encode(); open(p, 'wb').write(struct.pack('<Q', len(hb)) + hb + d[8 + n:])
EOF2
F=$W/st/model-00001-of-00001.safetensors
for c in "inspect" "inspect --json" "inspect --json --summary" "inspect --tensors" "inspect --files" "verify" "verify --json" "verify --deep"; do
  rt "ext st control-char names: $c" 01 "$F" - - -- $c "$F"
done
rt "ext st control-char names: diff --json" 01 "$F" - - -- diff --json "$F" "$F"
rt "ext st control-char names: diff vs undamaged" 01 "$F" - - -- diff "$ST/model-00001-of-00001.safetensors" "$F"
rt "ext st control-char names: convert safetensors" 01 "$F" - "$O" -- convert --quiet --format safetensors --output-dir "$O" "$F"
ctl=$(printf 'x\x1b[31my\x07')
mkdir -p "$W/$ctl"; cp "$F" "$W/$ctl/m.safetensors"
rt "ext path with control chars: inspect --json" 01 - - - -- inspect --json "$W/$ctl/m.safetensors"
rt "ext path with control chars: missing" 1 - - - -- inspect "$W/$ctl/none.safetensors"

echo
echo "$N cases, $BAD violations"
[ $BAD = 0 ]
