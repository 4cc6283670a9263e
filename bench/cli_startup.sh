#!/usr/bin/env bash
# ranklab-cli's start-up: mean wall time of commands that do no work, through the torch-free launcher
# (ranklab-cli) and, as the baseline in the same run, through the LibTorch half it execs for model
# commands (ranklab-cli-torch, which every command paid before the split).
#
# Usage: bench/cli_startup.sh [APP_DIR] [N]   (default build/app, 20 runs per command)
# Prints a Markdown table: command, mean and best wall seconds, and the ratio to the baseline.
set -euo pipefail
app=$(realpath "${1:-build/app}")
n=${2:-20}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
db="$scratch/runs.db"
"$app/ranklab-cli" runs list --db "$db" >/dev/null # create the empty database once

# Mean and best wall seconds of N runs of "$@" (stdout and stderr discarded).
measure() {
  python3 - "$n" "$@" <<'PY'
import subprocess, sys, time
n = int(sys.argv[1]); cmd = sys.argv[2:]
times = []
for _ in range(n):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    times.append(time.perf_counter() - t)
print(f"{sum(times) / n:.3f} {min(times):.3f}")
PY
}

read -r base_mean base_best < <(measure "$app/ranklab-cli-torch" --help)
echo "| command | mean s | best s | vs \`ranklab-cli-torch --help\` |"
echo "|---|---|---|---|"
row() {
  local label=$1
  shift
  read -r mean best < <(measure "$@")
  printf '| `%s` | %s | %s | %.3fx |\n' "$label" "$mean" "$best" "$(python3 -c "print($mean / $base_mean)")"
}
row "ranklab-cli-torch --help (baseline)" "$app/ranklab-cli-torch" --help
row "ranklab-cli --help" "$app/ranklab-cli" --help
row "ranklab-cli --version" "$app/ranklab-cli" --version
row "ranklab-cli runs list (empty database)" "$app/ranklab-cli" runs list --db "$db"
row "ranklab-cli compress --help (execs the LibTorch half)" "$app/ranklab-cli" compress --help
