#!/usr/bin/env bash
# RankDyna vs FWSVD-truncate-then-fine-tune at equal budget and equal training steps (issue 6's claim),
# through ranklab-cli, starting from general pre-trained models:
#  - encoder: the shipped bert-mini (masked LM; a seeded classification head is attached) fine-tuned on
#    sotu-era (5 classes), accuracy on sotu-era/valid.tsv;
#  - decoder: the shipped gpt-mini fine-tuned on lm/valid.txt (held-in text), perplexity on the first 6
#    documents of lm/test.txt.
# Usage: bench/rankdyna_claims.sh CLI OUTDIR   (writes OUTDIR/*.json and prints a markdown table)
# Env: MODELS (default "bert-mini gpt-mini"), BUDGETS ("0.5 0.3 0.2"), STEPS (300), LR (2e-4), BATCH (8),
# SEED (0: the seeded head, calibration and training batches).
set -euo pipefail
cli=$(realpath "$1") out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")/.." && pwd)
res=$here/resources
mkdir -p "$out"
models=${MODELS:-bert-mini gpt-mini}
budgets=${BUDGETS:-0.5 0.3 0.2}
steps=${STEPS:-300}
lr=${LR:-2e-4}
batch=${BATCH:-8}
seed=${SEED:-0}
common=(--db "$out/claims.db" --cache-dir "$out/cache" --json --finetune-steps "$steps" --lr "$lr" --batch "$batch" --seed "$seed")

args_for() {
  case $1 in
    bert-mini) echo "$res/models/bert-mini --train $res/data/sotu-era/train.tsv --calib $res/data/sotu-era/train.tsv" \
                    "--calib-samples 128 --labelled $res/data/sotu-era/valid.tsv" ;;
    gpt-mini) echo "$res/models/gpt-mini --train $res/data/lm/valid.txt --calib $res/data/lm/valid.txt --calib-len 128" \
                   "--calib-samples 64 --eval $res/data/lm/test.txt --max-docs 6" ;;
  esac
}

for m in $models; do
  read -r -a margs <<< "$(args_for "$m")"
  for p in $budgets; do
    for method in fwsvd-uniform svd-rankdyna; do
      f="$out/$m-$method-$p.json"
      [[ -s "$f" ]] && continue
      d=${method%%-*} s=${method#*-}
      echo "$cli compress ${margs[*]} --decomp $d --select $s --keep $p ${common[*]}" > "$f.cmd"
      "$cli" compress "${margs[@]}" --decomp "$d" --select "$s" --keep "$p" "${common[@]}" > "$f.tmp" 2> "$f.err" &&
        mv "$f.tmp" "$f" || echo "failed: $m $method $p (see $f.err)" >&2
    done
  done
done

python3 - "$out" <<'EOF'
import glob, json, os, sys
out = sys.argv[1]
rows = {}
for f in sorted(glob.glob(os.path.join(out, "*.json"))):
    j = json.load(open(f))
    name = os.path.basename(f)[:-5]
    m, rest = name.split("-mini-")
    method, p = rest.rsplit("-", 1)
    metric = "perplexity" if "perplexity" in j["after"] else "accuracy"
    rows.setdefault((m + "-mini", p), {})[method] = (j["after"][metric], j["kept_fraction"], metric, j["before"][metric])
fmt = lambda x, metric: f"{x:.2f}" if metric == "perplexity" else f"{100 * x:.1f}%"
print("| model (metric) | p | FWSVD, then fine-tune | RankDyna | margin |")
print("|---|---|---|---|---|")
for (m, p), r in sorted(rows.items(), key=lambda kv: (kv[0][0], -float(kv[0][1]))):
    if "fwsvd-uniform" not in r or "svd-rankdyna" not in r: continue
    b, d = r["fwsvd-uniform"], r["svd-rankdyna"]
    metric = b[2]
    margin = (b[0] - d[0]) if metric == "perplexity" else 100 * (d[0] - b[0])
    unit = "" if metric == "perplexity" else " points"
    print(f"| {m} ({metric}) | {p} (achieved {b[1]:.3f} / {d[1]:.3f}) | {fmt(b[0], metric)} | {fmt(d[0], metric)} | {margin:+.2f}{unit} |")
EOF
