#!/usr/bin/env python3
"""Smoke test of a Python module built without OpenCV (a machine with a pip torch only).

    cmake -S . -B build-nocv -DUNROLL_WITH_OPENCV=OFF -DUNROLL_BUILD_TESTS=OFF && cmake --build build-nocv --target unroll_python
    PYTHONPATH=build-nocv/python python3 scripts/python_nocv_smoke.py [--device cuda]

Checks that every part the LibTorch-only module keeps works (methods, deblur with classical and learned
methods, kernel estimation and refinement, the data step's gradient, metrics, CSV kernels) and that the
parts needing OpenCV fail with a clear ValueError. Exits non-zero on the first failure.
"""
import argparse
import os
import sys
import tempfile

import torch

import unroll


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    device = torch.device(parser.parse_args().device)

    check(not unroll._C.has_opencv, "the module reports a build without OpenCV")
    names = {m["name"] for m in unroll.methods()}
    check({"wiener", "rl", "admm", "hqs-tv", "pnp", "unrolled", "convir"} <= names, "the registry has every method")

    torch.manual_seed(0)
    sharp = torch.nn.functional.interpolate(torch.rand(1, 3, 16, 16), size=(96, 96), mode="nearest").to(device)
    kernel = torch.zeros(9, 9, device=device)
    kernel[4, 1:8] = 1.0 / 7.0
    blurred = unroll.blur(sharp, kernel, noise=1.0, seed=0)
    before = unroll.metrics.psnr(blurred, sharp)
    for method in ("wiener", "hqs-tv", "unrolled"):
        x = unroll.deblur(blurred, kernel, method, noise=1.0, boundary="circular")
        check(x.shape == blurred.shape and x.device == blurred.device, f"{method} runs on {device}")
        check(unroll.metrics.psnr(x, sharp) > before, f"{method} improves on the blurred input")
    k = unroll.estimate_kernel(blurred, kernel_size=11, noise=1.0)
    check(tuple(k.shape) == (11, 11) and abs(k.sum().item() - 1.0) < 1e-4, "estimate_kernel gives a valid kernel")
    x, refined = unroll.deblur(blurred, kernel, "hqs-tv", noise=1.0, refine_kernel=2, return_kernel=True)
    check(refined.shape[0] > kernel.shape[0], "refine_kernel refines a given kernel")

    z = torch.rand_like(sharp, dtype=torch.float64, requires_grad=True)
    out = unroll.data_step(blurred.double(), kernel.double(), z, 0.1)
    out.sum().backward()
    check(z.grad is not None and torch.isfinite(z.grad).all().item(), "the data step has a gradient")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "k.csv")
        with open(path, "w") as f:
            f.write("0,1,0\n1,4,1\n0,1,0\n")
        check(abs(unroll.read_kernel(path).sum().item() - 1.0) < 1e-9, "read_kernel reads a CSV kernel")
        for name, call in (("read_image", lambda: unroll.read_image(os.path.join(tmp, "y.png"))),
                           ("write_image", lambda: unroll.write_image(os.path.join(tmp, "x.png"), x)),
                           ("eval", lambda: unroll.eval(["folder:" + tmp]))):
            try:
                call()
                sys.exit(f"FAILED: {name} should need OpenCV")
            except ValueError as e:
                check("needs OpenCV" in str(e), f"{name} says it needs OpenCV")
    print("all checks passed")


if __name__ == "__main__":
    main()
