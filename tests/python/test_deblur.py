"""unroll.deblur and friends: agreement with the CLI, tensor handling, errors."""

import os
import subprocess
import sys
import unittest

import torch

import unroll
from common import SAMPLE, SOURCE_DIR, TempDirTest, needs_cli, run_cli, sample_pair


class AgreesWithTheCli(TempDirTest):
    """The binding runs the CLI's code: the same input file gives the same float output (--bits 32)."""

    def compare(self, method, tolerance, extra_cli=(), **params):
        _, blurred, _ = sample_pair()
        y_path, out_path = self.path("y.tif"), self.path("x.tif")
        unroll.write_image(y_path, blurred, bits=32)
        kernel = os.path.join(SAMPLE, "motion17.csv")
        args = ["deblur", "-i", y_path, "-m", method, "--noise", "2.55", "--boundary", "liu-jia", "--bits", "32",
                "-o", out_path, *extra_cli]
        if method not in ("convir",):
            args += ["-k", kernel]
        for name, value in params.items():
            args += ["--param", f"{name}={value}"]
        run_cli(*args)
        cli = unroll.read_image(out_path)
        y = unroll.read_image(y_path)
        k = unroll.read_kernel(kernel) if method != "convir" else None
        py = unroll.deblur(y, k, method, noise=2.55, **params)
        self.assertEqual(py.shape, cli.shape)
        self.assertEqual(py.dtype, torch.float32)
        diff = (py - cli).abs().max().item()
        if tolerance == 0:
            self.assertEqual(diff, 0.0, f"{method}: Python and CLI differ by {diff}")
        else:
            self.assertLessEqual(diff, tolerance, f"{method}: Python and CLI differ by {diff}")
        return py

    @needs_cli
    def test_classical_methods_are_bit_identical(self):
        for method in ("wiener", "rl", "admm", "hqs-tv"):
            with self.subTest(method=method):
                self.compare(method, 0)

    @needs_cli
    def test_parameters_reach_the_method(self):
        a = self.compare("admm", 0, iters=5)
        _, blurred, kernel = sample_pair()
        y = unroll.read_image(self.path("y.tif"))
        b = unroll.deblur(y, unroll.read_kernel(os.path.join(SAMPLE, "motion17.csv")), "admm", noise=2.55, iters=40)
        self.assertGreater((a - b).abs().max().item(), 1e-4)

    @needs_cli
    def test_learned_methods_agree_to_1e6(self):
        for method in ("unrolled", "convir"):
            with self.subTest(method=method):
                self.compare(method, 1e-6)


class Tensors(unittest.TestCase):
    def setUp(self):
        self.sharp, self.y, self.k = sample_pair(size=64)

    def test_contiguous_float32_cpu_tensors_are_not_copied(self):
        x = self.y.contiguous()
        self.assertEqual(unroll.as_image(x).data_ptr(), x.data_ptr())
        grey = x[0, 0]
        self.assertEqual(unroll.as_image(grey).data_ptr(), grey.data_ptr())

    def test_non_contiguous_and_channels_last_give_the_same_result(self):
        ref = unroll.deblur(self.y, self.k, "wiener", noise=2.55)
        strided = self.y.transpose(2, 3).contiguous().transpose(2, 3)
        self.assertFalse(strided.is_contiguous())
        cl = self.y.contiguous(memory_format=torch.channels_last)
        for name, x in (("strided", strided), ("channels_last", cl)):
            with self.subTest(layout=name):
                self.assertNotEqual(unroll.as_image(x).data_ptr(), x.data_ptr())  # copied, then used
                out = unroll.deblur(x, self.k, "wiener", noise=2.55)
                self.assertTrue(torch.equal(out, ref))

    def test_float64_is_computed_in_float64(self):
        out = unroll.deblur(self.y.double(), self.k.double(), "admm", noise=2.55, iters=10)
        self.assertEqual(out.dtype, torch.float64)
        out32 = unroll.deblur(self.y, self.k, "admm", noise=2.55, iters=10)
        self.assertLess((out.float() - out32).abs().max().item(), 1e-3)

    def test_a_batch_gives_each_image_its_own_result(self):
        batch = torch.cat([self.y, self.y.flip(3)])
        for method in ("wiener", "admm", "unrolled"):
            with self.subTest(method=method):
                out = unroll.deblur(batch, self.k, method, noise=2.55)
                self.assertEqual(out.shape, batch.shape)
                one = unroll.deblur(self.y, self.k, method, noise=2.55)
                self.assertLess((out[:1] - one).abs().max().item(), 1e-5)

    def test_shapes_are_kept(self):
        grey = self.y[0, 0]
        self.assertEqual(unroll.deblur(grey, self.k, "wiener", noise=2.55).shape, grey.shape)
        chw = self.y[0]
        self.assertEqual(unroll.deblur(chw, self.k, "wiener", noise=2.55).shape, chw.shape)

    def test_integer_and_half_tensors_are_refused_with_advice(self):
        with self.assertRaisesRegex(ValueError, r"y: expected a float32 or float64 tensor.*x.float\(\) / 255"):
            unroll.deblur((self.y * 255).to(torch.uint8), self.k, "wiener")
        with self.assertRaisesRegex(ValueError, "y: expected a float32 or float64 tensor"):
            unroll.deblur(self.y.half(), self.k, "wiener")

    def test_another_device_is_refused(self):
        with self.assertRaisesRegex(ValueError, "y: a tensor on meta; Unroll runs on cpu and cuda"):
            unroll.deblur(torch.empty(1, 3, 16, 16, device="meta"), self.k, "wiener")

    @unittest.skipUnless(torch.cuda.is_available(), "no CUDA device")
    def test_cuda_tensors_run_on_cuda(self):
        out = unroll.deblur(self.y.cuda(), self.k.cuda(), "admm", noise=2.55, iters=10)
        self.assertTrue(out.is_cuda)
        ref = unroll.deblur(self.y, self.k, "admm", noise=2.55, iters=10)
        self.assertLess((out.cpu() - ref).abs().max().item(), 1e-4)
        with self.assertRaisesRegex(ValueError, "kernel: the kernel is on cpu, the image on cuda"):
            unroll.deblur(self.y.cuda(), self.k, "wiener")

    def test_bad_input_raises(self):
        cases = [
            ("wrong shape", lambda: unroll.deblur(torch.rand(5), self.k, "wiener"), r"expected shape \[H,W\]"),
            ("NaN", lambda: unroll.deblur(self.y.clone().index_fill_(3, torch.tensor([3]), float("nan")), self.k,
                                          "wiener"), "NaN"),
            ("unknown method", lambda: unroll.deblur(self.y, self.k, "nope"), "unknown method 'nope'"),
            ("no kernel", lambda: unroll.deblur(self.y, None, "admm"), "needs a kernel"),
            ("bad parameter", lambda: unroll.deblur(self.y, self.k, "admm", iters=0), "iters"),
            ("unknown parameter", lambda: unroll.deblur(self.y, self.k, "admm", bogus=1), "bogus"),
            ("parameter type", lambda: unroll.deblur(self.y, self.k, "admm", iters="many"), "expected a number"),
            ("noise", lambda: unroll.deblur(self.y, self.k, "admm", noise=1e30), r"noise must be .* \[0, 255\]"),
            ("negative kernel", lambda: unroll.deblur(self.y, -self.k, "admm"), "non-negative"),
            ("boundary", lambda: unroll.deblur(self.y, self.k, "admm", boundary="mirror"), "mirror"),
            ("kernel source", lambda: unroll.deblur(self.y, "guess", "admm"), "'estimate'"),
            ("rotation key", lambda: unroll.deblur(self.y, None, "hqs-tv", rotation={"spin": 3}), "unknown key"),
            ("kernel for a blind method", lambda: unroll.deblur(self.y, self.k, "convir"), "is blind"),
        ]
        for name, call, pattern in cases:
            with self.subTest(case=name):
                with self.assertRaisesRegex(ValueError, pattern):
                    call()

    def test_missing_and_corrupt_checkpoints_raise(self):
        with self.assertRaisesRegex(ValueError, "no-such.pth"):
            unroll.load_model("/nonexistent/no-such.pth", method="unrolled")
        import tempfile
        with tempfile.NamedTemporaryFile(suffix=".pth") as f:
            f.write(os.urandom(4096))
            f.flush()
            with self.assertRaises((ValueError, RuntimeError)):
                unroll.load_model(f.name, method="convir")
            with self.assertRaises((ValueError, RuntimeError)):
                unroll.deblur(self.y, self.k, "unrolled", weights=f.name)
        with self.assertRaisesRegex(ValueError, "say which method"):
            unroll.load_model("/somewhere/model.pth")

    def test_a_crash_would_be_seen(self):
        # Bad input in a fresh interpreter: an exception and exit 1, not a signal.
        code = ("import torch, unroll\n"
                "try:\n unroll.deblur(torch.full((1,1,8,8), float('inf')), torch.ones(3,3)/9, 'wiener')\n"
                "except ValueError as e:\n print('caught', e)\n raise SystemExit(1)\n")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("caught y:", proc.stdout)


class Interrupt(unittest.TestCase):
    def test_ctrl_c_stops_a_long_call(self):
        # 10^6 Richardson-Lucy iterations would take hours; SIGINT must end the call within seconds with
        # KeyboardInterrupt, the interpreter intact.
        code = ("import os, signal, threading, time, torch, unroll\n"
                "threading.Timer(2.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
                "t = time.time()\n"
                "try:\n"
                "    unroll.deblur(torch.rand(1, 1, 64, 64), torch.ones(5, 5) / 25, 'rl', iters=1000000)\n"
                "except KeyboardInterrupt:\n"
                "    print('interrupted after %.1f s' % (time.time() - t))\n")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("interrupted after", proc.stdout)
        self.assertLess(float(proc.stdout.split()[2]), 30.0)


class Models(unittest.TestCase):
    def test_shipped_model_by_name_is_a_callable_that_matches_deblur(self):
        _, y, k = sample_pair(size=64)
        model = unroll.load_model(os.path.join(SOURCE_MODELS, "unrolled_small.pth"))
        self.assertEqual(model.method, "unrolled")
        a = model(y, k, noise=2.55)
        b = unroll.deblur(y, k, "unrolled", noise=2.55, weights=model.weights)
        self.assertTrue(torch.equal(a, b))
        blind = unroll.load_model(method="convir")
        self.assertEqual(blind(y).shape, y.shape)

    def test_methods_lists_the_registry(self):
        ms = {m["name"]: m for m in unroll.methods()}
        for name in ("wiener", "rl", "admm", "hqs-tv", "pnp", "unrolled", "usrnet", "convir"):
            self.assertIn(name, ms)
        self.assertEqual(ms["admm"]["kind"], "classical")
        self.assertTrue(ms["admm"]["needs_kernel"])
        self.assertFalse(ms["convir"]["needs_kernel"])
        iters = [p for p in ms["admm"]["params"] if p["name"] == "iters"][0]
        self.assertEqual(iters["type"], "integer")
        self.assertGreater(iters["default"], 0)

    @needs_cli
    def test_methods_are_the_clis(self):
        names = [m["name"] for m in unroll.methods()]
        listed = run_cli("methods")
        for name in names:
            self.assertIn(name, listed)


class Estimation(TempDirTest):
    """Blind estimation from Python is the CLI's: the same kernel, the same deconvolution."""

    @needs_cli
    def test_estimate_kernel_and_deblur_agree_with_the_cli(self):
        _, blurred, _ = sample_pair(size=128, noise=1.0)
        y_path = self.path("y.tif")
        unroll.write_image(y_path, blurred, bits=32)
        y = unroll.read_image(y_path)
        run_cli("estimate-kernel", "-i", y_path, "-o", self.path("k.png"), "--kernel-size", "17", "--noise", "1")
        cli_kernel = unroll.read_kernel(self.path("k.csv"))
        k = unroll.estimate_kernel(y, kernel_size=17, noise=1.0)
        self.assertEqual(tuple(k.shape), (17, 17))
        self.assertAlmostEqual(k.sum().item(), 1.0, places=5)
        self.assertLess((k.double() - cli_kernel).abs().max().item(), 1e-7)
        run_cli("deblur", "-i", y_path, "--kernel", "estimate", "--kernel-size", "17", "-m", "hqs-tv", "--noise", "1",
                "--bits", "32", "-o", self.path("x.tif"))
        x = unroll.deblur(y, "estimate", "hqs-tv", noise=1.0, kernel_size=17)
        self.assertTrue(torch.equal(x, unroll.read_image(self.path("x.tif"))))
        # return_kernel: the same image and the CLI's estimate (its --save-kernel).
        x2, k2 = unroll.deblur(y, "estimate", "hqs-tv", noise=1.0, kernel_size=17, return_kernel=True)
        self.assertTrue(torch.equal(x2, x))
        self.assertLess((k2.double() - cli_kernel).abs().max().item(), 1e-7)

    def test_return_kernel_gives_the_kernel_each_method_used(self):
        _, blurred, kernel = sample_pair(size=96, noise=1.0)
        x, k = unroll.deblur(blurred, kernel, "wiener", noise=1.0, return_kernel=True)
        self.assertTrue(torch.equal(k.reshape(kernel.shape).to(kernel.dtype), kernel))
        x, k = unroll.deblur(blurred, "estimate-local", "wiener", kernel_size=9, grid=(1, 2), noise=1.0,
                             return_kernel=True)
        self.assertEqual(tuple(k.shape), (1, 2, 9, 9))
        self.assertTrue(torch.allclose(k.sum(dim=(2, 3)), torch.ones(1, 2, dtype=k.dtype), atol=1e-5))
        # The blind unrolled network estimates its own kernel (non-negative, sum 1); ConvIR has none.
        x, k = unroll.deblur(blurred, None, "unrolled-blind", return_kernel=True)
        self.assertEqual(x.shape, blurred.shape)
        self.assertEqual(k.dim(), 2)
        self.assertGreaterEqual(k.min().item(), 0.0)
        self.assertAlmostEqual(k.sum().item(), 1.0, places=4)
        x, k = unroll.deblur(blurred, None, "convir", return_kernel=True)
        self.assertIsNone(k)

    @needs_cli
    def test_refine_kernel_agrees_with_the_cli(self):
        _, blurred, kernel = sample_pair(size=128, noise=1.0)
        y_path, k_path = self.path("y.tif"), self.path("k0.csv")
        unroll.write_image(y_path, blurred, bits=32)
        y = unroll.read_image(y_path)
        rough = kernel.reshape(kernel.shape[-2:]).double()
        rough = torch.nn.functional.pad(rough, (1, 1, 1, 1))
        with open(k_path, "w") as f:
            f.write("\n".join(",".join(repr(float(v)) for v in row) for row in rough.tolist()) + "\n")
        run_cli("deblur", "-i", y_path, "--kernel", k_path, "--refine-kernel", "2", "-m", "hqs-tv", "--noise", "1",
                "--bits", "32", "-o", self.path("x.tif"), "--save-kernel", self.path("kr.csv"))
        x, k = unroll.deblur(y, unroll.read_kernel(k_path).float(), "hqs-tv", noise=1.0, refine_kernel=2,
                             return_kernel=True)
        self.assertTrue(torch.equal(x, unroll.read_image(self.path("x.tif"))))
        self.assertLess((k.double() - unroll.read_kernel(self.path("kr.csv"))).abs().max().item(), 1e-7)
        self.assertGreater(k.shape[0], rough.shape[0])  # the refinement margin
        # estimate_kernel(init=...) is `estimate-kernel --init`.
        run_cli("estimate-kernel", "-i", y_path, "--init", k_path, "--refine-kernel", "2", "--noise", "1",
                "-o", self.path("ki.csv"))
        ki = unroll.estimate_kernel(y, noise=1.0, init=unroll.read_kernel(k_path).float(), refine=2)
        self.assertLess((ki.double() - unroll.read_kernel(self.path("ki.csv"))).abs().max().item(), 1e-7)
        with self.assertRaisesRegex(ValueError, "init: refinement starts from one kernel, got 2"):
            unroll.estimate_kernel(y, noise=1.0, init=rough.float().expand(2, 1, *rough.shape))
        with self.assertRaisesRegex(ValueError, "init refines one given kernel"):
            unroll.estimate_kernel(y, kernel_size=9, init=rough.float())
        with self.assertRaisesRegex(ValueError, "refine_kernel needs a kernel tensor"):
            unroll.deblur(y, "estimate", "hqs-tv", refine_kernel=2)
        with self.assertRaisesRegex(ValueError, "refine_kernel must be in"):
            unroll.deblur(y, rough.float(), "hqs-tv", refine_kernel=-1)

    def test_local_estimates_take_a_grid(self):
        _, blurred, _ = sample_pair(size=128, noise=1.0)
        x = unroll.deblur(blurred, "estimate-local", "wiener", kernel_size=9, grid=(1, 2), noise=1.0)
        self.assertEqual(x.shape, blurred.shape)
        with self.assertRaisesRegex(ValueError, "grid needs kernel='estimate-local'"):
            unroll.deblur(blurred, "estimate", "wiener", grid=(1, 2))
        with self.assertRaisesRegex(ValueError, "kernel_size needs kernel="):
            unroll.deblur(blurred, torch.ones(3, 3) / 9, "wiener", kernel_size=9)


class Rotation(unittest.TestCase):
    def test_rotational_blur_and_its_solver(self):
        sharp, _, _ = sample_pair(size=96)
        y = unroll.rotational_blur(sharp, rpm=1200, exposure=0.002)  # 14.4 degrees
        self.assertEqual(y.shape, sharp.shape)
        self.assertTrue(torch.allclose(y, unroll.rotational_blur(sharp, 14.4)))
        x = unroll.deblur(y, None, "hqs-tv", noise=0.5, rotation=dict(rpm=1200, exposure=0.002))
        self.assertGreater(unroll.metrics.psnr(x, sharp), unroll.metrics.psnr(y, sharp) + 1.0)


SOURCE_MODELS = os.path.join(SOURCE_DIR, "models")

if __name__ == "__main__":
    unittest.main()
