#!/usr/bin/env python3
"""Writes inputs and scikit-image reference outputs for tests/classic/skimage_crosscheck_test.cpp.

usage: skimage_reference.py OUT_DIR
Files (CSV, float64 with 17 significant digits): image.csv (grey blurred), kernel.csv, sharp.csv,
wiener_<balance>.csv, rl_<iters>.csv, rgb_a.csv / rgb_b.csv (H x (W*3), channel-last rows) and
metrics.txt with psnr/ssim of the pairs. Run with Debian's python3 (python3-skimage).
"""
import os
import sys

import numpy as np
from scipy import ndimage
from skimage import metrics, restoration


def save(path, a):
    np.savetxt(path, a, delimiter=",", fmt="%.17g")


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1234)
    h, w = 48, 40
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w]).reshape(2, 1, 1)
    sharp = 0.5 + 0.25 * np.sin(9 * xx + 3 * yy) * np.cos(7 * yy) + 0.2 * ((xx + 0.5 * yy) > 0.6)
    sharp = np.clip(sharp, 0, 1)
    k = rng.random((7, 7)) ** 3
    k /= k.sum()
    blurred = ndimage.convolve(sharp, k, mode="wrap") + 0.01 * rng.standard_normal((h, w))
    save(os.path.join(out, "image.csv"), blurred)
    save(os.path.join(out, "kernel.csv"), k)
    save(os.path.join(out, "sharp.csv"), sharp)
    for balance in (0.01, 0.1):
        x = restoration.wiener(blurred, k, balance, clip=False)
        save(os.path.join(out, "wiener_%g.csv" % balance), x)
    positive = np.clip(blurred, 0, None)
    save(os.path.join(out, "image_pos.csv"), positive)
    for iters in (10, 30):
        x = restoration.richardson_lucy(positive, k, num_iter=iters, clip=False)
        save(os.path.join(out, "rl_%d.csv" % iters), x)
    a = np.clip(rng.random((32, 36, 3)) * 0.3 + 0.35 + 0.3 * np.sin(np.mgrid[0:32, 0:36, 0:3][1] / 5.0), 0, 1)
    b = np.clip(a + 0.05 * rng.standard_normal(a.shape), 0, 1)
    save(os.path.join(out, "rgb_a.csv"), a.reshape(32, -1))
    save(os.path.join(out, "rgb_b.csv"), b.reshape(32, -1))
    psnr = metrics.peak_signal_noise_ratio(a, b, data_range=1)
    ssim = metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                         data_range=1, channel_axis=-1)
    ssim_grey = metrics.structural_similarity(sharp, np.clip(blurred, 0, 1), gaussian_weights=True, sigma=1.5,
                                              use_sample_covariance=False, data_range=1)
    with open(os.path.join(out, "metrics.txt"), "w") as f:
        f.write("%.17g %.17g %.17g\n" % (psnr, ssim, ssim_grey))


if __name__ == "__main__":
    main(sys.argv[1])
