#!/usr/bin/env bash
# Methods x budgets table on a real model, through ranklab-cli: perplexity after compression without
# fine-tuning, on held-out text (the first EVAL_DOCS documents; calibration uses the rest).
# Usage: bench/compression_table.sh CLI MODEL TEXT [TOKENIZER] > table.md
# Env: BUDGETS (default "0.3 0.5 0.7"), DECOMPS (default "svd fwsvd iwsvd asvd whiten"),
#      SELECTORS (default "uniform energy sensitivity"), EVAL_DOCS (default 24), CALIB_LEN (default 256).
set -euo pipefail
cli=$1 model=$2 text=$3 tok=${4:-}
budgets=${BUDGETS:-0.3 0.5 0.7}
decomps=${DECOMPS:-svd fwsvd iwsvd asvd whiten}
selectors=${SELECTORS:-uniform energy sensitivity}
evalDocs=${EVAL_DOCS:-24}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Split at the document separator: documents 1..evalDocs for evaluation, the rest for calibration.
awk -v RS='<[|]endoftext[|]>' -v n="$evalDocs" -v e="$work/eval.txt" -v c="$work/calib.txt" \
  'NF { f = (++i <= n) ? e : c; printf "%s<|endoftext|>", $0 > f }' "$text"
common=(--eval "$work/eval.txt" --calib "$work/calib.txt" --calib-len "${CALIB_LEN:-256}" --db "$work/runs.db"
        --cache-dir "$work/cache" --json)
[[ -n "$tok" ]] && common+=(--tokenizer "$tok")
field() { sed -n "s/.*\"$1\":{\"perplexity\":\([0-9.e+-]*\).*/\1/p"; }
dense=""
printf '| decomposition | selector |'
for p in $budgets; do printf ' p = %s |' "$p"; done
printf '\n|---|---|'
for p in $budgets; do printf -- '---|'; done
printf '\n'
for d in $decomps; do
  for s in $selectors; do
    printf '| %s | %s |' "$d" "$s"
    for p in $budgets; do
      out=$("$cli" compress "$model" --decomp "$d" --select "$s" --keep "$p" "${common[@]}" 2>/dev/null) || { printf ' failed |'; continue; }
      [[ -z "$dense" ]] && dense=$(printf '%s' "$out" | field before)
      printf ' %.1f |' "$(printf '%s' "$out" | field after)"
    done
    printf '\n'
  done
done
printf '\nUncompressed: %s on the same %s held-out documents.\n' "$dense" "$evalDocs"
