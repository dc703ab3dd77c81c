#!/usr/bin/env bash
# Golden outputs: runs `unroll deblur` for every registered method (grey and colour, with and without
# --noise, rotational blur, the boundaries, a few parameters) and, when ../shared (or $UNROLL_SHARED) is present, the DPIR
# protocol evaluation; writes a digest of every restored image (16-bit PNG) and of what each run printed
# (timings removed) to OUT/digests.txt. Two builds give the same file exactly when their outputs are
# bit-identical:
#
#   bash scripts/golden_outputs.sh build-before /tmp/golden-before
#   bash scripts/golden_outputs.sh build /tmp/golden-after
#   diff /tmp/golden-before/digests.txt /tmp/golden-after/digests.txt && echo identical
#
# Plans FFTW with FFTW_ESTIMATE (deterministic; measured plans may differ between runs in the last
# bits) and runs on two threads. The inputs are made by Python (numpy + OpenCV, Debian's python3-opencv)
# from the bundled sample, so they do not depend on the build under test.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:?usage: golden_outputs.sh BUILD_DIR OUT_DIR}
OUT=${2:?usage: golden_outputs.sh BUILD_DIR OUT_DIR}
UNROLL="$PWD/$BUILD/unroll"
[ -x "$UNROLL" ] || UNROLL="$BUILD/unroll"
[ -x "$UNROLL" ] || { echo "error: $BUILD/unroll not found" >&2; exit 1; }
export UNROLL_FFTW_PLANNER=estimate OMP_NUM_THREADS=2
mkdir -p "$OUT/in" "$OUT/img" "$OUT/log"
rm -f "$OUT/img/"* "$OUT/log/"*

/usr/bin/python3 - "$OUT/in" <<'EOF'
import sys, numpy as np, cv2
out = sys.argv[1]
x = cv2.imread("data/sample/astronaut.png", cv2.IMREAD_COLOR).astype(np.float64) / 255.0
k = np.loadtxt("data/sample/motion17.csv", delimiter=",")
r = k.shape[0] // 2
pad = cv2.copyMakeBorder(x, r, r, r, r, cv2.BORDER_REFLECT)
y = cv2.filter2D(pad, -1, k[::-1, ::-1], borderType=cv2.BORDER_CONSTANT)[r:-r, r:-r]
y = y + np.random.default_rng(0).normal(0, 2.55 / 255, y.shape)
cv2.imwrite(f"{out}/colour.png", np.clip(np.round(y * 255), 0, 255).astype(np.uint8))
grey = cv2.cvtColor(np.clip(y, 0, 1).astype(np.float32), cv2.COLOR_BGR2GRAY)
cv2.imwrite(f"{out}/grey.png", np.round(grey * 255).astype(np.uint8))
EOF
cp data/sample/motion17.csv "$OUT/in/k.csv"

run() {  # run NAME ARGS...: one deblur; the image and the printed lines (timings dropped) are digested
  local name=$1
  shift
  "$UNROLL" deblur --bits 16 -o "$OUT/img/$name.png" "$@" >"$OUT/log/$name.txt" 2>&1 || echo "exit $?" >>"$OUT/log/$name.txt"
}

C=(-i "$OUT/in/colour.png")
G=(-i "$OUT/in/grey.png")
K=(-k "$OUT/in/k.csv")
UNR=models/unrolled_small.pth
for m in wiener rl admm hqs-tv pnp unrolled; do
  run "colour_${m}_noise" "${C[@]}" "${K[@]}" -m $m --noise 2.55
  run "colour_${m}_auto" "${C[@]}" "${K[@]}" -m $m
  run "grey_${m}_noise" "${G[@]}" "${K[@]}" -m $m --noise 2.55
done
run colour_usrnet "${C[@]}" "${K[@]}" -m usrnet --weights $UNR --noise 2.55
run grey_usrnet "${G[@]}" "${K[@]}" -m usrnet --weights $UNR
for m in convir atrous; do
  run "colour_$m" "${C[@]}" -m $m
  run "grey_$m" "${G[@]}" -m $m
done
run wiener_nsr "${C[@]}" "${K[@]}" -m wiener --nsr 0.01
run wiener_identity "${C[@]}" "${K[@]}" -m wiener --noise 2.55 --param laplacian=0
run rl_tv "${C[@]}" "${K[@]}" -m rl --iters 12 --param tv=0.002 --param damping=0.01
run rl_accel_zero "${C[@]}" "${K[@]}" -m rl --param accelerate=1 --param zero_boundary=1
run admm_set "${C[@]}" "${K[@]}" -m admm --lambda 0.01 --rho 0.05 --iters 20 --tol 0 --param anisotropic=1
run hqs_hyper "${C[@]}" "${K[@]}" -m hqs-tv --alpha 0.667 --param beta_max=64 --param inner=2
run pnp_tv "${C[@]}" "${K[@]}" -m pnp --prior tv --noise 2.55 --iters 6 --lambda 0.3
run pnp_plain "${C[@]}" "${K[@]}" -m pnp --noise 2.55 --param alternate=0
run unrolled_x2 "${C[@]}" "${K[@]}" -m unrolled --noise 2.55 --param passes=2
run unrolled_plain "${C[@]}" "${K[@]}" -m unrolled --noise 2.55 --param alternate=0
for b in circular replicate reflect taper; do
  run "admm_$b" "${C[@]}" "${K[@]}" -m admm --noise 2.55 --boundary $b
done
for m in wiener hqs-tv pnp unrolled; do
  run "rot_$m" "${C[@]}" --blur rotational --angle 6 -m $m --noise 2.55
done
run rot_wiener_estimated "${C[@]}" --blur rotational --centre 120,130 -m wiener --noise 2.55
run err_no_kernel "${C[@]}" -m admm

SHARED=${UNROLL_SHARED:-../shared}
if [ -d "$SHARED/data/eval/set3c" ]; then
  "$UNROLL" eval --data "dpir:$SHARED/data/eval/set3c:$SHARED/data/kernels/levin09" --noise 2.55 \
    --methods wiener,rl,admm,hqs-tv,pnp,unrolled --grids 0 --out "$OUT/eval" >/dev/null 2>&1
  # dataset,case,method,status,psnr,ssim,score (times dropped)
  cut -d, -f1-7 "$OUT/eval/results.csv" >"$OUT/log/dpir_results.txt"
fi

# What a run printed, without what varies between runs: progress lines and timings.
for f in "$OUT"/log/*.txt; do
  grep -v -E 'it/s|ETA' "$f" | sed -E 's/[0-9.]+ s -> .*$/<time>/' >"$f.tmp" || true
  mv "$f.tmp" "$f"
done
(cd "$OUT" && sha256sum img/*.png log/*.txt) >"$OUT/digests.txt"
echo "$(wc -l <"$OUT/digests.txt") digests -> $OUT/digests.txt"
