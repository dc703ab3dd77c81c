"""Shared set-up of the Python binding tests (run by CTest with PYTHONPATH=build/python)."""

import os
import subprocess
import tempfile
import unittest

import torch

import unroll

SOURCE_DIR = os.environ.get("UNROLL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
UNROLL_EXE = os.environ.get("UNROLL_EXE", "")
SAMPLE = os.path.join(SOURCE_DIR, "data", "sample")


def sample_pair(size=96, noise=2.55, grey=False):
    """A size x size crop of the bundled sample, blurred circularly by its kernel plus noise (seed 0)."""
    sharp = unroll.read_image(os.path.join(SAMPLE, "astronaut.png"), grey=grey)
    top = (sharp.shape[2] - size) // 2
    left = (sharp.shape[3] - size) // 2
    sharp = sharp[:, :, top:top + size, left:left + size].contiguous()
    kernel = unroll.read_kernel(os.path.join(SAMPLE, "motion17.csv")).float()
    blurred = unroll.blur(sharp, kernel, "circular", noise=noise, seed=0)
    return sharp, blurred, kernel


def run_cli(*args):
    """Runs the built `unroll` with the threads of this process (results must not depend on a thread
    count), returning its stdout; a failure fails the test with its stderr."""
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
    proc = subprocess.run([UNROLL_EXE, *map(str, args)], capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"unroll {' '.join(map(str, args))} failed ({proc.returncode}): {proc.stderr}")
    return proc.stdout


needs_cli = unittest.skipUnless(UNROLL_EXE and os.path.exists(UNROLL_EXE), "the unroll executable was not built")


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="unroll-py-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)
