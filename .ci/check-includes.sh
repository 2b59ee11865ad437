#!/usr/bin/env bash
# .ci/check-includes.sh — checks that every #include follows the layer order
#
#   core -> ops -> io -> {nn, optim, data} -> {tools, dist} -> {examples, bench, tests}
#
# (docs/ARCHITECTURE.md). A file may include headers of its own layer and of
# the layers before it, never of a later one nor of a sibling (nn, optim and
# data do not include each other; data may use io). This holds for the
# internal headers ("core/tensor_internal.h") and for the public ones, each
# of which belongs to one layer ("tapegrad/ops.h" is the ops layer's face,
# "tapegrad/checkpoint.h" io's). Two layers are stricter: nn/ and optim/ are
# compositions of the public API, so they include only include/tapegrad/*.h
# and their own folder's headers. Public headers include only public ones.
# examples/, bench/ and tests/ are not checked (examples and benchmarks build
# against include/ alone, so the compiler checks them).
#
# Usage: .ci/check-includes.sh [source root]   (run by `meson test` as
# `include-layers`, and by .ci/run); .ci/check-includes.sh --self-test runs
# it on a small made-up tree and checks that it flags exactly its bad lines.
# Exit status 0 if every include is in order, 1 if not.
set -euo pipefail

# The layers in order; siblings share a rank.
declare -A rank=([core]=0 [ops]=1 [io]=2 [nn]=3 [optim]=3 [data]=3 [tools]=4 [dist]=4)
# The layer each public header belongs to (the rest are core's).
declare -A public_owner=([ops.h]=ops [kernels.h]=ops [checkpoint.h]=io [nn.h]=nn [optim.h]=optim
    [data.h]=data [gradcheck.h]=tools [dist.h]=dist
    [conv.h]=ops [norm.h]=ops [index.h]=ops [autodiff.h]=tools [graph.h]=tools [progress.h]=tools [summary.h]=tools)

# Files of nn/ that may include internal headers of core/ (none: nn/ uses the
# public API only). A file listed here is exempt from that rule.
nn_allowed_internal=()

# layer_of_include <included path>: the layer an include names, or "" when
# it names no layer (a header of the including file's own folder).
layer_of_include() {
    local path=$1
    case $path in
    tapegrad.h) echo tools ;; # the umbrella header includes every layer's
    tapegrad/*)
        local owner=${public_owner[${path#tapegrad/}]:-core}
        echo "$owner"
        ;;
    */*)
        local top=${path%%/*}
        if [ -n "${rank[$top]:-}" ]; then echo "$top"; fi
        ;;
    esac
}

is_allowed_internal() {
    local file=$1 allowed
    for allowed in "${nn_allowed_internal[@]}"; do
        [ "$file" = "$allowed" ] && return 0
    done
    return 1
}

# check_tree <root>: prints one line per include against the order; returns
# 1 if there is any.
check_tree() {
    local root=$1 bad=0 file line number path layer target
    while IFS= read -r file; do
        layer=${file%%/*}
        [ "$layer" = include ] || [ -n "${rank[$layer]:-}" ] || continue
        while IFS=: read -r number line; do
            path=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/\1/' <<<"$line")
            target=$(layer_of_include "$path")
            local why=""
            if [ "$layer" = include ]; then
                if [[ $path == */* && $path != tapegrad/* ]]; then why="a public header includes an internal one"; fi
            elif [ -z "$target" ] || [ "$target" = "$layer" ]; then
                :
            elif { [ "$layer" = nn ] || [ "$layer" = optim ]; } && [[ $path != tapegrad/* ]] &&
                ! is_allowed_internal "$file"; then
                why="$layer/ may include only include/tapegrad/*.h and its own headers"
            elif [ "${rank[$target]}" -ge "${rank[$layer]}" ]; then
                why="$layer/ comes before $target/ in the layer order"
            fi
            if [ -n "$why" ]; then
                echo "$file:$number: #include \"$path\": $why"
                bad=1
            fi
        done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$root/$file" || true)
    done < <(cd "$root" && find core ops io nn optim data tools dist include -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort)
    return $bad
}

# A made-up tree with one include of each kind; exactly the lines marked BAD
# must be reported.
self_test() {
    local tree
    tree=$(mktemp -d)
    trap "rm -rf '$tree'" EXIT
    mkdir -p "$tree"/{core,ops,io,nn,optim,data,tools,include/tapegrad}
    printf '#include "core/tensor_internal.h"\n#include "tapegrad/ops.h" /* BAD */\n' >"$tree/core/a.c"
    printf '#include "tapegrad.h" /* BAD */\n' >>"$tree/core/a.c"
    printf '#include "core/tape_internal.h"\n#include "io/checkpoint_internal.h" /* BAD */\n' >"$tree/ops/b.c"
    printf '#include "ops/op_internal.h"\n#include "data/internal.h" /* BAD */\n' >"$tree/io/c.c"
    printf '#include "io/checkpoint_internal.h"\n#include "tapegrad/nn.h" /* BAD */\n' >"$tree/data/d.c"
    printf '#include "tapegrad/ops.h"\n#include "optim_internal.h"\n#include "tapegrad/optim.h"\n' >"$tree/optim/e.c"
    printf '#include "core/simd.h" /* BAD */\n' >>"$tree/optim/e.c"
    printf '#include "tapegrad/optim.h" /* BAD */\n#include "nn_internal.h"\n' >"$tree/nn/f.c"
    printf '#include "core/tensor_internal.h" /* BAD */\n' >"$tree/nn/model.c"
    printf '#include "data/internal.h"\n#include "tapegrad/gradcheck.h"\n' >"$tree/tools/g.c"
    printf '#include "tensor.h"\n#include "tapegrad/error.h"\n#include "core/arena.h" /* BAD */\n' \
        >"$tree/include/tapegrad/h.h"
    local expected found
    expected=$(cd "$tree" && grep -rn 'BAD' --include='*.[ch]' . | sed -E 's|^\./([^:]*:[0-9]*):.*|\1|' | LC_ALL=C sort)
    found=$(check_tree "$tree" | sed -E 's|^([^:]*:[0-9]*):.*|\1|' | LC_ALL=C sort || true)
    if [ "$expected" != "$found" ]; then
        echo "check-includes self-test FAILED"
        echo "expected:"
        printf '%s\n' "$expected"
        echo "found:"
        printf '%s\n' "$found"
        return 1
    fi
    echo "check-includes self-test: the $(wc -l <<<"$expected") bad includes of the sample tree were found, nothing else"
}

if [ "${1:-}" = --self-test ]; then
    self_test
    exit
fi
root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
if check_tree "$root"; then
    echo "include order: every #include follows core -> ops -> io -> {nn, optim, data} -> {tools, dist}"
else
    echo "include order: the includes above run against the layer order (docs/ARCHITECTURE.md)"
    exit 1
fi
