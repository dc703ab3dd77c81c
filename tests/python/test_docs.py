"""docs/python.md's example runs as written: every ```python block, in order, in one namespace, from a
scratch folder holding a copy of data/sample (so the figure it saves lands there)."""

import os
import re
import shutil
import unittest

from common import SOURCE_DIR, TempDirTest


class DocsExample(TempDirTest):
    def test_the_example_runs(self):
        with open(os.path.join(SOURCE_DIR, "docs", "python.md")) as f:
            blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
        self.assertGreaterEqual(len(blocks), 3)
        shutil.copytree(os.path.join(SOURCE_DIR, "data", "sample"), os.path.join(self.tmp, "data", "sample"))
        cwd = os.getcwd()
        os.chdir(self.tmp)
        try:
            namespace = {"__name__": "__docs__"}
            for i, block in enumerate(blocks):
                exec(compile(block, f"docs/python.md block {i + 1}", "exec"), namespace)
        finally:
            os.chdir(cwd)
        self.assertTrue(os.path.getsize(os.path.join(self.tmp, "comparison.png")) > 10000)
        results, sharp, psnr = namespace["results"], namespace["sharp"], namespace["unroll"].metrics.psnr
        # The story the page tells: each method restores, the learned one best.
        scores = {name: psnr(x, sharp) for name, x in results.items()}
        self.assertGreater(scores["wiener"], scores["blurred"])
        self.assertGreater(scores["unrolled"], scores["admm"])
        self.assertGreater(scores["admm"], scores["blurred"] + 3)
        self.assertEqual(len(namespace["summary"]["datasets"][0]["methods"]), 3)


if __name__ == "__main__":
    unittest.main()
