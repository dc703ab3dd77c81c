#!/bin/bash
# Issue 28's memory goal: a 24 MP RGB photo (6000x4000, the bundled sample tiled, 17x17 motion kernel,
# noise 2.55) restored by each method within 4 GiB (--max-memory 4G: the tile planner's budget). Prints
# per method: peak resident memory (/usr/bin/time %M), seconds, and the tile plan deblur reported.
#   bash bench/measure_24mp.sh [methods...]     (run from the repository root after a build; long:
#   the learned methods take 20-30 minutes each on 2 cores)
source "$(dirname "$0")/memory_common.sh"
tiled_sample 4000 6000 "$work/y24.png"
for m in ${*:-wiener rl admm hqs-tv pnp unrolled convir atrous}; do
  kernel_flags "$m"
  s=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/kb" "$B" deblur -i "$work/y24.png" "${kernel[@]}" -m "$m" \
    -o "$work/out.png" --noise 2.55 --max-memory 4G >"$work/out" 2>"$work/err" || { echo "$m failed: $(tail -1 "$work/err")"; continue; }
  e=$(date +%s.%N)
  plan=$(grep -io 'tile[^,]*' "$work/out" "$work/err" | head -1 || true)
  echo "$m peak $(awk '{printf "%.2f GiB", $1 / 1048576}' "$work/kb") $(echo "$e - $s" | bc | xargs printf '%.0f') s ${plan}"
done
