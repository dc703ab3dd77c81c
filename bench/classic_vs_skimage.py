#!/usr/bin/env python3
"""Unroll vs scikit-image, side by side in one run on identical inputs.

usage: /usr/bin/python3 bench/classic_vs_skimage.py [--unroll build/unroll] [--size 1024] [--rounds 5]
                                                     [--repeat 3] [--repeat-wiener 15] [--threads 1[,2]]
                                                     [--fft fftw,torch] [--cases A,B]

Makes a SIZE x SIZE test scene (skimage's astronaut, upscaled), blurs it circularly with a 25x25
kernel, adds noise (sigma 0.01, seed 0), writes the inputs as raw float32 for `unroll bench classic
--inputs DIR`, and times scikit-image's wiener and richardson_lucy (30 iterations) on the same arrays.

On a shared machine absolute times drift with the load, so the measurement is interleaved: each of
--rounds rounds times scikit-image (best of --repeat) and then Unroll once per --threads value (best
of --repeat, in a fresh process; the Wiener case, a few milliseconds, takes the best of
--repeat-wiener on both sides, as one descheduling would otherwise decide it; with --fft, once per CPU FFT backend too, set through UNROLL_FFT),
alternating which goes first. The table reports the median over
rounds of each time and the median of the per-round ratios (scikit-image time / Unroll time, both
taken minutes apart at most), plus the same ratio in process CPU time for one thread, which is
insensitive to the process being descheduled. PSNR of both outputs and their largest difference
show that the outputs are equal.
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time

import numpy as np
import skimage
from scipy import ndimage
from skimage import data, restoration, transform


def psnr(x, ref):
    return 10 * np.log10(1.0 / np.mean((np.clip(x, 0, 1) - ref) ** 2))


def best_of(repeat, fn):
    best, best_cpu, out = 1e30, 1e30, None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best = min(best, time.perf_counter() - t0)
    return best, best_cpu, out


def kernel25():
    g = np.arange(-12, 13)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    # an oblique motion streak with a soft Gaussian profile
    d = np.abs(0.8 * yy - 0.6 * xx)
    along = 0.6 * yy + 0.8 * xx
    k = np.exp(-d ** 2 / 2.0) * (np.abs(along) <= 10)
    return k / k.sum()


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unroll", default="build/unroll")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--repeat-wiener", type=int, default=15)
    ap.add_argument("--cases", default="wiener_grey,rl30_grey_zero,rl30_grey_normalized,admm100_rgb",
                    help="comma-separated subset of the cases")
    ap.add_argument("--threads", default="1", help="comma-separated Unroll thread counts, e.g. 1,2")
    ap.add_argument("--nsr", type=float, default=0.01)
    ap.add_argument("--fft", default="", help="comma-separated Unroll CPU FFT backends (UNROLL_FFT), e.g. fftw,torch")
    args = ap.parse_args()
    backends = args.fft.split(",") if args.fft else [""]
    wanted = args.cases.split(",")
    known = ("wiener_grey", "rl30_grey_zero", "rl30_grey_normalized", "admm100_rgb")
    unknown = [c for c in wanted if c not in known]
    if unknown:
        ap.error("--cases: unknown case '%s' (%s)" % (unknown[0], ", ".join(known)))
    configs = [(t, b) for b in backends for t in [int(t) for t in args.threads.split(",")]]

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

    pos = np.clip(grey_b, 0, None)
    sk_cases = {
        "wiener_grey": lambda: restoration.wiener(grey_b, k, args.nsr, clip=False),
        "rl30_grey_zero": lambda: restoration.richardson_lucy(pos, k, num_iter=30, clip=False),
    }

    sk_cases = {name: fn for name, fn in sk_cases.items() if name in wanted}

    def run_scikit():
        res = {}
        for name, fn in sk_cases.items():
            wall, cpu, out = best_of(args.repeat_wiener if name == "wiener_grey" else args.repeat, fn)
            res[name] = (wall, cpu, out)
        return res

    def run_unroll(config):
        threads, backend = config
        env = dict(os.environ, UNROLL_FFT=backend) if backend else None
        res, first = {}, None
        for cases, repeat in ((["wiener_grey"], args.repeat_wiener),
                              (["rl30_grey_zero", "rl30_grey_normalized", "admm100_rgb"], args.repeat)):
            cases = ",".join(c for c in cases if c in wanted)
            if not cases:
                continue
            cmd = [args.unroll, "bench", "classic", "--inputs", d, "--repeat", str(repeat), "--threads", str(threads),
                   "--cases", cases]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
            first = first or out.splitlines()[0]
            res.update({m.group(1): (float(m.group(2)), float(m.group(3)))
                        for m in re.finditer(r"RESULT (\S+)\s+([0-9.]+) s\s+cpu\s+([0-9.]+) s", out)})
        return first, res

    load_before = loadavg()
    sk_rounds, un_rounds = [], {c: [] for c in configs}
    header = {}
    for r in range(args.rounds):
        order = ["sk"] + configs if r % 2 == 0 else configs[::-1] + ["sk"]
        for who in order:
            if who == "sk":
                sk_rounds.append(run_scikit())
            else:
                header[who], res = run_unroll(who)
                un_rounds[who].append(res)
    load_after = loadavg()
    outs = {name: np.fromfile(os.path.join(d, "unroll_%s.f32" % name), dtype=np.float32)
            for name in un_rounds[configs[0]][0]}

    med = statistics.median
    print("inputs: %s (%dx%d, kernel 25x25, noise 0.01)" % (d, args.size, args.size))
    print("scikit-image %s, numpy %s; %d rounds, best of %d per round (Wiener: %d); load average before %s, after %s"
          % (skimage.__version__, np.__version__, args.rounds, args.repeat, args.repeat_wiener, load_before,
             load_after))
    for c in configs:
        print(header[c])
    print()
    cols = "".join(" Unroll %d thr%s (s) | ratio |" % (t, " " + b if b else "") for t, b in configs)
    print("| case | scikit-image (s) |%s CPU-time ratio, 1 thr | PSNR skimage | PSNR Unroll | max abs diff |" % cols)
    print("|---|---:|" + "---:|---:|" * len(configs) + "---:|---:|---:|---:|")
    for name, ref in (("wiener_grey", grey), ("rl30_grey_zero", grey)):
        if name not in wanted:
            continue
        x_sk = sk_rounds[-1][name][2]
        x_un = outs[name].reshape(x_sk.shape)
        cells = ""
        for c in configs:
            ratios = [sk[name][0] / un[name][0] for sk, un in zip(sk_rounds, un_rounds[c])]
            cells += " %.3f | %.1fx |" % (med(u[name][0] for u in un_rounds[c]), med(ratios))
        cpu = "-"
        if (1, backends[0]) in un_rounds:
            cpu = "%.1fx" % med(sk[name][1] / un[name][1] for sk, un in zip(sk_rounds, un_rounds[(1, backends[0])]))
        print("| %s | %.3f |%s %s | %.3f | %.3f | %.1e |" % (
            name, med(s[name][0] for s in sk_rounds), cells, cpu, psnr(x_sk, ref), psnr(x_un, ref),
            np.abs(x_sk - x_un).max()))
    for name in ("rl30_grey_normalized", "admm100_rgb"):
        if name not in wanted:
            continue
        ref = grey if "grey" in name else rgb.transpose(2, 0, 1)
        x_un = outs[name].reshape(ref.shape)
        cells = "".join(" %.3f | - |" % med(u[name][0] for u in un_rounds[c]) for c in configs)
        print("| %s | - |%s - | - | %.3f | - |" % (name, cells, psnr(x_un, ref)))


if __name__ == "__main__":
    main()
