"""The differentiable data step, blur and metrics from Python, against references."""

import unittest

import numpy as np
import torch

import unroll
from common import sample_pair


def psf2otf(k, h, w):
    """Reference: the kernel zero-padded to h x w with its centre (kh//2, kw//2) rolled to (0, 0)."""
    pad = torch.zeros(*k.shape[:-2], h, w, dtype=k.dtype)
    kh, kw = k.shape[-2:]
    pad[..., :kh, :kw] = k
    pad = torch.roll(pad, shifts=(-(kh // 2), -(kw // 2)), dims=(-2, -1))
    return torch.fft.rfft2(pad)


def reference_data_step(y, k, z, alpha):
    """x = F^-1[(conj(K)F(y) + a F(z)) / (|K|^2 + a)] in plain PyTorch."""
    K = psf2otf(k, y.shape[-2], y.shape[-1])
    num = torch.conj(K) * torch.fft.rfft2(y) + alpha * torch.fft.rfft2(z)
    return torch.fft.irfft2(num / (K.abs() ** 2 + alpha), s=y.shape[-2:])


class DataStep(unittest.TestCase):
    def setUp(self):
        g = torch.Generator().manual_seed(0)
        self.y = torch.rand(2, 3, 12, 10, generator=g, dtype=torch.float64)
        self.z = torch.rand(2, 3, 12, 10, generator=g, dtype=torch.float64)
        k = torch.rand(5, 3, generator=g, dtype=torch.float64)
        self.k = k / k.sum()

    def test_matches_a_pure_pytorch_reference(self):
        for alpha in (0.01, 0.5):
            x = unroll.data_step(self.y, self.k, self.z, alpha)
            ref = reference_data_step(self.y, self.k, self.z, alpha)
            self.assertLess((x - ref).abs().max().item(), 1e-12)

    def test_gradients_match_finite_differences(self):
        y = self.y.clone().requires_grad_()
        z = self.z.clone().requires_grad_()
        k = self.k.clone().requires_grad_()
        a = torch.tensor(0.05, dtype=torch.float64, requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(lambda y, k, z, a: unroll.data_step(y, k, z, a), (y, k, z, a),
                                                 eps=1e-6, atol=1e-7))

    def test_gradients_match_the_reference(self):
        inputs = [t.clone().requires_grad_() for t in (self.y, self.k, self.z)]
        a = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
        w = torch.randn(2, 3, 12, 10, dtype=torch.float64)
        (unroll.data_step(*inputs[:2], inputs[2], a) * w).sum().backward()
        ours = [t.grad.clone() for t in inputs] + [a.grad.clone()]
        ref_inputs = [t.clone().requires_grad_() for t in (self.y, self.k, self.z)]
        ra = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
        (reference_data_step(*ref_inputs, ra) * w).sum().backward()
        theirs = [t.grad for t in ref_inputs] + [ra.grad]
        for o, t in zip(ours, theirs):
            self.assertLess((o - t).abs().max().item(), 1e-10)

    def test_module_learns_alpha(self):
        step = unroll.FourierDataStep(alpha=0.1, learn_alpha=True)
        y, z = self.y.float(), self.z.float()
        out = step(y, self.k.float(), z)
        out.sum().backward()
        self.assertIsNotNone(step.log_alpha.grad)
        self.assertTrue(torch.isfinite(step.log_alpha.grad))

    def test_bad_arguments_raise(self):
        with self.assertRaisesRegex(ValueError, "one shape"):
            unroll.data_step(self.y, self.k, self.z[:, :, :5], 0.1)
        with self.assertRaisesRegex(ValueError, "larger than the image"):
            unroll.data_step(self.y, torch.ones(20, 20, dtype=torch.float64) / 400, self.z, 0.1)


class Blur(unittest.TestCase):
    def test_circular_blur_matches_the_fft_reference(self):
        sharp, _, k = sample_pair(size=64, noise=0)
        y = unroll.blur(sharp, k, "circular")
        ref = torch.fft.irfft2(torch.fft.rfft2(sharp.double()) * psf2otf(k.double(), 64, 64), s=(64, 64))
        self.assertLess((y.double() - ref).abs().max().item(), 1e-5)

    def test_same_and_valid(self):
        sharp, _, k = sample_pair(size=64, noise=0)
        same = unroll.blur(sharp, k, "same")
        self.assertEqual(same.shape, sharp.shape)
        valid = unroll.blur(sharp, k, "valid")
        self.assertEqual(tuple(valid.shape[-2:]), (64 - 16, 64 - 16))
        self.assertLess((valid - same[..., 8:-8, 8:-8]).abs().max().item(), 1e-5)

    def test_noise_is_seeded(self):
        sharp, _, k = sample_pair(size=32, noise=0)
        a = unroll.blur(sharp, k, noise=7.65, seed=3)
        b = unroll.blur(sharp, k, noise=7.65, seed=3)
        c = unroll.blur(sharp, k, noise=7.65, seed=4)
        self.assertTrue(torch.equal(a, b))
        self.assertFalse(torch.equal(a, c))
        resid = (a - unroll.blur(sharp, k)).std().item()
        self.assertAlmostEqual(resid, 7.65 / 255, delta=0.004)
        self.assertAlmostEqual(unroll.estimate_noise(a), 7.65, delta=1.5)


class Metrics(unittest.TestCase):
    def test_psnr_and_ssim_match_scikit_image(self):
        try:
            from skimage.metrics import peak_signal_noise_ratio, structural_similarity
        except ImportError:
            self.skipTest("python3-skimage is not installed")
        sharp, y, _ = sample_pair(size=64)
        a = y[0].permute(1, 2, 0).double().numpy()
        b = sharp[0].permute(1, 2, 0).double().numpy()
        self.assertAlmostEqual(unroll.metrics.psnr(y, sharp), peak_signal_noise_ratio(b, a, data_range=1.0), places=6)
        ref_ssim = structural_similarity(b, a, channel_axis=2, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False)
        self.assertAlmostEqual(unroll.metrics.ssim(y.double(), sharp.double()).item(), ref_ssim, places=6)
        q = lambda t: np.round(np.clip(t, 0, 1) * 255) / 255
        self.assertAlmostEqual(unroll.metrics.psnr(y, sharp, round_8bit=True),
                               peak_signal_noise_ratio(q(b), q(a), data_range=1.0), places=6)

    def test_ssim_is_a_differentiable_loss(self):
        sharp, y, _ = sample_pair(size=32)
        x = y.clone().requires_grad_()
        loss = 1 - unroll.metrics.ssim(x, sharp)
        loss.backward()
        self.assertGreater(x.grad.abs().sum().item(), 0)

    def test_shape_mismatch_raises(self):
        with self.assertRaisesRegex(ValueError, "differ in shape"):
            unroll.metrics.psnr(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 9))


if __name__ == "__main__":
    unittest.main()
