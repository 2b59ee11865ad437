#!/bin/sh
# Times tapegrad's bench_cnn and its PyTorch peer (torch_cnn.py, a benchmark
# peer only) on the same CNNs and convolution layers in the same run, for 1
# and 2 threads, and prints both and the ratio torch / tapegrad (above 1:
# tapegrad is faster). The two programs take turns for ROUNDS rounds
# (default 1); on 2 threads torch runs in both of its settings (its pool on 2
# threads, and 1 intra-op thread leaving the cores to OpenBLAS and oneDNN),
# and each side keeps its best median.
#
# Usage: bench/peers/run_torch_cnn.sh [path/to/bench_cnn] [--quick]
# Needs /usr/bin/python3 with torch (Debian: python3-torch); skips without it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bench=${1:-build/bench/bench_cnn}
mode=${2:-}
python=${PYTHON:-/usr/bin/python3}
if [ ! -x "$bench" ]; then
    echo "run_torch_cnn: no bench_cnn at $bench (build it, or pass its path)" >&2
    exit 1
fi
if ! "$python" -c 'import torch' >/dev/null 2>&1; then
    echo "run_torch_cnn: $python cannot import torch (apt-get install -y python3-torch); skipping"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rounds=${ROUNDS:-1}
round=0
while [ "$round" -lt "$rounds" ]; do
    for t in 1 2; do
        OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} \
            "$python" "$here/torch_cnn.py" $mode "$t" >>"$work/torch.txt"
        "$bench" $mode "$t" >>"$work/tapegrad.txt"
        if [ "$t" -gt 1 ]; then
            OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} \
                "$python" "$here/torch_cnn.py" $mode --intra-op-threads 1 "$t" >>"$work/torch.txt"
            "$bench" $mode "$t" >>"$work/tapegrad.txt"
        fi
    done
    round=$((round + 1))
done
grep -h '^#' "$work/tapegrad.txt" "$work/torch.txt" | sort -u

# Best median per (kind name threads): the smallest time (column 5).
awk '
    /^#/ { next }
    {
        key = $1 " " $2 " " $3
        if (FILENAME ~ /torch/) {
            if (!(key in peer) || $5 < peer[key]) peer[key] = $5
            next
        }
        if (!(key in ours)) { order[n++] = key; ours[key] = $5; rate[key] = $6 }
        if ($5 < ours[key]) { ours[key] = $5; rate[key] = $6 }
    }
    END {
        printf "%-5s %-10s %-3s %14s %14s %9s %12s\n", "kind", "name", "thr", "tapegrad ms", "torch ms", "torch/tg", "tg s/ep|GF/s"
        for (i = 0; i < n; i++) {
            split(order[i], f, " ")
            if (peer[order[i]] > 0)
                printf "%-5s %-10s %-3s %14.2f %14.2f %9.2f %12.2f\n", f[1], f[2], f[3], ours[order[i]], peer[order[i]], peer[order[i]] / ours[order[i]], rate[order[i]]
        }
    }' "$work/torch.txt" "$work/tapegrad.txt"
