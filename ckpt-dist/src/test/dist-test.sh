#!/usr/bin/env bash
# Runs the release tarball as a user without a JDK would: extracted into an empty dir, with PATH=/usr/bin:/bin or a PATH
# holding no java at all, no JAVA_HOME, directly and through a symlink. Run by `mvn verify` (ckpt-dist, integration-test).
# Usage: dist-test.sh TARBALL SAMPLE_CHECKPOINT VERSION
set -euo pipefail
tarball="$1" sample="$2" version="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "dist-test: $*" >&2; exit 1; }

mkdir "$work/extract" "$work/bin" "$work/tools"
tar -xzf "$tarball" -C "$work/extract"
home="$(echo "$work"/extract/ckpt-*)"
[ -x "$home/bin/ckpt" ] || fail "no executable bin/ckpt in $tarball"
[ -x "$home/runtime/bin/java" ] || fail "no executable runtime/bin/java in $tarball"
for f in lib/ckpt.jar lib/ckpt.aot share/bash-completion/completions/ckpt share/zsh/ckpt.zsh share/man/man1/ckpt.1 \
         share/man/man1/ckpt-inspect.1; do
  [ -s "$home/$f" ] || fail "missing $f in $tarball"
done
ln -s "$home/bin/ckpt" "$work/bin/ckpt"
# A PATH with only the tools bin/ckpt itself uses: proves nothing named java is looked up.
for t in sh readlink; do ln -s "$(command -v $t)" "$work/tools/$t"; done

# clean environment: no JAVA_HOME, no JAVA_TOOL_OPTIONS, no java on PATH
run() { local path="$1"; shift; env -i HOME="$work" PATH="$path" "$@"; }
for how in "/usr/bin:/bin $home/bin/ckpt" "/usr/bin:/bin $work/bin/ckpt" "$work/tools $work/bin/ckpt" "$work/bin:/usr/bin:/bin ckpt"; do
  path="${how%% *}" cmd="${how#* }"
  json="$(run "$path" "$cmd" inspect --json "$sample")" || fail "inspect failed with PATH=$path via $cmd"
  grep -q '"schema" : "ckpt.inspect/1"' <<<"$json" || fail "inspect --json printed no ckpt.inspect/1 object via $cmd"
  grep -q "\"ckpt_version\" : \"$version" <<<"$json" || fail "inspect --json lacks ckpt_version $version via $cmd"
  grep -q '"format" : "megatron_torch_dist"' <<<"$json" || fail "inspect --json did not read the sample as torch_dist via $cmd"
done
v="$(run /usr/bin:/bin "$work/bin/ckpt" --version)"
head -1 <<<"$v" | grep -Eq "^ckpt $version( \(commit [0-9a-f]{12}(-dirty)?\))?$" || fail "unexpected --version: $v"
grep -q "$home/runtime" <<<"$v" || fail "--version does not run on the bundled runtime: $v"
# the AOT cache is accepted by the bundled JVM after the trip through tar (else start-up silently loses it)
run /usr/bin:/bin "$home/runtime/bin/java" -XX:AOTCache="$home/lib/ckpt.aot" -XX:AOTMode=on -XX:+UseSerialGC \
    -XX:TieredStopAtLevel=1 --enable-native-access=ALL-UNNAMED -jar "$home/lib/ckpt.jar" --version >/dev/null \
    || fail "the bundled AOT cache is rejected by the bundled runtime"
# a usage error is two lines and exit 2, also from the release
set +e; err="$(run /usr/bin:/bin "$work/bin/ckpt" inspect --nope 2>&1 >/dev/null)"; rc=$?; set -e
[ "$rc" = 2 ] && [ "$(wc -l <<<"$err")" = 2 ] || fail "usage error: exit $rc, stderr: $err"
echo "dist-test: $(basename "$tarball") ($(du -m "$tarball" | cut -f1) MB) runs without a JDK, directly and through a symlink"
