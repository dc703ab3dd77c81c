"""Image quality metrics (the C++ ones behind ``unroll metrics`` and the harness).

Images are float tensors in [0, data_range], [H, W] / [C, H, W] / [N, C, H, W]; values are averaged over
the batch. ``round_8bit=True`` quantises both images to 8 bits first (the DPIR protocol, and the CLI's
default); the default here is float, as scikit-image and torch code measure.
"""

from . import _C


def psnr(x, ref, *, border=0, y_channel=False, round_8bit=False, data_range=1.0):
    """PSNR in dB (identical images give inf). border: pixels cropped on every side; y_channel: measure
    on BT.601 luma of RGB images."""
    return _C.psnr(x, ref, int(border), bool(y_channel), bool(round_8bit), float(data_range))


def ssim(x, ref, *, border=0, y_channel=False, round_8bit=False, data_range=1.0):
    """SSIM (Gaussian 11x11 window, sigma 1.5: scikit-image's gaussian_weights=True,
    use_sample_covariance=False). A 0-dim tensor, differentiable in x (usable as a loss)."""
    return _C.ssim(x, ref, int(border), bool(y_channel), bool(round_8bit), float(data_range))
