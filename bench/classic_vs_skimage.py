#!/usr/bin/env python3
"""Unroll vs scikit-image, side by side in one run on identical inputs.

usage: /usr/bin/python3 bench/classic_vs_skimage.py [--unroll build/unroll] [--size 1024] [--repeat 3]

Makes a SIZE x SIZE test scene (skimage's astronaut, upscaled), blurs it circularly with a 25x25
kernel, adds noise (sigma 0.01, seed 0), writes the inputs as raw float32 for `unroll bench classic
--inputs DIR`, times scikit-image's wiener and richardson_lucy (30 iterations) on the same arrays, and
prints a Markdown table with both times, their ratio and the PSNR of both outputs (best of --repeat,
solver time only). Unroll runs with LibTorch's default thread count and with one thread.
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

import numpy as np
from scipy import ndimage
from skimage import data, restoration, transform


def psnr(x, ref):
    return 10 * np.log10(1.0 / np.mean((np.clip(x, 0, 1) - ref) ** 2))


def best_of(repeat, fn):
    best, out = 1e30, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def kernel25():
    g = np.arange(-12, 13)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    # an oblique motion streak with a soft Gaussian profile
    d = np.abs(0.8 * yy - 0.6 * xx)
    along = 0.6 * yy + 0.8 * xx
    k = np.exp(-d ** 2 / 2.0) * (np.abs(along) <= 10)
    return k / k.sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unroll", default="build/unroll")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--nsr", type=float, default=0.01)
    args = ap.parse_args()

    rgb = transform.resize(data.astronaut() / 255.0, (args.size, args.size), order=3, anti_aliasing=False)
    rgb = np.clip(rgb, 0, 1)
    grey = rgb.mean(axis=2)
    k = kernel25()
    rng = np.random.default_rng(0)
    grey_b = ndimage.convolve(grey, k, mode="wrap") + 0.01 * rng.standard_normal(grey.shape)
    rgb_b = np.stack([ndimage.convolve(rgb[..., c], k, mode="wrap") for c in range(3)], axis=0)
    rgb_b += 0.01 * rng.standard_normal(rgb_b.shape)
    grey_b = grey_b.astype(np.float32)
    rgb_b = rgb_b.astype(np.float32)

    d = tempfile.mkdtemp(prefix="unroll_bench_")
    grey_b.tofile(os.path.join(d, "grey_blurred.f32"))
    grey.astype(np.float32).tofile(os.path.join(d, "grey_sharp.f32"))
    rgb_b.tofile(os.path.join(d, "rgb_blurred.f32"))
    rgb.transpose(2, 0, 1).astype(np.float32).tofile(os.path.join(d, "rgb_sharp.f32"))
    np.savetxt(os.path.join(d, "kernel.csv"), k, delimiter=",", fmt="%.17g")
    with open(os.path.join(d, "shape.txt"), "w") as f:
        f.write("%d %d %g\n" % (args.size, args.size, args.nsr))

    # scikit-image, same float32 arrays
    sk = {}
    sk["wiener_grey"] = best_of(args.repeat, lambda: restoration.wiener(grey_b, k, args.nsr, clip=False))
    pos = np.clip(grey_b, 0, None)
    sk["rl30_grey_zero"] = best_of(args.repeat, lambda: restoration.richardson_lucy(pos, k, num_iter=30, clip=False))

    def run_unroll(threads):
        cmd = [args.unroll, "bench", "classic", "--inputs", d, "--repeat", str(args.repeat)]
        if threads:
            cmd += ["--threads", str(threads)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        times = {m.group(1): float(m.group(2)) for m in re.finditer(r"RESULT (\S+)\s+([0-9.]+) s", out)}
        outs = {name: np.fromfile(os.path.join(d, "unroll_%s.f32" % name), dtype=np.float32) for name in times}
        return out.splitlines()[0], times, outs

    header_n, un, un_out = run_unroll(0)
    header_1, un1, _ = run_unroll(1)
    print("inputs: %s (%dx%d, kernel 25x25, noise 0.01)" % (d, args.size, args.size))
    print(header_n)
    print()
    print("| case | scikit-image (s) | Unroll, default threads (s) | ratio | Unroll, 1 thread (s) | ratio | PSNR skimage | PSNR Unroll | max abs diff |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, ref in (("wiener_grey", grey), ("rl30_grey_zero", grey)):
        t_sk, x_sk = sk[name]
        x_un = un_out[name].reshape(x_sk.shape)
        print("| %s | %.3f | %.3f | %.1fx | %.3f | %.1fx | %.3f | %.3f | %.1e |" % (
            name, t_sk, un[name], t_sk / un[name], un1[name], t_sk / un1[name], psnr(x_sk, ref), psnr(x_un, ref),
            np.abs(x_sk - x_un).max()))
    for name in ("rl30_grey_normalized", "admm100_rgb"):
        ref = grey if "grey" in name else rgb.transpose(2, 0, 1)
        x_un = un_out[name].reshape(ref.shape)
        print("| %s | - | %.3f | - | %.3f | - | - | %.3f | - |" % (name, un[name], un1[name], psnr(x_un, ref)))


if __name__ == "__main__":
    main()
