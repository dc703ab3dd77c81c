#!/usr/bin/env python3
"""Reference numbers for tests/eval/aligned_metrics_test.cpp: the RSBlur / RealBlur evaluation steps
(intensity scaling, ECC homography, inverse warp with a validity mask, masked PSNR and SSIM) written out
with Python's cv2 and scikit-image, following the procedure of the datasets' official scripts
(rimchang/RSBlur evaluation/evaluate_RSBlur.py, rimchang/RealBlur evaluation_RealBlur_ecc.py).

usage: aligned_reference.py OUT_DIR
Writes OUT_DIR/case<i>_gt.png, case<i>_restored.png (8-bit RGB) and OUT_DIR/reference.txt with lines
"case<i> <variant> <psnr> <ssim>" for variant rsblur (clipped) and realblur (not clipped).
Needs Debian's python3-opencv and python3-skimage.
"""
import os
import sys

import cv2
import numpy as np
from skimage import io
from skimage.metrics import structural_similarity


def make_cases():
    """Sharp crops of a smooth synthetic scene and restored images that are shifted / slightly
    rotated, rescaled in intensity and noisy (deterministic)."""
    rng = np.random.default_rng(7)
    h, w = 72, 80
    yy, xx = np.mgrid[0:h + 24, 0:w + 24].astype(np.float64)
    scene = np.stack([0.5 + 0.3 * np.sin(xx / 5.0 + c) * np.cos(yy / 7.0 - c) + 0.15 * ((xx + 2 * yy) % 37 > 18)
                      for c in range(3)], axis=2)
    scene = np.clip(scene, 0, 1)
    gt = scene[12:12 + h, 12:12 + w]
    cases = []
    # (dx, dy, rotation in degrees, intensity scale, gamma, noise); the gamma case brightens under
    # the intensity scaling beyond 1, where the two variants differ (clipping).
    for dx, dy, rot, scale, gamma, noise in [(2, -1, 0.0, 0.85, 1.0, 0.01), (-3, 2, 0.6, 1.1, 1.0, 0.02),
                                             (1, 1, 0.0, 1.0, 1.6, 0.005)]:
        m = cv2.getRotationMatrix2D(((w + 24) / 2.0, (h + 24) / 2.0), rot, 1.0)
        m[0, 2] += dx
        m[1, 2] += dy
        moved = cv2.warpAffine(scene.astype(np.float32), m, (w + 24, h + 24), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        restored = scale * moved[12:12 + h, 12:12 + w] ** gamma + noise * rng.standard_normal((h, w, 3))
        cases.append((np.round(np.clip(gt, 0, 1) * 255).astype(np.uint8),
                      np.round(np.clip(restored, 0, 1) * 255).astype(np.uint8)))
    return cases


def evaluate(restored, gt, clip):
    z, x = restored, gt
    zs = (np.sum(x * z) / np.sum(z * z)) * z
    warp = np.eye(3, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 0)
    _, warp = cv2.findTransformECC(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), cv2.cvtColor(zs, cv2.COLOR_RGB2GRAY), warp,
                                   cv2.MOTION_HOMOGRAPHY, criteria, None, 5)
    size = (x.shape[1], x.shape[0])
    zr = cv2.warpPerspective(zs, warp, size, flags=cv2.INTER_CUBIC + cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT)
    cr = cv2.warpPerspective(np.ones_like(zs, dtype=np.float32), warp, size,
                             flags=cv2.INTER_NEAREST + cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=0)
    zr = zr * cr
    xr = x * cr
    if clip:
        zr = np.clip(zr, 0, 1)
        xr = np.clip(xr, 0, 1)
    psnr = 10 * np.log10(1.0 / (np.sum((xr - zr) ** 2, dtype=np.float64) / np.sum(cr)))
    _, smap = structural_similarity(xr, zr, channel_axis=2, gaussian_weights=True, use_sample_covariance=False,
                                    data_range=1.0, full=True)
    pad = 5  # (2 * int(3.5 * 1.5 + 0.5) + 1 - 1) // 2
    smap = (smap * cr)[pad:-pad, pad:-pad, :]
    crop = cr[pad:-pad, pad:-pad, :]
    ssim = np.mean(smap.sum(axis=0).sum(axis=0) / crop.sum(axis=0).sum(axis=0))
    return psnr, ssim


def main(out):
    os.makedirs(out, exist_ok=True)
    lines = []
    for i, (gt8, restored8) in enumerate(make_cases()):
        io.imsave(os.path.join(out, "case%d_gt.png" % i), gt8, check_contrast=False)
        io.imsave(os.path.join(out, "case%d_restored.png" % i), restored8, check_contrast=False)
        gt = gt8.astype(np.float32) / 255.0
        restored = restored8.astype(np.float32) / 255.0
        for variant, clip in (("rsblur", True), ("realblur", False)):
            psnr, ssim = evaluate(restored, gt, clip)
            lines.append("case%d %s %.10f %.10f" % (i, variant, psnr, ssim))
    with open(os.path.join(out, "reference.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
