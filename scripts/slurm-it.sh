#!/usr/bin/env bash
# Integration test on a real Slurm: installs Debian's slurm-wlm and munge when absent, starts a one-node cluster
# (munged as the munge user with a generated key, slurmctld, slurmd — all in a private work dir, on free ports),
# submits array jobs over the bundled sample (3 parts each: convert to huggingface and to pytorch, reshard to TP 1)
# and a dependent --finish job for each with sbatch, waits (bounded), compares every published output byte for byte
# with a single-process run to the same DIR, and stops every daemon it started by its PID. Needs root (daemons, apt)
# and the CLI jar (mvn -B package / verify).
#   scripts/slurm-it.sh [CKPT_JAR]
# Exit 0: all three byte-identical; 1: a step failed (the reason and the daemons' logs are printed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jar=$(readlink -f "${1:-$root/ckpt-cli/target/ckpt.jar}")
sample=$root/testdata/megatron-llama-tp2/checkpoint
deadline_s=${SLURM_IT_TIMEOUT:-240}

fail() { echo "slurm-it: FAIL: $*" >&2; exit 1; }
log() { echo "slurm-it: $*"; }

[ "$(id -u)" = 0 ] || fail "needs root (it installs packages and starts munged, slurmctld and slurmd)"
[ -f "$jar" ] || fail "no CLI jar at $jar: build it first (mvn -B -DskipTests package)"

# A JDK 25 for the CLI, whatever JDK runs Maven: JAVA_HOME if it is 25, else the first 25 under /usr/lib/jvm.
java_bin=""
for d in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
  [ -n "$d" ] && [ -x "$d/bin/java" ] || continue
  if "$d/bin/java" -version 2>&1 | head -1 | grep -Eq 'version "25([."]|$)'; then java_bin=$d/bin/java; break; fi
done
[ -n "$java_bin" ] || fail "no JDK 25 found (JAVA_HOME or /usr/lib/jvm/*)"

# --- packages -------------------------------------------------------------------------------------------------
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}
need=()
for b in slurmctld:slurm-wlm slurmd:slurm-wlm sbatch:slurm-wlm munged:munge; do
  command -v "${b%%:*}" >/dev/null || need+=("${b#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${need[@]}" | sort -u | tr '\n' ' ')
  log "installing $pkgs"
  if ! apt_install $pkgs >/tmp/slurm-it-apt.log 2>&1; then
    log "apt failed (network?); retrying once in 10 s"
    sleep 10
    apt_install $pkgs >>/tmp/slurm-it-apt.log 2>&1 || { tail -20 /tmp/slurm-it-apt.log >&2; fail "could not install $pkgs (log: /tmp/slurm-it-apt.log)"; }
  fi
fi
id munge >/dev/null 2>&1 || fail "the munge package did not create the munge user"

# --- cluster in a private work dir ----------------------------------------------------------------------------
work=$(mktemp -d /tmp/slurm-it.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ $rc -ne 0 ]; then
    for f in "$work"/log/*.log "$work"/jobs/*.out; do [ -f "$f" ] && { echo "---- $f" >&2; tail -15 "$f" >&2; }; done
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT INT TERM

mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/log" "$work/jobs" "$work/out"
chown munge:munge "$work/munge"
chmod 755 "$work/munge"  # munged wants the socket dir searchable by all, writable only by munge
head -c 1024 /dev/urandom > "$work/munge/munge.key"
chown munge:munge "$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"

free_port() { python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])
PY
}
ctld_port=$(free_port); slurmd_port=$(free_port)
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((ctld_port + 1))
node=ckptit
ctld_host=$(hostname -s)  # slurmctld only runs on the host named here
cpus=$(nproc)
mem_mb=$(free -m | awk '/^Mem:/ { printf "%d", $2 * 0.9 }')
cat > "$work/slurm.conf" <<CONF
ClusterName=ckptit
SlurmctldHost=$ctld_host(127.0.0.1)
MailProg=/bin/true
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=it Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf

setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground --key-file="$work/munge/munge.key" \
  --socket="$work/munge/munge.socket" --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
  --seed-file="$work/munge/munged.seed" >"$work/log/munged.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$work/munge/munge.socket" ] && break; sleep 0.1; done
[ -S "$work/munge/munge.socket" ] || fail "munged did not start"
munge --socket="$work/munge/munge.socket" -n | unmunge --socket="$work/munge/munge.socket" >/dev/null || fail "munge round trip failed"

slurmctld -D -i -f "$work/slurm.conf" >"$work/log/slurmctld.out.log" 2>&1 &
pids+=($!)
slurmd -D -N "$node" -f "$work/slurm.conf" >"$work/log/slurmd.out.log" 2>&1 &
pids+=($!)
log "munged, slurmctld, slurmd started (PIDs ${pids[*]}; ports $ctld_port/$slurmd_port; $cpus CPUs, $mem_mb MB)"
for _ in $(seq 60); do
  state=$(timeout 5 sinfo -h -N -n "$node" -o %t 2>/dev/null || true)
  [[ $state == idle* || $state == mix* ]] && break
  sleep 0.3
done
[[ ${state:-} == idle* || ${state:-} == mix* ]] || fail "node did not come up (sinfo state '${state:-none}')"

# --- the jobs ---------------------------------------------------------------------------------------------------
ckpt="$java_bin -Xmx256m --enable-native-access=ALL-UNNAMED -jar $jar"
shard=${SLURM_IT_SHARD:-200KB}  # small shards, so that the huggingface output has several files to divide
start=$SECONDS
# what each job divides: two conversions, and a reshard (TP 2 dp_reshardable → TP 1 fully_reshardable)
declare -A args=(
  [huggingface]="convert $sample --format huggingface --max-shard-size $shard"
  [pytorch]="convert $sample --format pytorch --max-shard-size $shard"
  [reshard]="reshard $sample --tp 1"
)
# a Megatron save's .metadata names its published dir: the single-process reshard is written to the very DIR the
# array will write, then moved aside before the array starts
$ckpt ${args[reshard]} --output-dir "$work/out/reshard" --quiet 2>/dev/null || fail "single-process reshard failed"
mv "$work/out/reshard" "$work/out/reshard-single"
jobs=()
for fmt in huggingface pytorch reshard; do
  out="$work/out/$fmt"
  cat > "$work/jobs/$fmt-part.sbatch" <<JOB
#!/bin/bash
#SBATCH --job-name=ckpt-$fmt-part
#SBATCH --array=0-2
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --output=$work/jobs/$fmt-part-%a.out
exec $ckpt ${args[$fmt]} --output-dir $out --part slurm --quiet
JOB
  cat > "$work/jobs/$fmt-finish.sbatch" <<JOB
#!/bin/bash
#SBATCH --job-name=ckpt-$fmt-finish
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --output=$work/jobs/$fmt-finish.out
exec $ckpt ${args[$fmt]} --output-dir $out --finish
JOB
  array=$(timeout 30 sbatch --parsable "$work/jobs/$fmt-part.sbatch") || fail "sbatch of the $fmt array failed"
  array=${array%%;*}
  finish=$(timeout 30 sbatch --parsable --dependency=afterok:"$array" "$work/jobs/$fmt-finish.sbatch") || fail "sbatch of the $fmt finish failed"
  finish=${finish%%;*}
  log "$fmt: array job $array (3 tasks), finish job $finish (afterok:$array)"
  jobs+=("$fmt:$finish")
done

# the single-process reference, while Slurm works
for fmt in huggingface pytorch; do
  $ckpt convert "$sample" --format "$fmt" --max-shard-size "$shard" --output-dir "$work/out/$fmt-single" --quiet 2>/dev/null \
    || fail "single-process $fmt conversion failed"
done

while [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null || echo unreachable)" ]; do
  (( SECONDS - start < deadline_s )) || { squeue >&2; fail "jobs still queued or running after ${deadline_s}s"; }
  sleep 1
done

for j in "${jobs[@]}"; do
  fmt=${j%%:*}; id=${j#*:}
  st=$(timeout 10 scontrol show job "$id" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1)
  [ "$st" = JobState=COMPLETED ] || fail "$fmt finish job $id: ${st:-no state}"
  [ -d "$work/out/$fmt" ] || fail "$fmt: nothing published"
  [ ! -e "$work/out/$fmt.parts" ] || fail "$fmt: staging dir left behind"
  diff -r "$work/out/$fmt-single" "$work/out/$fmt" >/dev/null || fail "$fmt: output differs from the single-process run"
  n=$(find "$work/out/$fmt" -type f | wc -l)
  log "$fmt: 3 array tasks + finish → $n files, byte-identical to the single-process run"
done
log "PASS in $((SECONDS - start))s"
