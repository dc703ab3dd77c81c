"""scripts/install_python.sh makes `import unroll` work without PYTHONPATH (into a scratch user site)."""

import os
import subprocess
import sys
import unittest

import unroll
from common import SOURCE_DIR, TempDirTest


class Install(TempDirTest):
    def test_install_script_writes_a_working_pth(self):
        build_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(unroll.__file__))))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(PYTHONUSERBASE=self.tmp, UNROLL_BUILD_DIR=build_dir)
        proc = subprocess.run(["bash", os.path.join(SOURCE_DIR, "scripts", "install_python.sh")], env=env,
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("importable by", proc.stdout)
        check = subprocess.run([sys.executable, "-c", "import unroll; print(unroll.__file__)"], env=env,
                               capture_output=True, text=True, timeout=120, cwd=self.tmp)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertEqual(check.stdout.strip(), os.path.abspath(unroll.__file__))
        without = dict(env, PYTHONUSERBASE=os.path.join(self.tmp, "elsewhere"))
        missing = subprocess.run([sys.executable, "-c", "import unroll"], env=without, capture_output=True,
                                 text=True, timeout=120, cwd=self.tmp)
        self.assertNotEqual(missing.returncode, 0)  # the .pth is what made it importable


if __name__ == "__main__":
    unittest.main()
