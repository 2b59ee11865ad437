#!/bin/sh
# examples/check_readme_example.sh — the test readme-example: README.md's
# short example is examples/readme_example.c word for word (the ```c block
# after the line "<!-- examples/readme_example.c -->"), and the program
# prints the numbers of seed 002's article: yhat = 0.80348, E = 0.31481,
# dE/dw16 = 0.0024682, and after one SGD step (eta 0.01) w16 = 0.699975,
# b7 = -0.701253 (the values README.md and examples/worked_example.c quote).
#
# Usage: check_readme_example.sh <README.md> <readme_example.c> <program>
set -eu
readme=$1 source=$2 program=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

awk '/^<!-- examples\/readme_example.c -->$/ { marked = 1; next }
     marked && /^```c$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$readme" >"$work/block.c"
if [ ! -s "$work/block.c" ]; then
    echo "README.md has no \`\`\`c block after <!-- examples/readme_example.c -->"
    exit 1
fi
if ! diff -u "$source" "$work/block.c"; then
    echo "README.md's example differs from examples/readme_example.c (above: - the file, + the README)"
    exit 1
fi

"$program" >"$work/output"
cat "$work/output"
printf '%s\n' 'yhat = 0.80348  E = 0.31481  dE/dw16 = 0.0024682' \
    'after one step: w16 = 0.699975  b7 = -0.701253' >"$work/expected"
if ! diff -u "$work/expected" "$work/output"; then
    echo "readme_example printed other numbers than the article's (above: - expected, + printed)"
    exit 1
fi
echo "README.md's example = examples/readme_example.c, and it prints the article's numbers"
