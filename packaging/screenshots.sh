#!/usr/bin/env bash
# Renders every view of the workbench to PNG from real runs (eleven jobs on the shipped gpt-mini: ARS
# at p = 0.5 and 0.3, uniform ranks over SVD and whitening at three budgets, all evaluated on the
# first 2 test documents and the first 200 items of the demo multiple-choice task, and uniform SVD at
# the three budgets evaluated on 1 document, a second protocol; into a scratch database), the budget
# curves of acc_norm, a hover read-out and Compare's three tabs, then every
# chapter of the teaching mode and its presenter mode (teach-*.png; four more short jobs: a uniform and
# an ARS run for chapter 4, the live ARS run of chapter 5, a short RankDyna run for chapter 6), under
# Xvfb when it is installed, else offscreen.
# Usage: packaging/screenshots.sh [BUILD_DIR] [OUT_DIR]   (defaults: build, docs/screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
out="${2:-docs/screenshots}"
app="$build/app/ranklab"
[[ -x "$app" ]] || { echo "screenshots: $app not found; build first (packaging/bootstrap.sh)" >&2; exit 2; }
mkdir -p "$out"
render() {
  if command -v xvfb-run >/dev/null; then
    xvfb-run -a -s "-screen 0 1920x1200x24" "$app" "$@"
  else
    QT_QPA_PLATFORM=offscreen "$app" "$@"
  fi
}
render --view-screenshots "$out"
render --teach-screenshots "$out"
ls -l "$out"/view-*.png "$out"/teach-*.png
