#!/bin/sh
# bench/run_all.sh — the numbers of the README's performance table, in one go:
# a release build in build-release (made if missing), then
#   1. bench_overhead            tape overhead, ns per recorded op + backward
#   2. peers/run_openblas.sh     GEMM GFLOP/s, tapegrad and OpenBLAS, 1 and 2 threads
#   3. peers/run_torch_mlp.sh    MNIST MLP s/epoch and test accuracy, tapegrad and PyTorch
#   4. peers/accuracy_seeds.sh   MNIST MLP test accuracy over seeds 1-8, tapegrad and PyTorch
# Each benchmark reports medians; the peer scripts alternate the two sides and
# keep each side's best median: GEMM product by product (ROUNDS, default 5),
# the MLPs run by run (ROUNDS, default 3; 1 for the large MLP), one tapegrad
# run after each PyTorch run so that both get as many. Peers that
# are not installed are skipped with a message (apt-get install -y
# libopenblas-dev python3-torch). Takes about 14 minutes on 2 cores; run it
# on a quiet machine.
#
# Usage: bench/run_all.sh [--quick]
set -eu
cd "$(dirname "$0")/.."
quick=${1:-}
if [ ! -x build-release/bench/bench_mlp ]; then
    meson setup build-release --buildtype=release >/dev/null
fi
ninja -C build-release >/dev/null

echo "== machine"
grep -m1 'model name' /proc/cpuinfo 2>/dev/null || true
echo "cores: $(nproc)"

echo "== tape overhead (bench_overhead, 100,000 scalar ops, ns per op)"
runs=$(for run in 1 2 3 4 5; do build-release/bench/bench_overhead $quick; done | grep -v '^#')
for graph in unary binary mixed; do
    all=$(printf '%s\n' "$runs" | awk -v g="$graph" '$1 == g { print $5 }' | sort -n)
    median=$(printf '%s\n' "$all" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    echo "$graph: median $median ns/op (runs: $(echo $all))"
done

echo "== GEMM vs OpenBLAS"
sh bench/peers/run_openblas.sh build-release/bench/bench_gemm $quick

echo "== MNIST MLP vs PyTorch"
# The small MLP is the one the targets name: three rounds (each side keeps
# its best median), as the machine's slow phases last minutes. The large
# one: one round.
MODEL=small ROUNDS=${ROUNDS:-3} sh bench/peers/run_torch_mlp.sh build-release/bench/bench_mlp $quick
MODEL=large ROUNDS=1 sh bench/peers/run_torch_mlp.sh build-release/bench/bench_mlp $quick

echo "== MNIST MLP test accuracy over seeds (1 thread), tapegrad and PyTorch"
sh bench/peers/accuracy_seeds.sh build-release/bench/bench_mlp $quick
