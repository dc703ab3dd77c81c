"""Unroll from Python: classical and learned deblurring on torch tensors.

The same C++ library as the ``unroll`` command line, bound with pybind11: every function here calls the
code the CLI runs, so both give the same numbers. Images are float32 or float64 torch tensors in [0, 1],
shaped [H, W], [C, H, W] or [N, C, H, W] (C = 1 grey or 3 RGB), on the CPU or a CUDA device; kernels
are [kh, kw] (or [N, 1, kh, kw]) non-negative tensors summing to 1. Noise levels are standard
deviations on the 0-255 scale, as the CLI's ``--noise`` (2.55 = 1 % of the range).

Errors in the input raise ValueError with the CLI's message; LibTorch failures raise RuntimeError.
See docs/python.md.
"""

import csv as _csv
import io as _io
import json as _json
import os as _os
import re as _re

import torch  # noqa: F401  (loads LibTorch and its tensor type before the extension)

from . import _C
from . import metrics

__all__ = [
    "deblur", "methods", "load_model", "Model", "data_step", "FourierDataStep", "blur", "rotational_blur",
    "estimate_kernel", "estimate_noise", "read_image", "write_image", "read_kernel", "eval", "evaluate",
    "as_image", "metrics",
]


def methods():
    """The method registry, as ``unroll methods`` prints it: one dict per method with its name, summary,
    kind ('classical', 'learned', 'blind'), needs_kernel, rotational, shipped_model, needs_weights and
    params (name, type, default, derived, help, min, max, range)."""
    return _C.methods()


def _bytes(value):
    """A memory budget: a number of bytes, or a string such as '512M' or '4G'."""
    if isinstance(value, str):
        match = _re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)i?B?\s*", value, _re.IGNORECASE)
        if not match:
            raise ValueError(f"max_memory: expected bytes or a size such as 4G, got '{value}'")
        scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[match.group(2).upper()]
        return float(match.group(1)) * scale
    return float(value)


def deblur(y, kernel=None, method="unrolled", noise=None, *, boundary="liu-jia", weights=None, prior=None,
           rotation=None, kernel_size=0, grid=None, refine_kernel=0, tile=0, tile_overlap=-1, max_memory=0,
           return_kernel=False, **params):
    """Restores the blurred image ``y`` with a registered method; returns a tensor of y's shape, dtype
    and device (with return_kernel=True: the pair (image, kernel), see below).

    kernel: the blur kernel (a tensor), None for blind methods and rotational blur, or 'estimate' /
        'estimate-local' to estimate it from y first (then deconvolve with ``method``).
    method: a name from methods(): 'wiener', 'rl', 'admm', 'hqs-tv', 'pnp', 'unrolled', 'usrnet',
        'convir', ...
    noise: noise sigma on the 0-255 scale; None = estimated from the image.
    boundary: 'liu-jia' (real photos, the default), 'circular' (circularly blurred data), 'replicate',
        'reflect', 'taper'.
    weights / prior: a checkpoint for learned methods (official .pth files load); the pnp prior.
    rotation: rotational blur instead of a kernel: dict(angle=DEGREES or rpm=..., exposure=SECONDS,
        centre=(x, y) (default: the image centre), span='centred'|'forward', mask=TENSOR).
    kernel_size: with kernel='estimate' / 'estimate-local': the kernel side, odd (0 = automatic).
    grid: with kernel='estimate-local': (rows, cols) of tiles, each with its own kernel (default (2, 3)).
    refine_kernel: with a kernel tensor: refine it against y with this many estimator alternations first
        (the CLI's --refine-kernel; for a kernel known to be only roughly right; 0 = use it as given).
    tile, tile_overlap, max_memory: tiling, as the CLI's --tile, --tile-overlap, --max-memory.
    return_kernel: also return the kernel the method deconvolved with (the CLI's --save-kernel): the
        estimate with kernel='estimate' ([k, k]; 'estimate-local': [rows, cols, k, k]), the refined kernel
        with refine_kernel, the blind unrolled
        network's own, the given one, or None (end-to-end networks, rotational blur).
    **params: the method's parameters (iters=50, lambda=0.003, ...), checked against the registry.
    """
    image, used_kernel = _C.deblur(y, kernel, method, None if noise is None else float(noise), boundary,
                                   weights or "", prior or "", params, rotation, int(kernel_size),
                                   None if grid is None else (int(grid[0]), int(grid[1])), int(tile),
                                   int(tile_overlap), _bytes(max_memory), int(refine_kernel))
    return (image, used_kernel) if return_kernel else image


class Model:
    """A loaded learned method: ``model(y, kernel, noise=None, **options)`` deblurs with it.

    The checkpoint is read once, when the Model is made (a missing or corrupt file raises then), and
    stays cached for every call. Created by load_model()."""

    def __init__(self, method, weights=None, prior=None):
        self.method = method
        self.weights = weights
        self.prior = prior
        _C.load_model(method, weights or "", prior or "")

    def __call__(self, y, kernel=None, noise=None, **options):
        return deblur(y, kernel, self.method, noise, weights=self.weights, prior=self.prior, **options)

    def __repr__(self):
        return f"unroll.Model(method={self.method!r}, weights={self.weights!r}, prior={self.prior!r})"


def load_model(path=None, method=None, prior=None):
    """Loads a checkpoint for a learned method and returns a callable Model.

    path: a checkpoint (Unroll's own, or the official USRNet / DRUNet / ConvIR files), or None for the
        method's shipped model.
    method: the method that runs it ('unrolled', 'usrnet', 'pnp', 'convir', 'atrous', ...); may be left
        out for the shipped models (models/unrolled_small.pth, convir_small.pth, ...), which say it by
        their name.
    prior: for pnp, the prior family the checkpoint holds ('drunet' default with weights, 'resunet', ...).
    """
    if method is None:
        if path is None:
            raise ValueError("load_model: give a checkpoint path, a method, or both")
        base = _os.path.basename(str(path))
        owners = [m["name"] for m in _C.methods() if m["shipped_model"] == base]
        if not owners:
            names = ", ".join(m["name"] for m in _C.methods() if m["kind"] != "classical")
            raise ValueError(f"load_model: say which method runs '{path}' (method= one of {names})")
        method = owners[0]
    return Model(method, None if path is None else str(path), prior)


def data_step(y, kernel, z, alpha):
    """Unroll's closed-form FFT data step, differentiable in every argument:

        x = argmin_x ||k * x - y||^2 + alpha ||x - z||^2
          = F^-1[(conj(K) F(y) + alpha F(z)) / (|K|^2 + alpha)]     (circular boundary)

    y, z: [N, C, H, W]; kernel: [kh, kw] or [N, 1, kh, kw]; alpha: a number, a 0-dim tensor or one per
    sample [N, 1, 1, 1]."""
    if not isinstance(alpha, torch.Tensor):
        alpha = torch.tensor(float(alpha), dtype=y.dtype, device=y.device)
    return _C.data_step(y, kernel, z, alpha)


class FourierDataStep(torch.nn.Module):
    """data_step() as a torch.nn.Module, for use inside a network: forward(y, kernel, z, alpha). With
    ``learn_alpha=True`` alpha is a trainable parameter (log-parametrised, starting at ``alpha``) and
    forward takes (y, kernel, z)."""

    def __init__(self, alpha=None, learn_alpha=False):
        super().__init__()
        self.learn_alpha = learn_alpha
        if learn_alpha:
            import math
            self.log_alpha = torch.nn.Parameter(torch.tensor(math.log(alpha if alpha is not None else 0.01)))

    def forward(self, y, kernel, z, alpha=None):
        if self.learn_alpha:
            if alpha is not None:
                raise ValueError("FourierDataStep(learn_alpha=True) takes no alpha in forward")
            alpha = self.log_alpha.exp().to(y.dtype)
        elif alpha is None:
            raise ValueError("FourierDataStep.forward needs alpha (or learn_alpha=True)")
        return data_step(y, kernel, z, alpha)


def blur(x, kernel, boundary="circular", noise=0.0, seed=0):
    """Blurs x with kernel: boundary 'circular' (periodic, as DPIR's protocol), 'same' (zero outside the
    image) or 'valid' (only pixels whose kernel lies inside: smaller output); then adds Gaussian noise
    of sigma ``noise`` (0-255 scale) drawn from ``seed`` (the same draw as ``unroll synth``)."""
    return _C.blur(x, kernel, boundary, float(noise), int(seed))


def rotational_blur(x, angle=None, *, rpm=None, exposure=None, centre=None, span="centred", mask=None):
    """Motion blur of a part spinning about ``centre`` (x, y pixels; default the image centre) through
    ``angle`` degrees, or at ``rpm`` during ``exposure`` seconds. With ``mask`` only the masked part
    moves over a static background."""
    if (angle is None) == (rpm is None or exposure is None):
        raise ValueError("rotational_blur: give angle (degrees), or rpm and exposure (seconds)")
    if angle is None:
        angle = 360.0 * float(rpm) / 60.0 * float(exposure)
    return _C.rotational_blur(x, float(angle), None if centre is None else tuple(map(float, centre)), span, mask)


def estimate_kernel(y, kernel_size=0, noise=None, dark_channel=False, *, init=None, refine=4):
    """Estimates the blur kernel of y (coarse-to-fine L0 MAP, as ``unroll estimate-kernel``): a
    [k, k] tensor. kernel_size 0 = chosen automatically; noise on the 0-255 scale (None: estimated).
    init: a rough kernel to refine against y instead (``estimate-kernel --init``, ``refine``
    alternations; the result is larger by a margin and keeps init's centre)."""
    return _C.estimate_kernel(y, int(kernel_size), None if noise is None else float(noise), bool(dark_channel),
                              init, int(refine))


def estimate_noise(y):
    """The noise sigma of y on the 0-255 scale (Immerkaer's estimate, what methods use without noise=)."""
    return _C.estimate_noise(y)


def as_image(x):
    """x as Unroll's functions see it: checked (float32/float64, 2-4 dims, finite, cpu or cuda) and
    contiguous. A contiguous tensor comes back as the same tensor (no copy)."""
    return _C.as_image(x)


def read_image(path, grey=False, rgb=False):
    """Reads an image file (PNG, JPEG, TIFF, BMP, ...; 8/16-bit or float) as float32 [1, C, H, W] in [0, 1]."""
    return _C.read_image(str(path), bool(grey), bool(rgb))


def write_image(path, x, bits=8):
    """Writes x ([C, H, W] or [1, C, H, W] in [0, 1]) atomically as an 8- or 16-bit image."""
    _C.write_image(str(path), x, int(bits))


def read_kernel(path):
    """Reads a kernel: CSV/text exactly, an image normalised to sum 1. A float64 [kh, kw] tensor."""
    return _C.read_kernel(str(path))


def eval(data, methods=("wiener", "rl", "admm", "hqs-tv"), *, noise=2.55, limit=0, out=None, params=None,
         weights=None, prior=None, kernel="given", boundary=None, metric=None, device="cpu", save_images=False,
         grids=3, progress=False):
    """Runs the evaluation harness (``unroll eval``) and returns its summary.json as a dict, plus
    ``rows``: results.csv as a list of dicts (one per case and method; numbers as floats), ready for
    ``pandas.DataFrame(summary["rows"])``.

    data: one data string or a list ('dpir:IMAGES:KERNELS', 'synthetic:DIR,kernels=levin,noise=2.55',
        'gopro:PATH', 'folder:DIR', ...). methods: names from methods(). params: {method: {name: value}}.
    weights: a checkpoint for every learned method, or {method: checkpoint}. out: also write results.csv,
    summary.md, summary.json (and grids, images with save_images) there.
    """
    if isinstance(data, str):
        data = [data]
    if isinstance(methods, str):
        methods = [m for m in methods.split(",") if m]
    if weights is None:
        weights = {}
    elif not isinstance(weights, dict):
        weights = {"": str(weights)}
    summary, rows = _C.evaluate(list(data), list(methods), dict(params or {}), {k: str(v) for k, v in weights.items()},
                          prior or "", float(noise), int(limit), "" if out is None else str(out), kernel,
                          boundary or "", metric or "", device, bool(save_images), int(grids), bool(progress))
    result = _json.loads(summary)
    result["rows"] = [{k: _number(k, v) for k, v in row.items()} for row in _csv.DictReader(_io.StringIO(rows))]
    return result


def _number(column, value):
    if column in ("dataset", "case", "method", "status", "error"):
        return value
    return float(value) if value not in ("", "nan") else float("nan")


evaluate = eval
