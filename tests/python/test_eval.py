"""unroll.eval: the harness from Python gives the CLI's results."""

import csv
import os
import unittest

import unroll
from common import SAMPLE, TempDirTest, needs_cli, run_cli

TIMING = {"seconds", "metric_seconds", "kernel_seconds"}


def rows_without_timing(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(f)]


class Eval(TempDirTest):
    DATA = f"synthetic:{SAMPLE},kernels=motion,size=13,count=2,crop=64,noise=2.55,seed=1"

    @needs_cli
    def test_same_rows_as_the_cli(self):
        cli_out, py_out = self.path("cli"), self.path("py")
        run_cli("eval", "--data", self.DATA, "--methods", "wiener,admm,convir", "--param", "admm.iters=20",
                "--out", cli_out, "--grids", "0")
        summary = unroll.eval(self.DATA, ["wiener", "admm", "convir"], params={"admm": {"iters": 20}}, out=py_out,
                              grids=0)
        self.assertEqual(rows_without_timing(os.path.join(py_out, "results.csv")),
                         rows_without_timing(os.path.join(cli_out, "results.csv")))
        methods = {m["method"]: m for m in summary["datasets"][0]["methods"]}
        self.assertEqual(set(methods), {"wiener", "admm", "convir"})
        self.assertEqual(methods["admm"]["ok"], 2)
        self.assertEqual(len(summary["rows"]), 6)
        self.assertIsInstance(summary["rows"][0]["psnr"], float)
        self.assertGreater(methods["admm"]["psnr"], summary["datasets"][0]["input"]["psnr"])

    def test_bad_arguments_raise(self):
        with self.assertRaisesRegex(ValueError, "unknown method"):
            unroll.eval(self.DATA, ["nope"])
        with self.assertRaisesRegex(ValueError, "not in methods"):
            unroll.eval(self.DATA, ["wiener"], params={"admm": {"iters": 3}})
        with self.assertRaises(ValueError):
            unroll.eval("martian:/nowhere", ["wiener"])


if __name__ == "__main__":
    unittest.main()
