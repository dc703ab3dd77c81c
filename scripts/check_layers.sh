#!/usr/bin/env bash
# The floors of docs/architecture.md, checked: a file under src/<floor>/ includes only its own floor and
# lower ones, and the apps reach the library through its public floors (registry, harness, experiment,
# trainer, datasets, core), not model internals (priors/, nets/, hqs/); so do the Python bindings (python/). Prints each offending include
# and exits 1, else prints nothing and exits 0. Run by the test suite (Layers.NoUpwardIncludes).
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A rank=([core]=0 [io]=1 [classic]=1 [nets]=1 [priors]=2 [datasets]=2 [blind]=3 [hqs]=4
                 [train]=5 [eval]=5 [experiment]=6)
bad=0
for dir in src/*/; do
  floor=$(basename "$dir")
  if [ -z "${rank[$floor]+x}" ]; then
    echo "src/$floor: a floor docs/architecture.md does not rank (add it to scripts/check_layers.sh)"
    bad=1
    continue
  fi
  while IFS=: read -r file _ target; do
    to=${target%%/*}
    [ "$to" = "$floor" ] && continue
    if [ -z "${rank[$to]+x}" ] || [ "${rank[$to]}" -ge "${rank[$floor]}" ]; then
      echo "$file includes $target: $to is not below $floor"
      bad=1
    fi
  done < <(grep -rnoE '^#include "[a-z_]+/[^"]+"' "$dir" | sed -E 's/#include "([^"]+)"/\1/')
done
while IFS=: read -r file _ target; do
  echo "$file includes $target: apps use the public floors, not model internals"
  bad=1
done < <(grep -rnoE '^#include "(priors|nets|hqs)/[^"]+"' apps python | sed -E 's/#include "([^"]+)"/\1/')
exit $bad
