#!/usr/bin/env python3
"""The Python module's cost, measured in one process (docs/benchmarks.md, "Python module").

usage: PYTHONPATH=build/python /usr/bin/python3 bench/python_bench.py [--size 1024] [--repeat 5] [--rounds 3]
                                                                        [--threads N]

Unroll runs on torch's threads (torch.get_num_threads(); torch's default is one per physical core,
the CLI uses every logical CPU); scikit-image's wiener and richardson_lucy are single-threaded.

1. Per-call overhead of the binding: unroll.deblur(y, k, "wiener") on a 256x256 RGB image from Python
   vs the same registry call timed inside C++ (unroll._C._time_method_cpp), median of --rounds rounds of
   the best of many calls each. The difference is what the binding costs per call (argument checks,
   the GIL, the result's wrapping).
2. Wiener and Richardson-Lucy (30 iterations) from Python vs scikit-image in the same process, on the
   same SIZE x SIZE grey arrays (the scene and kernel of bench/classic_vs_skimage.py), with scikit-image's
   settings (Wiener: Laplacian regulariser, balance 0.01, circular; RL: zero boundary). Interleaved
   rounds; the table gives the median time of each and the median of the per-round ratios, plus the
   largest difference of the two outputs (they compute the same thing).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

import unroll

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classic_vs_skimage import kernel25  # noqa: E402  (the same kernel as the CLI benchmark)


def best_of(repeat, fn):
    best, out = 1e30, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from skimage import data, restoration, transform
    from scipy import ndimage

    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); load average "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}")

    # 1. Binding overhead, 256x256 RGB Wiener.
    g = torch.Generator().manual_seed(0)
    y = torch.rand(1, 3, 256, 256, generator=g)
    k = torch.from_numpy(kernel25()).float()
    calls = 200
    py_times, cpp_times = [], []
    for _ in range(args.rounds):
        unroll.deblur(y, k, "wiener", noise=2.55, boundary="circular")
        t0 = time.perf_counter()
        for _ in range(calls):
            unroll.deblur(y, k, "wiener", noise=2.55, boundary="circular")
        py_times.append((time.perf_counter() - t0) / calls)
        cpp_times.append(unroll._C._time_method_cpp(y, k, "wiener", calls))
    py_t, cpp_t = statistics.median(py_times), statistics.median(cpp_times)
    print("\n| 256x256 RGB wiener | per call |")
    print("|---|---|")
    print(f"| from Python, unroll.deblur | {py_t * 1e3:.3f} ms |")
    print(f"| in C++, run_method | {cpp_t * 1e3:.3f} ms |")
    print(f"| binding overhead | {(py_t - cpp_t) * 1e6:.0f} us ({100 * (py_t - cpp_t) / cpp_t:.1f} %) |")

    # 2. vs scikit-image, same process, same arrays.
    n = args.size
    rgb = np.clip(transform.resize(data.astronaut() / 255.0, (n, n), order=3, anti_aliasing=False), 0, 1)
    grey = rgb.mean(axis=2)
    kern = kernel25()
    rng = np.random.default_rng(0)
    blurred = (ndimage.convolve(grey, kern, mode="wrap") + 0.01 * rng.standard_normal(grey.shape)).astype(np.float32)
    pos = np.clip(blurred, 0, None)
    yt, pt, kt = torch.from_numpy(blurred), torch.from_numpy(pos), torch.from_numpy(kern).float()
    cases = {
        "wiener (balance 0.01)": (
            lambda: restoration.wiener(blurred, kern, 0.01, clip=False),
            lambda: unroll.deblur(yt, kt, "wiener", boundary="circular", nsr=0.01, laplacian=1).numpy()),
        "richardson_lucy (30 it.)": (
            lambda: restoration.richardson_lucy(pos, kern, num_iter=30, clip=False),
            lambda: unroll.deblur(pt, kt, "rl", boundary="circular", iters=30, zero_boundary=1).numpy()),
    }
    print(f"\n| {n}x{n} grey | scikit-image (s) | Unroll from Python (s) | ratio | max abs diff |")
    print("|---|---|---|---|---|")
    for name, (sk, ur) in cases.items():
        sk_t, ur_t, ratios = [], [], []
        for r in range(args.rounds):
            order = (sk, ur) if r % 2 == 0 else (ur, sk)
            res = {fn: best_of(args.repeat, fn) for fn in order}
            sk_t.append(res[sk][0])
            ur_t.append(res[ur][0])
            ratios.append(res[sk][0] / res[ur][0])
            diff = float(np.abs(res[sk][1] - res[ur][1]).max())
        print(f"| {name} | {statistics.median(sk_t):.3f} | {statistics.median(ur_t):.3f} | "
              f"{statistics.median(ratios):.1f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()
