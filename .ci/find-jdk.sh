# Finds a JDK >= 25 on this machine. Sourced by ./ckpt (sets CKPT_JDK; exits 3 with one line when there is none) and
# run by the Maven build before the toolchain is selected (`bash .ci/find-jdk.sh --javac` prints the JDK or fails with
# one line saying what to install). Looks where maven-toolchains-plugin's discovery looks: $JAVA_HOME, `java` on PATH,
# $JAVA<N>_HOME, /usr/lib/jvm, /usr/java, /opt, SDKMAN, ~/.jdks, ~/.m2/jdks, macOS. The version comes from the JDK's
# `release` file, so nothing is started.
# Written in plain bash without subprocesses on the common paths ($JAVA_HOME, java on PATH): every fork costs
# 20-100 ms on a busy VM, and ./ckpt sources this on each run (0.09 s quiet, 0.47 s at load 6 with sed/env/dirname).
_ckpt_need_javac=""
[ "${1:-}" = "--javac" ] && _ckpt_need_javac=1
_ckpt_ok() {
  local h="$1" line v=""
  [ -x "$h/bin/java" ] && [ -f "$h/release" ] || return 1
  [ -z "$_ckpt_need_javac" ] || [ -x "$h/bin/javac" ] || return 1
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in JAVA_VERSION=*) v="${line#JAVA_VERSION=}"; v="${v#\"}"; v="${v%%[!0-9]*}"; break ;; esac
  done < "$h/release"
  [ -n "$v" ] && [ "$v" -ge 25 ]
}
# Sets _ckpt_jdk to the first JDK >= 25 found, or returns 1.
_ckpt_find() {
  local h j n
  _ckpt_jdk=""
  for n in JAVA_HOME ${!JAVA@}; do
    case "$n" in JAVA_HOME|JAVA[0-9]*_HOME) ;; *) continue ;; esac
    h="${!n:-}"
    [ -n "$h" ] && _ckpt_ok "$h" && { _ckpt_jdk="$h"; return; }
  done
  if j="$(command -v java 2>/dev/null)" && [ -n "$j" ]; then
    j="$(readlink -f "$j")"
    h="${j%/bin/java}"
    [ "$h" != "$j" ] && _ckpt_ok "$h" && { _ckpt_jdk="$h"; return; }
  fi
  for h in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/*jdk* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* \
           "$HOME"/.m2/jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home "$HOME"/Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$h" ] && _ckpt_ok "$h" && { _ckpt_jdk="$h"; return; }
  done
  return 1
}
if _ckpt_find; then
  export CKPT_JDK="$_ckpt_jdk"
  [ "${BASH_SOURCE[0]}" = "$0" ] && echo "$CKPT_JDK"
  true
else
  echo "ckpt: no JDK 25 or newer found (looked at \$JAVA_HOME, java on PATH, /usr/lib/jvm, /opt, SDKMAN, ~/.jdks): install one, e.g. Temurin 25 from https://adoptium.net or 'sdk install java 25-tem', or point JAVA_HOME at it." >&2
  exit 3
fi
