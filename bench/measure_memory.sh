#!/bin/bash
# Peak resident memory of `unroll deblur` per method at two image sizes (384^2 and 768^2 RGB, the
# bundled sample tiled), for the memory model of tiled deblurring (Method::memory_base and
# bytes_per_pixel in src/eval/method_table.cpp; eval/tiling.h). Prints: method side peak_KB seconds.
# The slope between the two sizes is bytes per pixel, the intercept the base (LibTorch, weights).
#   bash bench/measure_memory.sh [methods...]     (run from the repository root after a build)
source "$(dirname "$0")/memory_common.sh"
tiled_sample 384 384 "$work/y384.png"
tiled_sample 768 768 "$work/y768.png"
methods=${*:-wiener rl admm hqs-tv pnp unrolled convir atrous}
for m in $methods; do
  kernel_flags "$m"
  for n in 384 768; do
    s=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/kb" "$B" deblur -i "$work/y$n.png" "${kernel[@]}" -m "$m" \
      -o "$work/out.png" --noise 2.55 --tile -1 >/dev/null 2>"$work/err" || { echo "$m $n failed: $(tail -1 "$work/err")"; continue; }
    e=$(date +%s.%N)
    echo "$m $n $(tail -1 "$work/kb") $(echo "$e - $s" | bc)"
  done
done
