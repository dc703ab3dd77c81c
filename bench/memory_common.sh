# Set-up shared by the memory benchmarks (bench/measure_memory.sh, bench/measure_24mp.sh); sourced from
# the repository root, not run. Gives B (the unroll binary, $UNROLL to override), a scratch folder
# $work removed on exit, and two helpers.
set -euo pipefail
B=${UNROLL:-build/unroll}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# tiled_sample HEIGHT WIDTH FILE: the bundled sample photo tiled to a HEIGHT x WIDTH RGB image.
tiled_sample() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys
import numpy as np
from PIL import Image
h, w, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
src = np.asarray(Image.open('data/sample/astronaut.png').convert('RGB'))
ry, rx = (h + src.shape[0] - 1) // src.shape[0], (w + src.shape[1] - 1) // src.shape[1]
Image.fromarray(np.tile(src, (ry, rx, 1))[:h, :w]).save(path)
PY
}

# kernel_flags METHOD: sets the array `kernel` to the bundled 17x17 motion kernel for a non-blind
# method, and empties it for the blind ones, which find the blur themselves (and refuse -k).
kernel_flags() {
  kernel=(-k data/sample/motion17.csv)
  case $1 in convir|atrous|unrolled-blind) kernel=() ;; esac
}
