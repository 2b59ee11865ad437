#!/usr/bin/env bash
# tests/consumers/run.sh — uses tapegrad the two ways another project would,
# from a scratch directory, and runs the results (each checks a gradient):
#   1. a meson project with tapegrad as a subproject (subprojects/tapegrad a
#      symlink to this repository): only the library may be built, without
#      Criterion, and tapegrad's -Werror and warning level stay off the
#      parent's files;
#   2. consumer.c against the library installed (meson install) into a
#      temporary prefix, through pkg-config: linked shared (SONAME
#      libtapegrad.so.0) and static (pkg-config --static, -static).
# Every command is echoed before it runs.
#
# Usage: tests/consumers/run.sh [scratch dir]   (default: a new mktemp -d,
# removed afterwards). Exit status 0 when all builds and runs pass.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tests/consumers"
if [ $# -ge 1 ]; then
    scratch=$1
    rm -rf "$scratch"
    mkdir -p "$scratch"
else
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
fi
scratch=$(cd "$scratch" && pwd)
cc=${CC:-cc}

run() {
    printf '+ %s\n' "$*"
    "$@"
}

# run_logged <log> <command...>: as run, with the command's output in <log>,
# shown only when it fails.
run_logged() {
    local log=$1
    shift
    printf '+ %s  (output: %s)\n' "$*" "$log"
    "$@" >"$log" 2>&1 || { cat "$log"; return 1; }
}

fail() {
    echo "consumers: FAILED: $*" >&2
    exit 1
}

echo "== 1. tapegrad as a meson subproject"
project="$scratch/subproject-consumer"
mkdir -p "$project/subprojects"
cp "$here/subproject/meson.build" "$here/consumer.c" "$project/"
ln -s "$root" "$project/subprojects/tapegrad"
run_logged "$scratch/subproject-setup.log" meson setup "$project/build" "$project" ||
    fail "meson setup of the subproject consumer"
sed -n -e '/^ *Subprojects/,/^$/p' -e '/^Build targets/p' "$scratch/subproject-setup.log"
if grep -qi 'criterion' "$project/build/meson-logs/meson-log.txt"; then
    fail "the subproject build looked for Criterion"
fi
run ninja -C "$project/build" || fail "building the subproject consumer"
# Only the library and the consumer: no example, benchmark, test or fuzz target.
extra=$(ninja -C "$project/build" -t targets all | grep -E '^subprojects/tapegrad/(examples|bench|tests)/' || true)
[ -z "$extra" ] || fail "the subproject built more than its library: $extra"
# The consumer's own file is compiled without tapegrad's -Werror and warning
# level; tapegrad's files with -Wno-error.
python3 - "$project/build/compile_commands.json" <<'PY' || fail "warning options (above)"
import json, sys
entries = json.load(open(sys.argv[1]))
consumer = [e["command"] for e in entries if e["file"].endswith("/consumer.c") or e["file"] == "consumer.c"]
library = [e["command"] for e in entries if "subprojects/tapegrad/" in e["file"]]
assert consumer and library, "compile commands missing"
forced = [flag for flag in ("-Werror", "-Wextra", "-Wpedantic") if flag in consumer[0].split()]
if forced:
    sys.exit("tapegrad's options reached the parent's file: " + " ".join(forced))
if any("-Wno-error" not in command.split() for command in library):
    sys.exit("a tapegrad file is compiled without -Wno-error")
PY
echo "consumer.c compiled without -Werror/-Wextra/-Wpedantic; tapegrad's files with -Wno-error"
run "$project/build/consumer" || fail "the subproject consumer"

echo
echo "== 2. the installed library through pkg-config"
prefix="$scratch/prefix"
build="$scratch/install-build"
run_logged "$scratch/install-setup.log" meson setup "$build" "$root" --prefix "$prefix" \
    -Dtests=false -Dexamples=false -Dbenchmarks=false || fail "meson setup of the install build"
run_logged "$scratch/install-build.log" ninja -C "$build" || fail "building the library"
run meson install -C "$build" --quiet || fail "meson install"
pc=$(find "$prefix" -name tapegrad.pc | head -n 1)
[ -n "$pc" ] || fail "meson install put no tapegrad.pc under $prefix"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
echo "installed:"
(cd "$prefix" && find . -type f -o -type l | LC_ALL=C sort | sed 's/^/  /')
echo "$pc:"
sed 's/^/  /' "$pc"
libdir=$(pkg-config --variable=libdir tapegrad)
run pkg-config --modversion tapegrad
run pkg-config --cflags --libs tapegrad
run pkg-config --static --libs tapegrad

# shellcheck disable=SC2046 # pkg-config's output is a list of words
run "$cc" -std=c11 -o "$scratch/consumer-shared" "$here/consumer.c" $(pkg-config --cflags --libs tapegrad) \
    -Wl,-rpath,"$libdir" || fail "linking against the shared library"
readelf -d "$scratch/consumer-shared" | grep -q 'NEEDED.*\[libtapegrad\.so\.0\]' ||
    fail "consumer-shared does not load libtapegrad.so.0"
echo "consumer-shared needs libtapegrad.so.0"
run "$scratch/consumer-shared" || fail "the shared consumer"

# shellcheck disable=SC2046
run "$cc" -std=c11 -static -o "$scratch/consumer-static" "$here/consumer.c" $(pkg-config --cflags tapegrad) \
    $(pkg-config --static --libs tapegrad) || fail "linking against the static library"
if readelf -d "$scratch/consumer-static" 2>/dev/null | grep -q NEEDED; then
    fail "consumer-static needs shared libraries"
fi
echo "consumer-static is linked statically (no NEEDED entries)"
run "$scratch/consumer-static" || fail "the static consumer"

echo
echo "consumers: all passed"
