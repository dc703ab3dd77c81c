#!/usr/bin/python3
"""Real blurred photographs without ground truth: a comparison grid per photo.

    /usr/bin/python3 scripts/real_blind_grid.py --unroll build/unroll --photos ../shared/data/real/ircnn_real \
        --names 0015_blur65,26.blurred --method hqs-tv --out docs/blind/real

For each photo NAME.png / NAME.jpg with a published kernel NAME_kernel.png beside it, runs
`unroll estimate-kernel` and `unroll deblur --kernel estimate` with --method, and `unroll deblur` with the
published kernel, then writes OUT/NAME.png: blurred | our estimated kernel and result | the published
kernel and its result (kernels drawn in the corner of their result, magnified). Also OUT/NAME.log with
what unroll printed (the intermediate images go to --work, a temporary folder by default). Needs Debian's python3-opencv and numpy.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np


def run(cmd, log):
    log.write("$ " + " ".join(cmd) + "\n")
    out = subprocess.run(cmd, capture_output=True, text=True)
    # Progress lines (carriage returns, ETA) are not worth keeping.
    kept = [line for line in (out.stdout + out.stderr).replace("\r", "\n").splitlines() if line and " ETA " not in line]
    log.write("\n".join(kept) + "\n")
    if out.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed:\n{out.stdout}{out.stderr}")


def with_kernel(image, kernel_path, label):
    """The image with the kernel (normalised to its maximum, magnified) in its top-left corner and a label."""
    img = image.copy()
    k = cv2.imread(kernel_path, cv2.IMREAD_UNCHANGED).astype(np.float64)
    if k.ndim == 3:
        k = k.mean(axis=2)
    k = k / max(k.max(), 1e-12)
    side = max(64, min(img.shape[0], img.shape[1]) // 4)
    k = cv2.resize(k, (side, side), interpolation=cv2.INTER_NEAREST)
    img[2:2 + side, 2:2 + side] = (np.repeat(k[:, :, None], 3, axis=2) * 255).astype(np.uint8)
    cv2.rectangle(img, (1, 1), (3 + side, 3 + side), (0, 200, 0), 1)
    cv2.putText(img, label, (4, img.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, label, (4, img.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--unroll", default="build/unroll")
    p.add_argument("--photos", required=True)
    p.add_argument("--names", required=True, help="comma-separated photo names without extension")
    p.add_argument("--method", default="hqs-tv")
    p.add_argument("--noise", default="2.55",
                   help="noise level (0-255) for both deconvolutions, so they differ only by the kernel "
                        "(2.55 = the floor unroll assumes after an estimate; '' = each run's own)")
    p.add_argument("--out", required=True)
    p.add_argument("--work", default="", help="folder for the intermediate images (default: a temporary one)")
    a = p.parse_args()
    if not a.work:
        a.work = tempfile.mkdtemp(prefix="unroll_real_grid_")
    os.makedirs(a.out, exist_ok=True)
    for name in a.names.split(","):
        photo = next((os.path.join(a.photos, name + e) for e in (".png", ".jpg") if os.path.exists(os.path.join(a.photos, name + e))), None)
        if photo is None:
            sys.exit(f"error: {a.photos}: no {name}.png or {name}.jpg")
        published = os.path.join(a.photos, name + "_kernel.png")
        work = os.path.join(a.work, name)
        os.makedirs(work, exist_ok=True)
        with open(os.path.join(a.out, name + ".log"), "w") as log:
            noise = ["--noise", a.noise] if a.noise else []
            run([a.unroll, "deblur", "-i", photo, "--kernel", "estimate", "-m", a.method, "-o", f"{work}/ours.png",
                 "--save-kernel", f"{work}/ours_kernel.png"] + noise, log)
            run([a.unroll, "deblur", "-i", photo, "-k", published, "-m", a.method, "-o", f"{work}/published.png"] + noise,
                log)
        blurred = cv2.imread(photo, cv2.IMREAD_COLOR)
        ours = cv2.imread(f"{work}/ours.png", cv2.IMREAD_COLOR)
        theirs = cv2.imread(f"{work}/published.png", cv2.IMREAD_COLOR)
        shown = blurred.copy()
        cv2.putText(shown, "blurred", (4, shown.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(shown, "blurred", (4, shown.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                    cv2.LINE_AA)
        row = np.hstack([shown,
                         np.full((blurred.shape[0], 4, 3), 255, np.uint8),
                         with_kernel(ours, f"{work}/ours_kernel.png", f"{a.method}, estimated kernel"),
                         np.full((blurred.shape[0], 4, 3), 255, np.uint8),
                         with_kernel(theirs, published, f"{a.method}, published kernel")])
        cv2.imwrite(os.path.join(a.out, name + ".jpg"), row, [cv2.IMWRITE_JPEG_QUALITY, 88])
        print(os.path.join(a.out, name + ".jpg"))


if __name__ == "__main__":
    main()
