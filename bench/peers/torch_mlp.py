#!/usr/bin/python3
"""torch_mlp — the PyTorch peer of bench/bench_mlp.c, for comparison only.

Trains the same networks the same way and prints the same lines:
  model threads batch us_per_step s_per_epoch loss sys_allocs
(sys_allocs is printed as "-": PyTorch does not report it.)

  small   784-256-128-10, batch 64
  large   784-1024-1024-10, batch 256
float32, ReLU hidden layers, softmax cross-entropy (F.cross_entropy), Adam
lr 1e-3, He-normal weights and zero biases. A step: take the next shuffled
batch, zero_grad(set_to_none=True) (as bench_mlp does), forward, backward,
optimizer step. The MNIST training set is read from the idx(.gz) files in
the directory given by --mnist (or found as bench_mlp finds it); without
it, 60,000 random uint8 images with random labels, as bench_mlp does.
Timing as bench_mlp: a warm-up of 10 steps, then 5 samples (3 with
--quick) of a fixed number of steps, median step time, and s_per_epoch =
steps per epoch x that; --full times whole epochs instead. --seed N
(default 42) seeds the weights and the batch order (torch.manual_seed).

Usage: /usr/bin/python3 bench/peers/torch_mlp.py [--quick] [--full]
           [--seed N] [--model small|large|all] [--mnist DIR] [THREADS...]
Exits with status 3 (and a message) when torch cannot be imported.
"""
import argparse
import gzip
import math
import os
import statistics
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the runner turns this into a clean skip
    print(f"torch_mlp: cannot import torch/numpy ({e}); skipping", file=sys.stderr)
    sys.exit(3)

CONFIGS = {
    # name: (sizes, batch, steps per sample)
    "small": ((784, 256, 128, 10), 64, 200),
    "large": ((784, 1024, 1024, 10), 256, 20),
}
SAMPLES = 5
WARMUP_STEPS = 10


def find_mnist(explicit):
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    candidates = [explicit, os.environ.get("TG_MNIST_DIR")]
    if os.environ.get("TG_SHARED_DIR"):
        candidates.append(os.path.join(os.environ["TG_SHARED_DIR"], "data", "mnist"))
    candidates += [os.path.join(root, "..", "shared", "data", "mnist"), os.path.join(root, "data", "mnist"),
                   "data/mnist", "../shared/data/mnist"]
    for d in candidates:
        if not d:
            continue
        for suffix in ("", ".gz"):
            if os.path.exists(os.path.join(d, "train-images-idx3-ubyte" + suffix)):
                return d, suffix
    return None, None


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load_data(explicit):
    d, suffix = find_mnist(explicit)
    test = None
    if d:
        images = read_idx(os.path.join(d, "train-images-idx3-ubyte" + suffix))
        labels = read_idx(os.path.join(d, "train-labels-idx1-ubyte" + suffix))
        what = "MNIST train (%d)" % len(labels)
        test_images = read_idx(os.path.join(d, "t10k-images-idx3-ubyte" + suffix))
        test_labels = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte" + suffix))
        test = (torch.from_numpy(test_images.reshape(len(test_images), -1).astype(np.float32) / 255.0),
                torch.from_numpy(test_labels.astype(np.int64)))
    else:
        rng = np.random.default_rng(7)
        images = rng.integers(0, 256, size=(60000, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=60000, dtype=np.uint8)
        what = "random uint8 (60000 x 28x28, MNIST not found)"
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y, what, test


class Trainer:
    def __init__(self, sizes, batch, x, y, seed):
        torch.manual_seed(seed)
        self.params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            w = (torch.randn(fan_in, fan_out) * math.sqrt(2.0 / fan_in)).requires_grad_()
            b = torch.zeros(fan_out, requires_grad=True)
            self.params += [w, b]
        self.opt = torch.optim.Adam(self.params, lr=1e-3)
        self.x, self.y, self.batch = x, y, batch
        self.steps_per_epoch = (len(y) + batch - 1) // batch
        self.new_epoch()

    def new_epoch(self):
        self.order = torch.randperm(len(self.y))
        self.next = 0

    def step(self):
        """One step on the next batch; None at the end of an epoch (reshuffled)."""
        if self.next >= len(self.y):
            self.new_epoch()
            return None
        rows = self.order[self.next:self.next + self.batch]
        self.next += self.batch
        h = self.x[rows]
        target = self.y[rows]
        self.opt.zero_grad(set_to_none=True)
        n = len(self.params) // 2
        for l in range(n):
            h = h @ self.params[2 * l] + self.params[2 * l + 1]
            if l + 1 < n:
                h = torch.relu(h)
        loss = F.cross_entropy(h, target)
        loss.backward()
        self.opt.step()
        return loss.item()

    def accuracy(self, test):
        """Percentage of the test set classified correctly (NaN without one)."""
        if test is None:
            return float("nan")
        with torch.no_grad():
            h = test[0]
            n = len(self.params) // 2
            for l in range(n):
                h = h @ self.params[2 * l] + self.params[2 * l + 1]
                if l + 1 < n:
                    h = torch.relu(h)
            return 100.0 * (h.argmax(dim=1) == test[1]).double().mean().item()


def run(name, threads, x, y, test, quick, full, intra_op_threads, seed):
    # The line reports `threads` (the cores given to the run); torch's own
    # pool may be told to use fewer, leaving the cores to OpenBLAS.
    torch.set_num_threads(intra_op_threads or threads)
    sizes, batch, steps = CONFIGS[name]
    t = Trainer(sizes, batch, x, y, seed)
    loss = float("nan")
    done = 0
    while done < WARMUP_STEPS:
        v = t.step()
        if v is not None:
            loss, done = v, done + 1
    samples = 3 if quick else SAMPLES
    steps = steps // 4 if quick else steps
    us, epoch = [], []
    for _ in range(samples):
        if full:
            while t.step() is not None:
                pass
            t0 = time.perf_counter()
            taken = 0
            while (v := t.step()) is not None:
                loss, taken = v, taken + 1
            seconds = time.perf_counter() - t0
            epoch.append(seconds)
            us.append(seconds * 1e6 / taken)
        else:
            t0 = time.perf_counter()
            done = 0
            while done < steps:
                v = t.step()
                if v is not None:
                    loss, done = v, done + 1
            seconds = time.perf_counter() - t0
            us.append(seconds * 1e6 / steps)
            epoch.append(us[-1] * 1e-6 * t.steps_per_epoch)
    print("%-5s %7d %5d %11.1f %11.3f %6.3f %10s %8.2f" % (name, threads, batch, statistics.median(us),
                                                          statistics.median(epoch), loss, "-", t.accuracy(test)),
          flush=True)


def main():
    p = argparse.ArgumentParser(description="PyTorch peer of bench_mlp")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--full", action="store_true")
    p.add_argument("--model", default="all", choices=["small", "large", "all"])
    p.add_argument("--mnist", default=None)
    p.add_argument("--seed", type=int, default=42, help="seed of the weights and the batch order")
    p.add_argument("--intra-op-threads", type=int, default=0,
                   help="torch.set_num_threads value (default: the thread count of the run)")
    p.add_argument("threads", nargs="*", type=int, default=[1, 2])
    a = p.parse_args()
    x, y, what, test = load_data(a.mnist)
    print("# torch %s mlp, %s, data: %s, optimizer: adam lr 1e-3, seed %d, %s" %
          (torch.__version__, "whole epochs" if a.full else "sampled steps", what, a.seed,
           "median of whole epochs" if a.full else "s_per_epoch = steps/epoch x median step time"))
    print("# model threads batch us_per_step s_per_epoch  loss sys_allocs test_acc")
    for name in (["small", "large"] if a.model == "all" else [a.model]):
        for threads in a.threads:
            run(name, threads, x, y, test, a.quick, a.full, a.intra_op_threads, a.seed)


if __name__ == "__main__":
    main()
