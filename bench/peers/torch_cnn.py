#!/usr/bin/python3
"""torch_cnn — the PyTorch peer of bench/bench_cnn.c, for comparison only.

Trains the two MNIST CNNs of examples/mnist_cnn.c the same way and times
convolution layers, printing the same lines as bench_cnn:
  net    model threads batch ms_per_step s_per_epoch
  conv   layer threads batch ms_fwd_bwd gflops

  lenet    conv 1->6 5x5 pad 2, relu, max-pool 2, conv 6->16 5x5, relu,
           max-pool 2, fc 400-120-84-10 (relu between)
  convnet  conv 1->32 3x3, batch norm, relu, conv 32->64 3x3, batch norm,
           relu, max-pool 2, dropout 0.25, fc 9216-128, relu, dropout 0.5,
           fc 128-10
float32, batch 64, Adam lr 1e-3, softmax cross-entropy. A step: the next
batch of a fixed random permutation, zero_grad(set_to_none=True), forward,
backward, optimizer step. The images are MNIST's when found (as
torch_mlp.py finds them), random otherwise: the time of a step does not
depend on the pixel values. Timing: a warm-up of 5 steps, then 5 samples
(3 with --quick) of a fixed number of steps; the median step time, and
s_per_epoch = 938 steps x that.

The conv layers (forward + backward of input and weight, batch 8):
  resnet3x3   64->64 3x3 pad 1 on 56x56
  stem7x7     3->64 7x7 stride 2 pad 3 on 224x224
  depthwise   32 channels, groups 32, 3x3 pad 1 on 112x112
gflops counts 3 x the forward's multiply-adds x 2 (forward, input
gradient, weight gradient), the convention bench_cnn uses too.

Usage: /usr/bin/python3 bench/peers/torch_cnn.py [--quick] [--what nets|convs|all]
           [--model lenet|convnet|all] [--intra-op-threads N] [THREADS...]
Exits with status 3 (and a message) when torch cannot be imported.
"""
import argparse
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the runner turns this into a clean skip
    print(f"torch_cnn: cannot import torch ({e}); skipping", file=sys.stderr)
    sys.exit(3)

BATCH = 64
STEPS_PER_EPOCH = (60000 + BATCH - 1) // BATCH
WARMUP = 5


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def convnet():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


NETS = {"lenet": (lenet, 100), "convnet": (convnet, 20)}
CONVS = {
    # name: (in channels, out channels, kernel, stride, padding, groups, size)
    "resnet3x3": (64, 64, 3, 1, 1, 1, 56),
    "stem7x7": (3, 64, 7, 2, 3, 1, 224),
    "depthwise": (32, 32, 3, 1, 1, 32, 112),
}


def time_net(name, threads, samples, quick):
    make, steps = NETS[name]
    steps = max(steps // 4, 5) if quick else steps
    torch.manual_seed(42)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(60000 if not quick else 4096, 1, 28, 28)
    y = torch.randint(0, 10, (len(x),))
    at = [0]

    def step():
        if at[0] + BATCH > len(x):
            at[0] = 0
        xb, yb = x[at[0]:at[0] + BATCH], y[at[0]:at[0] + BATCH]
        at[0] += BATCH
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()

    for _ in range(WARMUP):
        step()
    ms = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        ms.append((time.perf_counter() - t0) * 1e3 / steps)
    m = statistics.median(ms)
    print("net    %-9s %7d %5d %11.2f %11.2f" % (name, threads, BATCH, m, m * STEPS_PER_EPOCH / 1e3), flush=True)


def time_conv(name, threads, samples, quick):
    cin, cout, k, stride, pad, groups, size = CONVS[name]
    n = 8
    torch.manual_seed(1)
    x = torch.randn(n, cin, size, size, requires_grad=True)
    w = torch.randn(cout, cin // groups, k, k, requires_grad=True)
    out = (size + 2 * pad - k) // stride + 1
    flops = 3 * 2 * n * cout * out * out * (cin // groups) * k * k
    reps = 2 if quick else 5
    g = torch.randn(n, cout, out, out)

    def once():
        y = F.conv2d(x, w, stride=stride, padding=pad, groups=groups)
        x.grad, w.grad = None, None
        y.backward(g)

    once()
    ms = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(reps):
            once()
        ms.append((time.perf_counter() - t0) * 1e3 / reps)
    m = statistics.median(ms)
    print("conv   %-9s %7d %5d %11.2f %11.2f" % (name, threads, n, m, flops / (m * 1e-3) / 1e9), flush=True)


def main():
    p = argparse.ArgumentParser(description="PyTorch peer of bench_cnn")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--what", default="all", choices=["nets", "convs", "all"])
    p.add_argument("--model", default="all", choices=["lenet", "convnet", "all"])
    p.add_argument("--intra-op-threads", type=int, default=0,
                   help="torch.set_num_threads value (default: the thread count of the run)")
    p.add_argument("threads", nargs="*", type=int, default=[1, 2])
    a = p.parse_args()
    samples = 3 if a.quick else 5
    print("# torch %s, blas: %s" % (torch.__version__, torch.__config__.show().count("OpenBLAS") and "OpenBLAS"
                                    or "see torch.__config__.show()"), flush=True)
    for t in a.threads:
        torch.set_num_threads(a.intra_op_threads or t)
        if a.what in ("nets", "all"):
            for name in NETS:
                if a.model in ("all", name):
                    time_net(name, t, samples, a.quick)
        if a.what in ("convs", "all"):
            for name in CONVS:
                time_conv(name, t, samples, a.quick)


if __name__ == "__main__":
    main()
