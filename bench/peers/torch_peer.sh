# bench/peers/torch_peer.sh — sourced by the scripts that run the PyTorch
# peer (run_torch_mlp.sh, accuracy_seeds.sh): the checks both make first.
#
# torch_peer_check SCRIPT BENCH PYTHON
#   exits with status 1 if there is no bench_mlp at BENCH, and with status 0
#   (a skip, said on stdout) if PYTHON cannot import torch and numpy.
torch_peer_check() {
    if [ ! -x "$2" ]; then
        echo "$1: no bench_mlp at $2 (build it, or pass its path)" >&2
        exit 1
    fi
    if ! "$3" -c 'import torch, numpy' >/dev/null 2>&1; then
        echo "$1: $3 cannot import torch and numpy (apt-get install -y python3-torch); skipping"
        exit 0
    fi
}
