#!/bin/sh
# Times OpenBLAS (a benchmark peer, never a dependency) and tapegrad's GEMM on
# the same shapes in the same run, for 1 and 2 threads, and prints both and
# the ratio tapegrad / OpenBLAS. The two programs take turns for ROUNDS rounds
# (default 3) and each keeps its best median, so that a burst of load from
# elsewhere on the machine does not land on one side only. OpenBLAS runs with
# its best kernel family for this CPU (see openblas_core.sh).
#
# Usage: bench/peers/run_openblas.sh [path/to/bench_gemm] [--quick]
#        (default bench_gemm: build/bench/bench_gemm)
# Needs libopenblas-dev (apt-get install -y libopenblas-dev); skips without it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bench=${1:-build/bench/bench_gemm}
quick=${2:-}
if [ ! -x "$bench" ]; then
    echo "run_openblas: no bench_gemm at $bench (build it, or pass its path)" >&2
    exit 1
fi

# Debian's libopenblas-dev puts its headers in <triplet>/openblas-pthread (or
# -openmp, -serial); only cblas.h is linked to <triplet>/, by alternatives.
cblas_header=""
for dir in /usr/include/*-linux-gnu/openblas-pthread /usr/include/*-linux-gnu/openblas-openmp \
        /usr/include/*-linux-gnu/openblas-serial /usr/include/x86_64-linux-gnu \
        /usr/include/aarch64-linux-gnu /usr/include/openblas /usr/include; do
    if [ -f "$dir/cblas.h" ] && grep -q OPENBLAS "$dir/openblas_config.h" 2>/dev/null; then
        cblas_header=$dir
        break
    fi
done
if [ -z "$cblas_header" ] || ! printf 'int main(void){return 0;}\n' |
        gcc -x c - -o /dev/null -lopenblas 2>/dev/null; then
    echo "run_openblas: OpenBLAS not found (apt-get install -y libopenblas-dev); skipping"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -I"$cblas_header" "$here/openblas_gemm.c" \
    -o "$work/openblas_gemm" -lopenblas

. "$here/openblas_core.sh"
openblas_pick_cores "$work/openblas_gemm"

rounds=${ROUNDS:-3}
round=0
while [ "$round" -lt "$rounds" ]; do
    for t in 1 2; do
        for core in $OPENBLAS_CORES; do
            OPENBLAS_CORETYPE=$core OPENBLAS_NUM_THREADS=$t "$work/openblas_gemm" "$t" $quick >>"$work/openblas.txt"
        done
        "$bench" $quick "$t" >>"$work/tapegrad.txt"
    done
    round=$((round + 1))
done

# Best median per (dtype threads op m n k), then join, in tapegrad's order.
awk '
    /^#/ { next }
    {
        key = $1 " " $2 " " $3 " " $4 "x" $5 "x" $6
        if (FILENAME ~ /openblas/) { if ($7 > peer[key]) peer[key] = $7; next }
        if (!(key in ours)) order[n++] = key
        if ($7 > ours[key]) ours[key] = $7
    }
    END {
        printf "%-5s %-3s %-3s %-16s %10s %10s %7s\n", "dtype", "thr", "op", "m x n x k", "tapegrad", "openblas", "ratio"
        for (i = 0; i < n; i++) {
            split(order[i], f, " ")
            if (peer[order[i]] > 0)
                printf "%-5s %-3s %-3s %-16s %10.1f %10.1f %7.2f\n", f[1], f[2], f[3], f[4], ours[order[i]], peer[order[i]], ours[order[i]] / peer[order[i]]
        }
    }' "$work/openblas.txt" "$work/tapegrad.txt"
