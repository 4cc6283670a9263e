#!/usr/bin/env bash
# What a sweep's sharing buys (issue 8): the same grid run as one `ranklab-cli sweep` (one calibration
# pass and one decomposition per decomposition method, reused from the cache by every other point) and
# as separate `ranklab-cli run` processes without the cache (every point calibrates and decomposes).
# Both in this one command, on the shipped gpt-mini: svd and whiten x uniform and energy x p 0.3 0.5 0.7
# (12 points), perplexity on the first document of lm/test.txt, calibration 32 windows of 256 tokens.
# Usage: bench/sweep_sharing.sh CLI [OUTDIR]   (prints both wall times and their ratio)
set -euo pipefail
cli=$(realpath "$1")
out=$(realpath -m "${2:-$(mktemp -d)}")
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
rm -rf "$out/cache" "$out/sweep.db" "$out/separate.db" "$out/tasks"
grid() {
  cat <<JSON
{"model": "$here/resources/models/gpt-mini", "eval": "$here/resources/data/lm/test.txt", "max_eval_documents": 1,
 "calib": "$here/resources/data/lm/valid.txt", "calib_samples": 32, "calib_length": 256, "threads": ${THREADS:-1},
 "cache_dir": "$out/cache", "use_cache": $1,
 "decomposition": ["svd", "whiten"], "selector": ["uniform", "energy"], "keep": [0.3, 0.5, 0.7]}
JSON
}
grid true > "$out/grid.json"
grid false > "$out/grid-nocache.json"

t0=$(date +%s.%N)
"$cli" sweep "$out/grid.json" --db "$out/sweep.db" > "$out/sweep.txt"
t1=$(date +%s.%N)
"$cli" sweep "$out/grid-nocache.json" --emit-slurm "$out/tasks" --json > /dev/null
n=$(ls "$out"/tasks/task-*.json | wc -l)
t2=$(date +%s.%N)
for ((i = 0; i < n; i++)); do
  "$cli" run "$out/tasks/task-$i.json" --db "$out/separate.db" --json > /dev/null
done
t3=$(date +%s.%N)
tail -n 2 "$out/sweep.txt"
python3 - "$t0" "$t1" "$t2" "$t3" "$n" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5]); n = int(sys.argv[5])
sweep, separate = t1 - t0, t3 - t2
print(f"{n} points: one sweep {sweep:.1f} s; separate runs without the cache {separate:.1f} s; ratio {separate / sweep:.2f}x")
PY
