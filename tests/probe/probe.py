#!/usr/bin/env python3
"""Hostile-input probes of the built `unroll` CLI (issue 28): hundreds of careless or hostile inputs
(images, kernels, checkpoints, resume files, bundles, configs, flags, outputs, interrupts), each run as a
user would run it, each outcome classified:

  behaved        a valid input worked and its result was checked, or a damaged input that does not
                 change the result (e.g. a flipped bit in an unused zip field) gave the same result
  clean error    non-zero exit with exactly one `error: ...` line on stderr (warnings aside)
  unclean error  non-zero exit without that one line (a stack trace, an unprefixed message, several)
  refused        a valid input was refused (a clean error where a result was expected)
  crash          killed by a signal, exit >= 128, or a crash/sanitizer message
  hung           still running at the probe's time limit
  silent         exit 0 where an error was expected, or a result that fails its check or differs from
                 the undamaged input's result

    python3 tests/probe/probe.py --exe build/unroll --work /tmp/probe [--jobs 2] [--only images,flags]

writes WORK/probes.csv (one row per probe) and WORK/table.md (counts per category) and prints the
table; exits 1 when any probe crashed, hung, was silent or unclean. Needs python3-numpy, python3-opencv
and python3-torch (to write the probes' checkpoints); run from any folder. It takes about 10-15 minutes on
two cores (every probe is one process; LibTorch alone takes 0.8 s to start). Results: docs/reliability.md.
"""

import argparse
import concurrent.futures as futures
import csv
import io
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CRASH_MARKS = ("terminate called", "Segmentation fault", "AddressSanitizer", "core dumped", "double free",
               "corrupted", "free(): invalid", "Aborted", "runtime error:", "std::bad_alloc")


class Probe:
    """One run of the CLI. expect: 'error' (must fail cleanly), 'ok' (must succeed; `check` validates),
    'same' (a clean error, or success with the reference result: `check` compares), 'valid' (a clean
    error or success that passes `check`)."""

    def __init__(self, category, name, args, expect, check=None, timeout=90, env=None, setup=None,
                 interrupt=None):
        self.category, self.name, self.args, self.expect = category, name, args, expect
        self.check, self.timeout, self.env, self.setup, self.interrupt = check, timeout, env, setup, interrupt


# ---- files ----------------------------------------------------------------------------------------------

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def flip(data, pos, bit):
    b = bytearray(data)
    b[pos] ^= 1 << bit
    return bytes(b)


def test_image(h, w, c, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, c))
    for ch in range(c):
        img[..., ch] = 0.5 + 0.25 * np.sin(x / (3 + ch) + y / 7) + 0.2 * ((x + 2 * y + 5 * ch) % 23 > 11)
    img += rng.normal(0, 0.01, img.shape)
    return np.clip(img, 0, 1)


def motion_kernel(size=9):
    k = np.zeros((size, size))
    for i in range(size):
        k[size // 2 + (i - size // 2) // 3, i] = 1.0 + 0.1 * i
    return k / k.sum()


def blur(img, k):
    return np.clip(cv2.filter2D(img, -1, k[::-1, ::-1].copy(), borderType=cv2.BORDER_REFLECT), 0, 1)


def to8(img):
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def png(img, path):
    ok = cv2.imwrite(path, img if img.ndim == 2 else img[..., ::-1].copy())
    assert ok, path
    return path


def kernel_csv(k, path):
    write(path, "\n".join(",".join(f"{v:.10g}" for v in row) for row in k).encode() + b"\n")
    return path


def png_with_size(data, width, height):
    """`data` (a PNG) with its IHDR claiming another size (and a correct CRC, so only the size lies)."""
    b = bytearray(data)
    assert b[12:16] == b"IHDR"
    struct.pack_into(">II", b, 16, width, height)
    struct.pack_into(">I", b, 29, zlib.crc32(bytes(b[12:29])) & 0xFFFFFFFF)
    return bytes(b)


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


# ---- result checks --------------------------------------------------------------------------------------

def image_ok(path, like=None, constant_ok=False):
    """The output decodes, is finite, not constant (unless `constant_ok`: a constant input), and (with
    `like`) has like's height and width."""
    def check(cwd, _text):
        path_ = path.replace("{cwd}", cwd)
        if not os.path.isfile(path_):
            return "no output file"
        im = cv2.imread(path_, cv2.IMREAD_UNCHANGED)
        if im is None:
            return "output does not decode"
        f = im.astype(np.float64)
        if not np.isfinite(f).all():
            return "output holds NaN/Inf"
        if f.std() == 0 and not constant_ok:
            return "output is constant"
        if like is not None:
            ref = cv2.imread(like, cv2.IMREAD_UNCHANGED)
            if ref is not None and ref.shape[:2] != im.shape[:2]:
                return f"output {im.shape[:2]} for input {ref.shape[:2]}"
        return None
    return check


def same_image(path, ref_path, tol=0.5):
    def check(cwd, text):
        err = image_ok(path)(cwd, text)
        if err:
            return err
        a = cv2.imread(path.replace("{cwd}", cwd), cv2.IMREAD_UNCHANGED).astype(np.float64)
        b = cv2.imread(ref_path, cv2.IMREAD_UNCHANGED).astype(np.float64)
        if a.shape != b.shape or np.abs(a - b).max() > tol:
            return "result differs from the undamaged input's"
        return None
    return check


def same_tensors(path_, ref_path):
    def check(cwd, _text):
        import torch
        path = path_.replace("{cwd}", cwd)
        if not os.path.isfile(path):
            return "no output file"
        if read(path) == read(ref_path):
            return None
        try:
            a, b = torch.load(path), torch.load(ref_path)
        except Exception as e:  # noqa: BLE001 - any failure to read is a failed check
            return f"output does not load: {e}"
        a = {k: v for k, v in a.items()} if isinstance(a, dict) else a
        if a.keys() != b.keys() or any(not torch.equal(a[k], b[k]) for k in a if torch.is_tensor(a[k])):
            return "weights differ from the undamaged input's"
        return None
    return check


def finite_psnr(_cwd, out):
    for tok in out.replace(",", " ").split():
        low = tok.lower()
        if low in ("nan", "-nan", "-inf"):  # inf is the PSNR of identical images
            return "NaN printed"
    return None if "psnr" in out.lower() or "dB" in out else "no PSNR printed"


def succeeded(_cwd, _text):
    return None


# ---- running --------------------------------------------------------------------------------------------

def classify(probe, rc, out, err, hung, cwd):
    if hung:
        return "hung", "time limit"
    text = out + err
    if rc < 0 or rc >= 128 or any(m in text for m in CRASH_MARKS):
        return "crash", (f"signal {-rc}" if rc < 0 else f"rc {rc}") + " " + last_line(text)
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith("warning:")]
    clean = rc != 0 and len(lines) == 1 and lines[0].startswith("error: ")
    if rc != 0:
        if not clean:
            return "unclean error", f"rc {rc}: " + " | ".join(lines[:3])[:300]
        return ("refused", lines[0]) if probe.expect == "ok" else ("clean error", lines[0])
    if probe.expect == "error":
        return "silent", "exit 0: " + last_line(text)
    problem = probe.check(cwd, out + err) if probe.check else None
    return ("silent", problem) if problem else ("behaved", "")


def last_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1][:200] if lines else ""


def run_probe(probe, exe, work, index):
    cwd = os.path.join(work, "run", f"{index:04d}")
    os.makedirs(cwd, exist_ok=True)
    if probe.setup:
        probe.setup(cwd)
    args = [a.replace("{cwd}", cwd) for a in probe.args]
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive")
    env.update(probe.env or {})
    cmd = [exe] + args
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    hung = False
    try:
        if probe.interrupt:
            sig, after = probe.interrupt
            try:
                out, err = proc.communicate(timeout=after)
            except subprocess.TimeoutExpired:
                proc.send_signal(sig)
                out, err = proc.communicate(timeout=probe.timeout)
        else:
            out, err = proc.communicate(timeout=probe.timeout)
    except subprocess.TimeoutExpired:
        hung = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    if probe.interrupt:
        verdict = probe.check(cwd, out + err)
        outcome = ("hung", "time limit") if hung else (("silent", verdict) if verdict else ("behaved", ""))
    else:
        outcome = classify(probe, proc.returncode, out, err, hung, cwd)
    return probe, proc.returncode, outcome


# ---- the probes -----------------------------------------------------------------------------------------

class World:
    """The valid files every probe starts from, under WORK/base."""

    def __init__(self, exe, work):
        self.exe, self.work = exe, work
        b = self.base = os.path.join(work, "base")
        os.makedirs(b, exist_ok=True)
        sharp = test_image(40, 48, 3)
        k = motion_kernel(9)
        self.kernel = kernel_csv(k, f"{b}/k.csv")
        self.sharp = png(to8(sharp), f"{b}/sharp.png")
        self.blurred = png(to8(blur(sharp, k)), f"{b}/blurred.png")
        grey = to8(blur(sharp.mean(axis=2), k))
        self.grey = png(grey, f"{b}/grey.png")
        self.jpeg = f"{b}/blurred.jpg"
        cv2.imwrite(self.jpeg, to8(blur(sharp, k))[..., ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, 92])
        self.models = os.path.join(REPO, "models")
        self.unrolled = os.path.join(self.models, "unrolled_small.pth")
        self.denoiser = os.path.join(self.models, "denoiser_small.pth")

    def run(self, args, cwd=None):
        r = subprocess.run([self.exe] + args, cwd=cwd or self.base, capture_output=True, text=True,
                           env=dict(os.environ, OMP_NUM_THREADS="2"))
        if r.returncode != 0:
            raise SystemExit(f"probe set-up failed: unroll {' '.join(args)}\n{r.stdout}{r.stderr}")
        return r

    def reference(self, name, args):
        """The result of a valid run, to compare damaged inputs' results with."""
        out = os.path.join(self.base, name)
        if not os.path.exists(out):
            self.run(args + ["-o", out])
        return out


def deblur(inp, kernel, method="wiener", extra=(), out="{cwd}/x.png"):
    args = ["deblur", "-i", inp, "-m", method, "-o", out]
    if kernel:
        args += ["-k", kernel]
    return args + list(extra)


def image_probes(w):
    d = os.path.join(w.base, "images")
    data = read(w.blurred)
    jpg = read(w.jpeg)
    ref = w.reference("ref_wiener.png", ["deblur", "-i", w.blurred, "-k", w.kernel, "-m", "wiener"])
    variants = []  # (name, path, expect)
    for cut in (0, 4, 8, 16, 30, 40, 60, len(data) // 3, len(data) // 2, len(data) - 20, len(data) - 12,
                len(data) - 1):
        variants.append((f"png cut at {cut}", write(f"{d}/cut{cut}.png", data[:cut]), "error"))
    rng = random.Random(1)
    for i in range(16):
        pos = rng.randrange(len(data))
        variants.append((f"png bit {i} flipped at {pos}", write(f"{d}/flip{i}.png", flip(data, pos, rng.randrange(8))),
                         "same"))
    for cut in (2, 100, len(jpg) // 2, len(jpg) - 2):
        variants.append((f"jpeg cut at {cut}", write(f"{d}/cut{cut}.jpg", jpg[:cut]), "valid"))
    for i in range(8):
        pos = rng.randrange(len(jpg))
        variants.append((f"jpeg bit flipped at {pos}", write(f"{d}/flip{i}.jpg", flip(jpg, pos, rng.randrange(8))),
                         "valid"))
    for wd, ht in ((6000, 6000), (100000, 100000), (0, 40), (48, 0), (2**31 - 1, 1), (1, 2**31 - 1)):
        variants.append((f"png header claims {wd}x{ht}", write(f"{d}/size{wd}x{ht}.png", png_with_size(data, wd, ht)),
                         "error"))
    img = cv2.imread(w.blurred, cv2.IMREAD_UNCHANGED).astype(np.float32) / 255
    for label, val in (("nan", np.nan), ("inf", np.inf), ("-inf", -np.inf)):
        bad = img.copy()
        bad[3, 5, 1] = val
        p = f"{d}/float_{label}.tif"
        # uncompressed: OpenCV's default (LZW + predictor) reads a 3-channel float NaN pixel back as 0
        cv2.imwrite(p, bad, [cv2.IMWRITE_TIFF_COMPRESSION, 1])
        variants.append((f"float TIFF with one {label} pixel", p, "error"))
    for label, val in (("1e30", 1e30), ("-5", -5.0), ("2", 2.0)):
        bad = img.copy()
        bad[3, 5, 1] = val
        p = f"{d}/float_{label}.tif"
        cv2.imwrite(p, bad)
        variants.append((f"float TIFF with a pixel of {label}", p, "valid"))
    ok = []
    ok.append(("grey png", w.grey))
    ok.append(("16-bit png", png((cv2.imread(w.blurred).astype(np.uint16) * 257)[..., ::-1], f"{d}/sixteen.png")))
    rgba = cv2.cvtColor(cv2.imread(w.blurred), cv2.COLOR_BGR2BGRA)
    ok.append(("rgba png", png(rgba[..., [2, 1, 0, 3]], f"{d}/rgba.png")))
    ok.append(("float tiff", f"{d}/float_ok.tif"))
    cv2.imwrite(f"{d}/float_ok.tif", img)
    ok.append(("bmp", f"{d}/b.bmp"))
    cv2.imwrite(f"{d}/b.bmp", cv2.imread(w.blurred))
    ok.append(("jpeg", w.jpeg))
    ok.append(("png named .jpg", write(f"{d}/really_png.jpg", data)))
    ok.append(("12x9 image (smaller than nothing special)", png(to8(test_image(9, 12, 3)), f"{d}/small.png")))
    for label, (h, wd) in (("1x1", (1, 1)), ("2x2", (2, 2)), ("1x64 line", (1, 64)), ("64x1 column", (64, 1)),
                           ("5x5 (smaller than the kernel)", (5, 5))):
        variants.append((f"{label} image", png(to8(test_image(h, wd, 3)), f"{d}/tiny{h}x{wd}.png"), "valid"))
    variants.append(("constant black image", png(np.zeros((40, 48, 3), np.uint8), f"{d}/black.png"), "constant"))
    variants.append(("constant white image", png(np.full((40, 48, 3), 255, np.uint8), f"{d}/white.png"), "constant"))
    variants.append(("empty file", write(f"{d}/empty.png", b""), "error"))
    variants.append(("text file named .png", write(f"{d}/text.png", b"hello\n" * 10), "error"))
    variants.append(("random bytes named .png", write(f"{d}/random.png", bytes(rng.randrange(256) for _ in range(4000))),
                     "error"))
    variants.append(("a folder", d, "error"))
    variants.append(("a missing file", f"{d}/missing.png", "error"))
    variants.append(("/dev/zero", "/dev/zero", "error"))
    variants.append(("/dev/null", "/dev/null", "error"))
    loop = f"{d}/loop.png"
    if not os.path.lexists(loop):
        os.symlink(loop, loop)
    variants.append(("a symlink to itself", loop, "error"))
    # root reads it anyway: then a result is right
    variants.append(("a file without read permission", write(f"{d}/noread.png", data),
                     "same" if os.geteuid() == 0 else "error"))
    os.chmod(f"{d}/noread.png", 0)
    probes = []
    for name, path, expect in variants:
        # deblur with a kernel, metrics against the sharp image, estimate-kernel
        check = {"same": same_image("{cwd}/x.png", ref), "valid": image_ok("{cwd}/x.png"), "error": None,
                 "constant": image_ok("{cwd}/x.png", constant_ok=True)}[expect]
        expect = "valid" if expect == "constant" else expect
        probes.append(Probe("images", f"deblur: {name}", deblur(path, w.kernel), expect, check))
        mexpect = "error" if expect == "error" else "valid"
        probes.append(Probe("images", f"metrics: {name}", ["metrics", "--ref", w.sharp, path], mexpect,
                            finite_psnr if mexpect != "error" else None))
        probes.append(Probe("images", f"metrics --ref: {name}", ["metrics", "--ref", path, w.blurred], mexpect,
                            finite_psnr if mexpect != "error" else None))
    for name, path in ok:
        probes.append(Probe("images", f"deblur: {name}", deblur(path, w.kernel), "ok", image_ok("{cwd}/x.png", path)))
        probes.append(Probe("images", f"estimate-kernel: {name}",
                            ["estimate-kernel", "-i", path, "-o", "{cwd}/k.csv", "--kernel-size", "9"], "ok",
                            succeeded, timeout=180))
    for name, path, expect in variants[:: max(1, len(variants) // 12)]:
        e = "error" if expect == "error" else "valid"
        probes.append(Probe("images", f"estimate-kernel: {name}",
                            ["estimate-kernel", "-i", path, "-o", "{cwd}/k.csv", "--kernel-size", "9"], e,
                            None if e == "error" else succeeded, timeout=180))
    return probes


def kernel_probes(w):
    d = os.path.join(w.base, "kernels")
    k = motion_kernel(9)
    text = read(w.kernel).decode()
    bad = {
        "NaN entry": text.replace("0,", "nan,", 1),
        "Inf entry": text.replace("0,", "inf,", 1),
        "all zeros": "\n".join(",".join("0" for _ in range(9)) for _ in range(9)) + "\n",
        "negative sum": "\n".join(",".join(f"{-v:g}" for v in row) for row in k) + "\n",
        "sums to zero": "1,-1\n",
        "empty file": "",
        "only a comment": "# nothing\n",
        "words": "a,b,c\nd,e,f\n",
        "ragged rows": "0.1,0.2\n0.3\n",
        "1e308 entries (sum overflows)": "1e308,1e308\n1e308,1e308\n",
        "binary garbage": bytes(range(256)),
        "one 1 MB line": ",".join(["0.001"] * 170000) + "\n",
        "a number with junk": "0.25x,0.25\n0.25,0.25\n",
        "a UTF-16 file": "0.5,0.5\n".encode("utf-16"),
    }
    ok = {
        "1x1 kernel": "1\n",
        "2x2 even kernel": "0.25,0.25\n0.25,0.25\n",
        "unnormalised (sum 4)": "\n".join(",".join(f"{4 * v:.10g}" for v in row) for row in k) + "\n",
        "spaces instead of commas": text.replace(",", " "),
        "CRLF line endings": text.replace("\n", "\r\n"),
        "no final newline": text.rstrip("\n"),
        "a UTF-8 BOM": "\ufeff" + text,
        "1x9 row": ",".join(["0.1111111111"] * 9) + "\n",
        "9x1 column": "\n".join(["0.1111111111"] * 9) + "\n",
    }
    valid = {
        "negative entries, positive sum": "-0.1,0.6\n0.3,0.2\n",
        "61x61 kernel on a 40x48 image": "\n".join(",".join(["1"] * 61) for _ in range(61)) + "\n",
        "3x3 with a trailing comma": "0.1,0.1,0.1,\n0.1,0.2,0.1,\n0.1,0.1,0.1,\n",
        "blank lines between rows": text.replace("\n", "\n\n"),
        "1e-320 entries (a denormal sum)": "1e-320,1e-320\n",
        "hex floats (C's strtod reads them)": "0x1p-3,0x1p-3\n0x1p-2,0x1p-2\n",
    }
    probes = []
    for table, expect in ((bad, "error"), (ok, "ok"), (valid, "valid")):
        for name, body in table.items():
            p = write(f"{d}/{len(probes)}.csv", body.encode("utf-8") if isinstance(body, str) else body)
            for method in ("wiener", "admm"):
                check = image_ok("{cwd}/x.png") if expect != "error" else None
                probes.append(Probe("kernels", f"{method}: {name}", deblur(w.blurred, p, method, ["--param", "iters=5"]
                                    if method == "admm" else []), expect, check))
    # kernels as pictures
    kimg = (k / k.max() * 255).astype(np.uint8)
    for name, path, expect in (
            ("kernel PNG", png(kimg, f"{d}/k.png"), "ok"),
            ("black kernel PNG", png(np.zeros((9, 9), np.uint8), f"{d}/black.png"), "error"),
            ("colour kernel PNG", png(np.dstack([kimg] * 3), f"{d}/colour.png"), "valid"),
            ("kernel PNG cut short", write(f"{d}/cut.png", read(f"{d}/k.png")[:40]), "error"),
            ("kernel PNG claiming 50000x50000", write(f"{d}/huge.png", png_with_size(read(f"{d}/k.png"), 50000, 50000)),
             "error"),
            ("missing kernel file", f"{d}/missing.csv", "error"),
            ("kernel is a folder", d, "error"),
            ("kernel is /dev/zero", "/dev/zero", "error"),
            ("kernel is /dev/null", "/dev/null", "error")):
        check = image_ok("{cwd}/x.png") if expect != "error" else None
        probes.append(Probe("kernels", f"wiener: {name}", deblur(w.blurred, path), expect, check))
    return probes


def checkpoint_variants(w, src, tag):
    import torch
    d = os.path.join(w.base, "ckpt_" + tag)
    data = read(src)
    out = []
    for cut in (0, 10, 100, 1000, len(data) // 2, len(data) - 100, len(data) - 22, len(data) - 1):
        out.append((f"cut at {cut}", write(f"{d}/cut{cut}.pth", data[:cut]), "error"))
    rng = random.Random(7)
    for i in range(16):
        pos = rng.randrange(len(data))
        out.append((f"bit flipped at {pos}", write(f"{d}/flip{i}.pth", flip(data, pos, rng.randrange(8))), "same"))
    sd = torch.load(src)
    names = [k for k, v in sd.items() if torch.is_tensor(v) and v.is_floating_point()]

    def save(name, obj):
        p = f"{d}/{name}.pth"
        torch.save(obj, p)
        return p
    for label, val in (("nan", float("nan")), ("inf", float("inf")), ("1e38", 1e38)):
        bad = dict(sd)
        t = bad[names[0]].clone()
        t.view(-1)[0] = val
        bad[names[0]] = t
        out.append((f"a {label} weight", save(f"w_{label}", bad), "error" if label != "1e38" else "valid"))
    bad = dict(sd)
    bad[names[0]] = bad[names[0]].to(torch.int64)
    out.append(("int64 weights", save("int64", bad), "error"))
    bad = dict(sd)
    del bad[names[1]]
    out.append((f"missing {names[1]}", save("missing", bad), "error"))
    bad = dict(sd)
    bad[names[2]] = torch.zeros(3, 1)
    out.append(("a wrongly shaped weight", save("shape", bad), "error"))
    bad = dict(sd)
    bad["surprise.weight"] = torch.zeros(2)
    out.append(("an unexpected extra key", save("extra", bad), "valid"))
    if "global_residual" in sd:
        bad = dict(sd)
        del bad["global_residual"]
        out.append(("global_residual removed", save("nogr", bad), "error"))
    out.append(("float16 copy", save("half", {k: (v.half() if torch.is_tensor(v) and v.is_floating_point() else v)
                                            for k, v in sd.items()}), "valid"))
    out.append(("a list, not a dict", save("list", [1, 2, 3]), "error"))
    out.append(("an empty dict", save("emptydict", {}), "error"))
    out.append(("zero-stride 2^33-element tensor",
                save("zerostride", dict(sd, **{names[0]: torch.zeros(4).as_strided((2 ** 17, 2 ** 16), (0, 0))})),
                "error"))
    deep = b"\x80\x02" + b"]" * 200000 + b"a" * 199999 + b"."
    out.append(("lists nested 200,000 deep", write(f"{d}/deep.pth", zip_bytes([("archive/data.pkl", deep),
                                                                                ("archive/version", b"3\n")])),
                "error"))
    evil = (b"\x80\x02cos\nsystem\nq\x00X\x10\x00\x00\x00touch PWNED_PROBEq\x01\x85q\x02Rq\x03.")
    out.append(("a pickle calling os.system", write(f"{d}/evil.pth", zip_bytes([("archive/data.pkl", evil),
                                                                               ("archive/version", b"3\n")])),
                "error"))
    big = zip_bytes([("archive/data.pkl", b"\x80\x02}q\x00."), ("archive/version", b"3\n")])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        z.writestr("archive/data/0", b"\x00" * (400 << 20))
        z.writestr("archive/version", b"3\n")
    out.append(("400 MB record in a small file", write(f"{d}/bomb.pth", buf.getvalue()), "error"))
    out.append(("a zip without data.pkl", write(f"{d}/nopkl.pth", zip_bytes([("archive/version", b"3\n")])), "error"))
    out.append(("random bytes", write(f"{d}/random.pth", bytes(rng.randrange(256) for _ in range(5000))), "error"))
    out.append(("empty file", write(f"{d}/empty.pth", b""), "error"))
    out.append(("missing file", f"{d}/absent.pth", "error"))
    out.append(("/dev/zero", "/dev/zero", "error"))
    del big
    return out


def checkpoint_probes(w):
    probes = []
    for tag, src, method in (("unrolled", w.unrolled, "unrolled"), ("denoiser", w.denoiser, "pnp")):
        ref = w.reference(f"ref_{tag}.png", ["deblur", "-i", w.blurred, "-k", w.kernel, "-m", method, "--noise", "2.55"])
        ref_export = os.path.join(w.base, f"ref_{tag}_half.pth")
        if not os.path.isfile(ref_export):
            w.run(["export", "-w", src, "-o", ref_export, "--dtype", "float16"])
        for name, path, expect in checkpoint_variants(w, src, tag):
            args = deblur(w.blurred, w.kernel, method, ["--noise", "2.55", "--weights", path])
            check = {"same": same_image("{cwd}/x.png", ref), "valid": image_ok("{cwd}/x.png"), "error": None}[expect]
            probes.append(Probe("checkpoints", f"{method} --weights: {name}", args, expect, check))
            # export converts any state dict's floating-point entries: damage to the file is its business,
            # what the weights mean (a missing key, a shape, integer entries kept as they are) is not
            if expect == "same" or name.startswith(("cut", "a nan", "a inf", "lists", "a pickle", "400",
                                                    "zero-stride", "a zip", "random", "empty", "missing file",
                                                    "/dev")):
                probes.append(Probe("checkpoints", f"export: {name}",
                                    ["export", "-w", path, "-o", "{cwd}/half.pth", "--dtype", "float16"], expect,
                                    same_tensors("{cwd}/half.pth", ref_export) if expect == "same" else None))
    return probes


TRAIN_INI = """[experiment]
name = probe
task = denoiser

[model]
nc = 8,16,16,16
nb = 1

[data]
train = {train}
val = {train}

[train]
steps = {steps}
batch = 2
crop = 32
lr = 1e-3
checkpoint_every = 2
validate_every = 4
out = {out}
"""


def config_probes(w):
    d = os.path.join(w.base, "configs")
    train_dir = os.path.join(d, "train")
    os.makedirs(train_dir, exist_ok=True)
    png(to8(test_image(64, 64, 3, 1)), f"{train_dir}/a.png")
    png(to8(test_image(64, 64, 3, 2)), f"{train_dir}/b.png")
    good = TRAIN_INI.format(train=train_dir, steps=4, out="{cwd}/out")

    def cfg(name, text):
        return write(f"{d}/{name}.ini", text.encode("utf-8") if isinstance(text, str) else text)

    def setting(key, value):
        section, k = key.split(".")
        lines, out, cur = good.splitlines(), [], None
        done = False
        for line in lines:
            if line.startswith("["):
                if cur == section and not done:
                    out.append(f"{k} = {value}")
                    done = True
                cur = line.strip("[]")
            if cur == section and line.split("=")[0].strip() == k:
                out.append(f"{k} = {value}")
                done = True
                continue
            out.append(line)
        if not done:
            out += [f"[{section}]", f"{k} = {value}"]
        return "\n".join(out) + "\n"
    bad = [
        ("train.batch", "1e9"), ("train.batch", "0"), ("train.batch", "-1"), ("train.batch", "nan"),
        ("train.batch", "2.5"), ("train.crop", "100000"), ("train.crop", "0"), ("train.crop", "-32"),
        ("model.nb", "0"), ("model.nb", "-1"), ("model.nc", "0,0,0,0"), ("model.nc", "-8,16,16,16"),
        ("model.nc", "8,16"), ("model.nc", "a,b,c,d"), ("train.sigma_max", "nan"), ("train.sigma_max", "-1"),
        ("train.sigma_max", "inf"), ("train.val_sigma", "inf"), ("train.loss", "bogus"), ("train.lr", "nan"),
        ("train.lr", "-1"), ("train.lr", "0"), ("train.steps", "-1"), ("train.steps", "1e30"),
        ("train.steps", "99999999999999999999"), ("train.checkpoint_every", "-1"), ("train.validate_every", "-5"),
        ("train.device", "bogus"), ("train.device", "cuda:99"), ("experiment.task", "bogus"),
        ("data.train", "/nonexistent/folder"), ("data.train", d + "/empty"), ("data.val", "/dev/null"),
        ("train.out", "/proc/unroll_probe/out"), ("train.bogus_key", "1"), ("model.init_weights", "/nonexistent.pth"),
        ("model.init_weights", w.base + "/ckpt_unrolled/random.pth"), ("train.seed", "-1"), ("train.seed", "abc"),
        ("train.crop", "1e400"),
    ]
    os.makedirs(d + "/empty", exist_ok=True)
    probes = []
    for i, (key, value) in enumerate(bad):
        p = cfg(f"bad{i}", setting(key, value))
        probes.append(Probe("configs", f"train --dry-run: {key} = {value}", ["train", "--config", p, "--dry-run"],
                            "error"))
    for name, text in (
            ("empty file", ""), ("binary garbage", bytes(range(256)) * 4),
            ("no [experiment] section", good.replace("[experiment]\nname = probe\ntask = denoiser\n", "")),
            ("a key outside any section", "steps = 3\n" + good), ("a line without =", good + "[train]\nsteps\n"),
            ("a duplicated key", good.replace("steps = 4", "steps = 4\nsteps = 5")),
            ("an unclosed section", good.replace("[model]", "[model")),
            ("a 1 MB line", good + "[train]\nlr = " + "1" * (1 << 20) + "\n"),
            ("10000 sections, one unknown key", good + "".join(f"[s{i}]\n" for i in range(10000)) + "x = 1\n"),
            ("NUL bytes", good.replace("batch", "ba\0tch"))):
        probes.append(Probe("configs", f"train --dry-run: {name}", ["train", "--config", cfg(f"x{len(probes)}", text),
                                                                    "--dry-run"], "error"))
    for name, text in (("valid", good), ("CRLF line endings", good.replace("\n", "\r\n")),
                       ("comments and blank lines", "; a comment\n# another\n\n" + good.replace("\n", "\n\n")),
                       ("a UTF-8 BOM", "\ufeff" + good),
                       ("spaces around keys", good.replace(" = ", "   =   ")),
                       ("checkpoint_every = 0 (only at the end)", good.replace("checkpoint_every = 2",
                                                                               "checkpoint_every = 0")),
                       ("10000 empty sections", good + "".join(f"[s{i}]\n" for i in range(10000)))):
        probes.append(Probe("configs", f"train --dry-run: {name}", ["train", "--config", cfg(f"y{len(probes)}", text),
                                                                    "--dry-run"], "ok", succeeded))
    probes.append(Probe("configs", "train --config: missing file", ["train", "--config", d + "/missing.ini"], "error"))
    probes.append(Probe("configs", "train --config: a folder", ["train", "--config", d], "error"))
    probes.append(Probe("configs", "train --config: /dev/zero", ["train", "--config", "/dev/zero"], "error"))
    for name, text in (("no variants", "[experiment]\nname = e\n"), ("garbage", "@@@\n"),
                       ("empty", "")):
        probes.append(Probe("configs", f"experiment: {name}", ["experiment", cfg(f"e{len(probes)}", text), "--out",
                                                               "{cwd}/e"], "error"))
    return probes


def train_state_probes(w):
    """resume.pt and training bundles: a short run, then its files damaged and resumed / trained from."""
    d = os.path.join(w.base, "train_state")
    cfgdir = os.path.join(w.base, "configs", "train")
    if not os.path.isdir(cfgdir):
        raise SystemExit("config probes set up the training images")
    base_out = os.path.join(d, "base")
    cfg = write(f"{d}/base.ini", TRAIN_INI.format(train=cfgdir, steps=4, out=base_out).encode())
    cfg6 = write(f"{d}/six.ini", TRAIN_INI.format(train=cfgdir, steps=6, out="OUT").encode())
    if not os.path.isfile(os.path.join(base_out, "resume.pt")):
        w.run(["train", "--config", cfg])
    ref_out = os.path.join(d, "ref")
    if not os.path.isfile(os.path.join(ref_out, "model.pth")):
        shutil.rmtree(ref_out, ignore_errors=True)
        shutil.copytree(base_out, ref_out)
        w.run(["train", "--config", cfg6, "--out", ref_out])
    resume = read(os.path.join(base_out, "resume.pt"))
    probes = []
    rng = random.Random(3)
    mutants = [(f"cut at {c}", resume[:c], "error") for c in (0, 100, len(resume) // 2, len(resume) - 22)]
    for i in range(20):
        pos = rng.randrange(len(resume))
        mutants.append((f"bit flipped at {pos}", flip(resume, pos, rng.randrange(8)), "same"))

    def setup_with(data):
        def setup(cwd):
            out = os.path.join(cwd, "out")
            shutil.copytree(base_out, out)
            write(os.path.join(out, "resume.pt"), data)
        return setup
    for name, data, expect in mutants:
        probes.append(Probe("resume files", f"train resumes from resume.pt {name}",
                            ["train", "--config", cfg6, "--out", "{cwd}/out"], expect,
                            same_tensors("{cwd}/out/model.pth", os.path.join(ref_out, "model.pth"))
                            if expect == "same" else None, timeout=180, setup=setup_with(data)))
    bundle = os.path.join(d, "bundle.pt")
    if not os.path.isfile(bundle):
        w.run(["pack", "--config", cfg, "-o", bundle, "--crop", "40"])
    bref = os.path.join(d, "bundle_ref")
    if not os.path.isfile(os.path.join(bref, "model.pth")):
        w.run(["train", "--bundle", bundle, "--out", bref, "--steps", "2"])
    bdata = read(bundle)
    bmut = [(f"cut at {c}", bdata[:c], "error") for c in (0, 100, len(bdata) // 2, len(bdata) - 22)]
    for i in range(16):
        pos = rng.randrange(len(bdata))
        bmut.append((f"bit flipped at {pos}", flip(bdata, pos, rng.randrange(8)), "same"))
    for i, (name, data, expect) in enumerate(bmut):
        p = write(f"{d}/bundle_{i}.pt", data)
        probes.append(Probe("bundles", f"train --bundle {name}", ["train", "--bundle", p, "--out", "{cwd}/out",
                                                                  "--steps", "2"], expect,
                            same_tensors("{cwd}/out/model.pth", os.path.join(bref, "model.pth"))
                            if expect == "same" else None, timeout=180))
    return probes


def flag_probes(w):
    b, k = w.blurred, w.kernel
    probes = []
    ok_img = image_ok("{cwd}/x.png")
    bad = [
        ("--noise 1e30", ["--noise", "1e30"]), ("--noise -1", ["--noise", "-1"]), ("--noise nan", ["--noise", "nan"]),
        ("--noise inf", ["--noise", "inf"]), ("--noise abc", ["--noise", "abc"]), ("--noise ''", ["--noise", ""]),
        ("--param lambda=nan", ["-m", "admm", "--param", "lambda=nan"]),
        ("--param lambda=-1", ["-m", "admm", "--param", "lambda=-1"]),
        ("--param lambda=inf", ["-m", "admm", "--param", "lambda=inf"]),
        ("--param iters=0", ["-m", "admm", "--param", "iters=0"]),
        ("--param iters=1e12", ["-m", "admm", "--param", "iters=1e12"]),
        ("--param iters=2.5", ["-m", "admm", "--param", "iters=2.5"]),
        ("--param iters=abc", ["-m", "admm", "--param", "iters=abc"]),
        ("--param unknown=1", ["--param", "unknown=1"]), ("--param nsr", ["--param", "nsr"]),
        ("--param nsr=inf", ["--param", "nsr=inf"]), ("--param nsr=-1", ["--param", "nsr=-1"]),
        ("--method bogus", ["-m", "bogus"]), ("--tile -5", ["--tile", "-5"]), ("--tile abc", ["--tile", "abc"]),
        ("--tile-overlap -7", ["--tile", "16", "--tile-overlap", "-7"]),
        ("--max-memory -1", ["--max-memory", "-1"]), ("--max-memory abc", ["--max-memory", "abc"]),
        ("--device bogus", ["--device", "bogus"]), ("--device cuda:99", ["--device", "cuda:99"]),
        ("--boundary bogus", ["--boundary", "bogus"]), ("--bits 7", ["--bits", "7"]),
        ("--blur bogus", ["--blur", "bogus"]), ("--ref missing", ["--ref", "/nonexistent.png"]),
        ("--ref of another size", ["--ref", w.base + "/images/small.png"]),
        ("an unknown flag", ["--frobnicate"]), ("a stray argument", ["stray"]),
        ("-k estimate-bogus", ["-k", "estimate-bogus"]),
    ]
    for name, extra in bad:
        args = ["deblur", "-i", b, "-o", "{cwd}/x.png"] + ([] if "-k" in extra else ["-k", k]) + \
            ([] if "-m" in extra else ["-m", "wiener"]) + extra
        probes.append(Probe("flags", f"deblur {name}", args, "error"))
    rot = ["deblur", "-i", b, "-o", "{cwd}/x.png", "--blur", "rotational", "-m", "wiener"]
    for name, extra in (("--rpm nan", ["--rpm", "nan", "--exposure", "0.004"]),
                        ("--rpm -1", ["--rpm", "-1", "--exposure", "0.004"]),
                        ("--rpm 1e30", ["--rpm", "1e30", "--exposure", "0.004"]),
                        ("--exposure 0", ["--rpm", "1200", "--exposure", "0"]),
                        ("--exposure inf", ["--rpm", "1200", "--exposure", "inf"]),
                        ("--rpm without --exposure", ["--rpm", "1200"]),
                        ("--angle nan", ["--angle", "nan"]), ("--angle 1e300", ["--angle", "1e300"]),
                        ("--centre 1e300,1e300", ["--angle", "10", "--centre", "1e300,1e300"]),
                        ("--centre nan,nan", ["--angle", "10", "--centre", "nan,nan"]),
                        ("--centre a,b", ["--angle", "10", "--centre", "a,b"]),
                        ("--centre 1", ["--angle", "10", "--centre", "1"]),
                        ("--centre -1000000,-1000000", ["--angle", "10", "--centre", "-1000000,-1000000"]),
                        ("--mask missing", ["--angle", "10", "--mask", "/nonexistent.png"]),
                        ("--mask of another size", ["--angle", "10", "--mask", w.base + "/images/small.png"]),
                        ("--mask with NaN", ["--angle", "10", "--mask", w.base + "/images/float_nan.tif"])):
        probes.append(Probe("flags", f"deblur --blur rotational {name}", rot + extra, "error"))
    for name, extra in (("--angle 5", ["--angle", "5"]), ("--rpm 1200 --exposure 0.002", ["--rpm", "1200",
                                                                                         "--exposure", "0.002"]),
                        ("--angle 5 --centre 10,10", ["--angle", "5", "--centre", "10,10"]),
                        ("--angle 5, centre outside the image", ["--angle", "5", "--centre", "-30,-30"])):
        probes.append(Probe("flags", f"deblur --blur rotational {name}", rot + extra, "ok", ok_img))
    good = [
        ("--noise 0", ["--noise", "0"]), ("--noise 255", ["--noise", "255"]), ("--tile 16", ["--tile", "16"]),
        ("--tile 16 --tile-overlap 4", ["--tile", "16", "--tile-overlap", "4"]), ("--tile 1000", ["--tile", "1000"]),
        ("--bits 16", ["--bits", "16"]), ("--double", ["--double"]), ("--boundary circular", ["--boundary", "circular"]),
        ("--ref", ["--ref", w.sharp]), ("--param nsr=0", ["--param", "nsr=0"]), ("--max-memory 1G", ["--max-memory", "1G"]),
    ]
    for name, extra in good:
        probes.append(Probe("flags", f"deblur {name}", ["deblur", "-i", b, "-k", k, "-m", "wiener", "-o",
                                                        "{cwd}/x.png"] + extra, "ok", ok_img))
    # below what the program itself takes (about 200 MB resident): a clear refusal is right too
    probes.append(Probe("flags", "deblur --max-memory 64M", ["deblur", "-i", b, "-k", k, "-m", "wiener", "-o",
                                                              "{cwd}/x.png", "--max-memory", "64M"], "valid", ok_img))
    for method in ("rl", "admm", "hqs-tv", "pnp", "unrolled"):
        for name, extra in (("--noise 1e30", ["--noise", "1e30"]), ("--noise nan", ["--noise", "nan"])):
            probes.append(Probe("flags", f"deblur -m {method} {name}", deblur(b, k, method, extra), "error"))
        probes.append(Probe("flags", f"deblur -m {method} grey image", deblur(w.grey, k, method), "ok",
                            image_ok("{cwd}/x.png", w.grey)))
        probes.append(Probe("flags", f"deblur -m {method} --noise 2.55", deblur(b, k, method, ["--noise", "2.55"]),
                            "ok", image_ok("{cwd}/x.png", b)))
    for method in ("convir", "atrous", "unrolled-blind"):
        probes.append(Probe("flags", f"deblur -m {method} (blind) grey image", deblur(w.grey, None, method), "ok",
                            image_ok("{cwd}/x.png", w.grey)))
        probes.append(Probe("flags", f"deblur -m {method} with a kernel", deblur(b, k, method), "valid",
                            image_ok("{cwd}/x.png")))
    sharp_dir = os.path.join(w.base, "synth_sharp")
    os.makedirs(sharp_dir, exist_ok=True)
    if not os.path.exists(f"{sharp_dir}/a.png"):
        shutil.copy(w.sharp, f"{sharp_dir}/a.png")
    syn = ["synth", "--sharp", sharp_dir, "--out", "{cwd}/s"]
    for name, extra in (("--count-per-image 1e9", ["--kernels", "gaussian", "--noise", "1", "--count-per-image", "1e9"]),
                        ("--count-per-image 0", ["--kernels", "gaussian", "--noise", "1", "--count-per-image", "0"]),
                        ("--size 0", ["--kernels", "gaussian", "--noise", "1", "--size", "0"]),
                        ("--size 1e9", ["--kernels", "gaussian", "--noise", "1", "--size", "1000000000"]),
                        ("--noise nan", ["--kernels", "gaussian", "--noise", "nan"]),
                        ("--noise-max below --noise", ["--kernels", "gaussian", "--noise", "5", "--noise-max", "1"]),
                        ("--kernels bogus", ["--kernels", "bogus", "--noise", "1"]),
                        ("--kernels file:missing", ["--kernels", "file:/nonexistent.csv", "--noise", "1"]),
                        ("--jpeg 0", ["--kernels", "gaussian", "--noise", "1", "--jpeg", "0"]),
                        ("--jpeg 101", ["--kernels", "gaussian", "--noise", "1", "--jpeg", "101"]),
                        ("--bits 7", ["--kernels", "gaussian", "--noise", "1", "--bits", "7"]),
                        ("--blur bogus", ["--kernels", "gaussian", "--noise", "1", "--blur", "bogus"]),
                        ("rotational --centre -1e6,-1e6", ["--kernels", "rotational", "--noise", "1", "--angle", "10",
                                                           "--centre", "-1000000,-1000000"]),
                        ("rotational --rpm nan", ["--kernels", "rotational", "--noise", "1", "--rpm", "nan",
                                                  "--exposure", "0.01"]),
                        ("no --noise", ["--kernels", "gaussian"])):
        probes.append(Probe("flags", f"synth {name}", syn + extra, "error"))
    probes.append(Probe("flags", "synth --sharp missing", ["synth", "--sharp", "/nonexistent", "--kernels",
                                                           "gaussian", "--noise", "1", "--out", "{cwd}/s"], "error"))
    probes.append(Probe("flags", "synth valid", syn + ["--kernels", "mixed", "--noise", "1", "--size", "9"], "ok",
                        image_ok("{cwd}/s/blur/a.png")))
    for name, extra in (("--border -1", ["--border", "-1"]), ("--border 1000", ["--border", "1000"]),
                        ("no images", []), ("--ref missing", None)):
        args = ["metrics", "--ref", w.sharp, w.blurred] + extra if extra is not None else \
            ["metrics", "--ref", "/nonexistent.png", w.blurred]
        if name == "no images":
            args = ["metrics", "--ref", w.sharp]
        probes.append(Probe("flags", f"metrics {name}", args, "error"))
    for name, extra in (("--kernel-size 4 (even)", ["--kernel-size", "4"]), ("--kernel-size -9", ["--kernel-size", "-9"]),
                        ("--kernel-size 1e9", ["--kernel-size", "1000000001"]), ("--grid 0x0", ["--grid", "0x0"]),
                        ("--grid abc", ["--grid", "abc"]), ("--grid 1000x1000", ["--grid", "1000x1000"]),
                        ("--overlap -1", ["--overlap", "-1"]), ("--noise -3", ["--noise", "-3"])):
        probes.append(Probe("flags", f"estimate-kernel {name}", ["estimate-kernel", "-i", b, "-o", "{cwd}/k.csv"] + extra,
                            "error", timeout=180))
    for name, args in (("eval --data bogus:x", ["eval", "--data", "bogus:x", "--methods", "wiener", "--out", "{cwd}/e"]),
                       ("eval --methods bogus", ["eval", "--data", "folder:" + w.base + "/images", "--methods",
                                                 "bogus", "--out", "{cwd}/e"]),
                       ("eval --data folder:missing", ["eval", "--data", "folder:/nonexistent", "--methods",
                                                       "wiener", "--out", "{cwd}/e"]),
                       ("export --dtype int8", ["export", "-w", w.denoiser, "-o", "{cwd}/h.pth", "--dtype", "int8"]),
                       ("no command", []), ("unknown command", ["frobnicate"]),
                       ("deblur without -i", ["deblur", "-k", k, "-o", "{cwd}/x.png"]),
                       ("deblur without -o", ["deblur", "-i", b, "-k", k]),
                       ("deblur without -k (non-blind method)", ["deblur", "-i", b, "-m", "admm", "-o", "{cwd}/x.png"]),
                       ("train without --config", ["train"]), ("train --steps -3", ["train", "--config",
                                                                                   w.base + "/configs/y0.ini", "--steps",
                                                                                   "-3"])):
        probes.append(Probe("flags", name, args, "error"))
    return probes


def output_probes(w):
    b, k = w.blurred, w.kernel
    probes = []

    def setup_copy(cwd):
        shutil.copy(b, os.path.join(cwd, "in.png"))
    for name, out, expect in (("-o equal to -i", "{cwd}/in.png", "error"),
                              ("-o ./in.png (the input by another path)", "./in.png", "error"),
                              ("-o a folder", "{cwd}", "error"), ("-o /proc/x.png (cannot write)", "/proc/x.png", "error"),
                              ("-o in a missing folder", "{cwd}/no/such/x.png", "valid"),
                              ("-o with an unknown extension", "{cwd}/x.xyz", "error"),
                              ("-o without extension", "{cwd}/x", "error"), ("-o ''", "", "error"),
                              ("-o a 5000-character name", "{cwd}/" + "a" * 5000 + ".png", "error"),
                              ("-o x.jpg", "{cwd}/x.jpg", "ok"), ("-o x.tif", "{cwd}/x.tif", "ok"),
                              ("-o x.bmp", "{cwd}/x.bmp", "ok"), ("-o X.PNG (upper case)", "{cwd}/X.PNG", "ok")):
        check = None if expect == "error" else image_ok(out if out.startswith("{cwd}") else "{cwd}/x.png")
        probes.append(Probe("outputs", f"deblur {name}", ["deblur", "-i", "{cwd}/in.png", "-k", k, "-m", "wiener", "-o",
                                                          out], expect, check, setup=setup_copy))
    probes.append(Probe("outputs", "deblur --bits 32 -o x.png (float needs TIFF)",
                        deblur(b, k, extra=["--bits", "32"]), "error"))
    probes.append(Probe("outputs", "estimate-kernel -o equal to -i", ["estimate-kernel", "-i", "{cwd}/in.png", "-o",
                                                                      "{cwd}/in.png"], "error", setup=setup_copy))
    probes.append(Probe("outputs", "deblur --save-kernel equal to -i",
                        ["deblur", "-i", "{cwd}/in.png", "-k", "estimate", "-m", "wiener", "-o", "{cwd}/x.png",
                         "--save-kernel", "{cwd}/in.png"], "error", setup=setup_copy, timeout=180))
    probes.append(Probe("outputs", "synth --out equal to --sharp",
                        ["synth", "--sharp", w.base + "/synth_sharp", "--kernels", "gaussian", "--noise", "1", "--out",
                         w.base + "/synth_sharp"], "error"))
    probes.append(Probe("outputs", "export -o equal to -w (atomic in place)", ["export", "-w", "{cwd}/d.pth", "-o",
                                                                               "{cwd}/d.pth"], "ok", succeeded,
                        setup=lambda cwd: shutil.copy(w.denoiser, os.path.join(cwd, "d.pth"))))
    probes.append(Probe("outputs", "deblur into an existing read-only file",
                        ["deblur", "-i", b, "-k", k, "-m", "wiener", "-o", "{cwd}/ro.png"], "valid",
                        image_ok("{cwd}/ro.png"),
                        setup=lambda cwd: (shutil.copy(b, os.path.join(cwd, "ro.png")),
                                           os.chmod(os.path.join(cwd, "ro.png"), 0o444))))
    return probes


def interrupt_probes(w):
    """A signal during a run: afterwards the output is either absent or complete, and no temp file is left
    once a later write goes into the same folder."""
    big = os.path.join(w.base, "big.png")
    if not os.path.isfile(big):
        png(to8(test_image(1024, 1024, 3, 5)), big)
    probes = []

    def check_out(cwd, text):
        out = os.path.join(cwd, "x.png")
        if os.path.exists(out):
            err = image_ok(out)(cwd, text)
            if err:
                return "a partial output: " + err
        return None
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        for after in (0.5, 1.5, 3.0):
            p = Probe("interrupts", f"deblur -m admm on 1 MP, {signal.Signals(sig).name} after {after} s",
                      deblur(big, w.kernel, "admm", ["--param", "iters=300"]), "valid", check_out, timeout=300,
                      interrupt=(sig, after))
            probes.append(p)
    return probes


def build_probes(w, only):
    groups = [("images", image_probes), ("kernels", kernel_probes), ("checkpoints", checkpoint_probes),
              ("configs", config_probes), ("resume+bundles", train_state_probes), ("flags", flag_probes),
              ("outputs", output_probes), ("interrupts", interrupt_probes)]
    probes = []
    for name, make in groups:
        if only and name not in only and not (name == "configs" and "resume+bundles" in only):
            continue
        probes += make(w)
    return probes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default=os.path.join(REPO, "build", "unroll"))
    ap.add_argument("--work", default="/tmp/unroll_probe")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--only", default="", help="comma-separated groups: images,kernels,checkpoints,configs,"
                                                "resume+bundles,flags,outputs,interrupts")
    a = ap.parse_args()
    exe = os.path.abspath(a.exe)
    if not os.access(exe, os.X_OK):
        sys.exit(f"error: {exe} is not an executable (build first, or pass --exe)")
    shutil.rmtree(os.path.join(a.work, "run"), ignore_errors=True)
    w = World(exe, a.work)
    only = {s for s in a.only.split(",") if s}
    probes = build_probes(w, only)
    print(f"{len(probes)} probes, {a.jobs} at a time", flush=True)
    t0 = time.time()
    results = []
    with futures.ThreadPoolExecutor(a.jobs) as pool:
        jobs = [pool.submit(run_probe_wrapped, p, exe, a.work, i) for i, p in enumerate(probes)]
        for j in futures.as_completed(jobs):
            results.append(j.result())
    results.sort(key=lambda r: r[3])
    pwned = [root for root, _dirs, files in os.walk(os.path.join(a.work, "run")) if "PWNED_PROBE" in files]
    outcomes = ["behaved", "clean error", "refused", "unclean error", "crash", "hung", "silent"]
    counts = {}
    with open(os.path.join(a.work, "probes.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["category", "probe", "expected", "outcome", "exit", "detail"])
        for probe, rc, (outcome, detail), _i in results:
            wr.writerow([probe.category, probe.name, probe.expect, outcome, rc, detail])
            c = counts.setdefault(probe.category, dict.fromkeys(outcomes, 0))
            c[outcome] += 1
    total = dict.fromkeys(outcomes, 0)
    lines = ["| category | probes | " + " | ".join(outcomes) + " |", "|---|" + "---|" * (len(outcomes) + 1)]
    for cat, c in counts.items():
        lines.append(f"| {cat} | {sum(c.values())} | " + " | ".join(str(c[o]) for o in outcomes) + " |")
        for o in outcomes:
            total[o] += c[o]
    lines.append(f"| **all** | **{sum(total.values())}** | " + " | ".join(f"**{total[o]}**" for o in outcomes) + " |")
    table = "\n".join(lines)
    with open(os.path.join(a.work, "table.md"), "w") as f:
        f.write(table + "\n")
    print(table)
    print(f"{time.time() - t0:.0f} s; details: {os.path.join(a.work, 'probes.csv')}")
    bad = [r for r in results if r[2][0] in ("unclean error", "crash", "hung", "silent", "refused")]
    for probe, rc, (outcome, detail), _i in bad:
        print(f"  {outcome}: [{probe.category}] {probe.name} (exit {rc}): {detail}")
    if pwned:
        print("  a pickle's os.system ran in: " + ", ".join(pwned))
    sys.exit(1 if bad or pwned else 0)


def run_probe_wrapped(probe, exe, work, index):
    probe_, rc, outcome = run_probe(probe, exe, work, index)
    return probe_, rc, outcome, index


if __name__ == "__main__":
    main()
