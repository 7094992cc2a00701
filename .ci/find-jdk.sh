# Sourced by ./ckpt and .ci/run: exports JAVA_HOME pointing at a JDK >= 25, or exits 3 with a clear message.
# Order: $JAVA_HOME, then `java` on PATH, then the standard installs under /usr/lib/jvm (and macOS/SDKMAN places).
_ckpt_java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p' | head -1; }
_ckpt_ok() { [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] && [ "$(_ckpt_java_major "$1")" -ge 25 ] 2>/dev/null; }
_ckpt_found=""
if [ -n "${JAVA_HOME:-}" ] && _ckpt_ok "$JAVA_HOME"; then _ckpt_found="$JAVA_HOME"; fi
if [ -z "$_ckpt_found" ] && command -v java >/dev/null 2>&1; then
  _h="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
  if _ckpt_ok "$_h"; then _ckpt_found="$_h"; fi
fi
if [ -z "$_ckpt_found" ]; then
  for _h in /usr/lib/jvm/*25* /usr/lib/jvm/*2[6-9]* /usr/lib/jvm/* /Library/Java/JavaVirtualMachines/*/Contents/Home "$HOME"/.sdkman/candidates/java/*; do
    if [ -d "$_h" ] && _ckpt_ok "$_h"; then _ckpt_found="$_h"; break; fi
  done
fi
if [ -z "$_ckpt_found" ]; then
  echo "ckpt: no JDK 25 or newer found (looked at \$JAVA_HOME, java on PATH, /usr/lib/jvm). Install Temurin 25 and set JAVA_HOME." >&2
  exit 3
fi
export JAVA_HOME="$_ckpt_found"
export PATH="$JAVA_HOME/bin:$PATH"
