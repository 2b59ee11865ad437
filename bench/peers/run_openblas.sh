#!/bin/sh
# Times OpenBLAS (a benchmark peer, never a dependency) and tapegrad's GEMM on
# the same shapes in the same run, for 1 and 2 threads, and prints both and
# the ratio tapegrad / OpenBLAS. The two sides take turns product by product:
# for each product and thread count, ROUNDS rounds (default 5) of one
# tapegrad run and one OpenBLAS run, in alternating order, and each side keeps
# its best median. A shared machine has slow phases lasting seconds to
# minutes; taking turns per product (about a second each) puts both sides in
# the same phase, where whole sweeps one after the other did not.
#
# On one thread the turns are closer still: gemm_pair runs both libraries in
# one process, sample by sample (one sample of a side right after one of the
# other), so that each round's two medians come from the same moments; it is
# built against the tapegrad next to bench_gemm (BUILD/bench/bench_gemm ->
# BUILD/libtapegrad.so.0). On two threads the libraries' pools would compete,
# so each side runs in a process of its own, as above.
#
# OpenBLAS runs with its best kernel family for this CPU (openblas_core.sh):
# when several are candidates, each is timed once on the product (quick
# samples) and the fastest takes the turns, so that the peer is not credited
# with the best of more draws than tapegrad.
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

build_dir=$(cd "$(dirname "$bench")/.." && pwd)
pair=""
if gcc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -I"$cblas_header" -I"$here/../../include" "$here/gemm_pair.c" \
        -o "$work/gemm_pair" -L"$build_dir" -l:libtapegrad.so.0 -Wl,-rpath,"$build_dir" -lopenblas 2>"$work/pair.log"; then
    pair="$work/gemm_pair"
else
    echo "# gemm_pair did not build against $build_dir (see below); 1 thread in separate processes too" >&2
    cat "$work/pair.log" >&2
fi

. "$here/openblas_core.sh"
openblas_pick_cores "$work/openblas_gemm"

rounds=${ROUNDS:-5}
openblas_run() { # core threads product [--quick]
    OPENBLAS_CORETYPE=$1 OPENBLAS_NUM_THREADS=$2 "$work/openblas_gemm" "$2" ${4:-} --only "$3" | grep -v '^#'
}
for product in $("$bench" --list); do
    for t in 1 2; do
        core=$OPENBLAS_CORES
        if [ "$(echo $OPENBLAS_CORES | wc -w)" -gt 1 ]; then
            core=$(for c in $OPENBLAS_CORES; do echo "$c $(openblas_run "$c" "$t" "$product" --quick | awk '{ print $7 }')"; done |
                sort -k2 -g -r | awk 'NR == 1 { print $1 }')
        fi
        round=0
        while [ "$round" -lt "$rounds" ]; do
            if [ "$t" -eq 1 ] && [ -n "$pair" ]; then
                OPENBLAS_CORETYPE=$core OPENBLAS_NUM_THREADS=1 "$pair" $quick --only "$product" >"$work/pair.txt"
                awk '$1 == "tapegrad" { $1 = ""; print substr($0, 2) }' "$work/pair.txt" >>"$work/tapegrad.txt"
                awk '$1 == "openblas" { $1 = ""; print substr($0, 2) }' "$work/pair.txt" >>"$work/openblas.txt"
            elif [ $((round % 2)) -eq 0 ]; then
                openblas_run "$core" "$t" "$product" "$quick" >>"$work/openblas.txt"
                "$bench" $quick --only "$product" "$t" | grep -v '^#' >>"$work/tapegrad.txt"
            else
                "$bench" $quick --only "$product" "$t" | grep -v '^#' >>"$work/tapegrad.txt"
                openblas_run "$core" "$t" "$product" "$quick" >>"$work/openblas.txt"
            fi
            round=$((round + 1))
        done
    done
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
