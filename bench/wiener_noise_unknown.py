# Wiener without a noise level (noise=None: the balance by generalised cross-validation, gcv_wiener_nsr)
# against Wiener told the true noise level: Set3C x the 8 Levin kernels, circular blur, Gaussian noise
# 2.55 and 7.65 /255 (seeded per case), PSNR on 8-bit RGB. Needs ../shared and the Python module:
#   PYTHONPATH=build/python /usr/bin/python3 bench/wiener_noise_unknown.py
import sys, glob, os, numpy as np, torch, unroll
from PIL import Image
import torch.nn.functional as F
shared = os.environ.get('UNROLL_SHARED', os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
imgs = sorted(glob.glob(os.path.join(shared, 'data/eval/set3c/*.png')))
ks = sorted(glob.glob(os.path.join(shared, 'data/kernels/levin09/*.csv')))
if not imgs or not ks:
    sys.exit(f'error: no Set3C images or Levin kernels under {shared}/data (set UNROLL_SHARED)')
def blur_circ(x, k):
    kh = k.shape[0]; p = kh // 2
    xp = F.pad(x, (p, p, p, p), mode='circular')
    return F.conv2d(xp, torch.flip(k, [0, 1])[None, None].repeat(x.shape[1], 1, 1, 1), groups=x.shape[1])
for s255 in (2.55, 7.65):
    for noise in (None, s255):
        ps = []
        for ii, f in enumerate(imgs):
            x = torch.from_numpy(np.asarray(Image.open(f).convert('RGB'), dtype=np.float64) / 255).permute(2, 0, 1)[None]
            for ki, kf in enumerate(ks):
                k = torch.from_numpy(np.loadtxt(kf, delimiter=','))
                g = torch.Generator().manual_seed(ii * 8 + ki)
                y = (blur_circ(x, k) + s255 / 255 * torch.randn(x.shape, generator=g, dtype=torch.float64)).float()
                out = unroll.deblur(y, kernel=k.float(), method='wiener', noise=noise, boundary='circular')
                o = out[0] if isinstance(out, tuple) else out
                o = torch.round(o.clamp(0, 1) * 255) / 255
                mse = ((o.double() - x) ** 2).mean().item()
                ps.append(10 * np.log10(1 / mse))
        print(f"sigma {s255} noise={'given' if noise else 'unknown'}: mean PSNR {np.mean(ps):.3f}")
