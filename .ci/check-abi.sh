#!/usr/bin/env bash
# .ci/check-abi.sh — checks the shared library's ABI against its headers.
#
# Three lists must be the same set of names:
#   exported  what libtapegrad.so exports (nm -D --defined-only),
#   listed    abi/libtapegrad.symbols (the reviewed list; meson.build makes
#             the linker's version script from it),
#   declared  the functions declared in include/ (gcc -aux-info on every
#             public header: the compiler's own reading, not a regex).
# A name exported but not declared is an internal function leaking into the
# ABI; one declared but not exported is a public function users cannot link.
#
# Usage: .ci/check-abi.sh <build dir>   (run by `meson test` as `abi`, and by
# .ci/run). Exit status 0 if the lists agree, 1 if not, 77 (skipped) when gcc
# or nm is missing or the library was not built shared.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: check-abi.sh <build dir>}" && pwd)
library=$(find "$build" -maxdepth 1 -name 'libtapegrad.so.*.*.*' | head -n 1)
for tool in gcc nm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIPPED: $tool is not installed"
        exit 77
    fi
done
if [ -z "$library" ]; then
    echo "SKIPPED: no shared libtapegrad.so.X.Y.Z in $build (default_library=static?)"
    exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Exported: defined dynamic symbols (functions T, data D/B/R, weak W/V),
# without any symbol-version suffix.
nm -D --defined-only "$library" | awk '$2 ~ /^[TDBRWVi]$/ { sub(/@.*/, "", $3); print $3 }' |
    LC_ALL=C sort -u >"$work/exported"

# Listed: the names in the symbol file, without comments and blank lines.
sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$root/abi/libtapegrad.symbols" | LC_ALL=C sort -u >"$work/listed"

# Declared: every non-static function prototype that comes from a file under
# include/ (the source tree's or the build tree's generated version.h).
for header in "$root"/include/tapegrad.h "$root"/include/tapegrad/*.h; do
    # dist.h is libtapegrad_mpi's (dist/libtapegrad_mpi.map), not this library's.
    [ "$(basename "$header")" = dist.h ] && continue
    echo "#include \"${header#"$root"/include/}\""
done >"$work/headers.c"
gcc -std=c11 -fsyntax-only -I"$build/include" -I"$root/include" -aux-info "$work/aux" "$work/headers.c"
grep -E "^/\* ($root|$build)/include/" "$work/aux" | grep -v ' static ' |
    sed -E 's/^\/\*[^*]*\*\/ *//; s/ *\(.*//; s/.*[ *]//' | LC_ALL=C sort -u >"$work/declared"

status=0
# report <title> <file>: prints the names in <file> under <title>, if any.
report() {
    if [ -s "$2" ]; then
        echo "$1:"
        sed 's/^/  /' "$2"
        status=1
    fi
}
comm -23 "$work/exported" "$work/declared" >"$work/undeclared"
comm -13 "$work/exported" "$work/declared" >"$work/unexported"
comm -13 "$work/listed" "$work/declared" >"$work/unlisted"
comm -23 "$work/listed" "$work/declared" >"$work/stale"
report "exported by $(basename "$library") but declared in no public header (internal: hide it, or declare it in include/)" "$work/undeclared"
report "declared in include/ but not exported (add it to abi/libtapegrad.symbols)" "$work/unexported"
report "declared in include/ but missing from abi/libtapegrad.symbols" "$work/unlisted"
report "in abi/libtapegrad.symbols but declared in no public header (remove it from the list)" "$work/stale"
if [ "$status" = 0 ]; then
    echo "ABI: $(wc -l <"$work/exported") exported functions = abi/libtapegrad.symbols = the functions declared in include/"
else
    echo "ABI check FAILED ($(basename "$library"))"
fi
exit "$status"
