#!/usr/bin/env bash
# RankDyna vs FWSVD-truncate-then-fine-tune at equal budget and equal training steps (issue 6's claim),
# through ranklab-cli, starting from general pre-trained models:
#  - encoder: the shipped bert-mini (masked LM; a seeded classification head is attached) fine-tuned on
#    sotu-era/train.tsv (5 classes); accuracy on sotu-era/valid.tsv + test.tsv (920 passages, written
#    to OUTDIR/sotu-era-eval.tsv);
#  - decoder: the shipped gpt-mini fine-tuned on lm/valid.txt (held-in text), perplexity on the first 6
#    documents of lm/test.txt.
# Both sides of a pair get the same seed (the seeded head, the calibration windows and the batches).
# Usage: bench/rankdyna_claims.sh CLI OUTDIR   (writes OUTDIR/*.json, OUTDIR/*.cmd and prints a table)
# Env: MODELS (default "bert-mini gpt-mini"), BUDGETS ("0.5 0.3 0.2"), SEEDS ("0"), STEPS (300),
#      LR (2e-4), BATCH (8), WARMUP (RankDyna's --warmup-steps; default: the CLI's, 10% of STEPS),
#      JOBS (runs at once, 1), THREADS (LibTorch threads per run; default: the CLI's).
# Finished runs (a non-empty OUTDIR/NAME.json) are not run again, so the command resumes.
set -euo pipefail
cli=$(realpath "$1") out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")/.." && pwd)
res=$here/resources
mkdir -p "$out"
models=${MODELS:-bert-mini gpt-mini}
budgets=${BUDGETS:-0.5 0.3 0.2}
seeds=${SEEDS:-0}
steps=${STEPS:-300}
lr=${LR:-2e-4}
batch=${BATCH:-8}
jobs=${JOBS:-1}
common=(--db "$out/claims.db" --cache-dir "$out/cache" --json --finetune-steps "$steps" --lr "$lr" --batch "$batch")
[[ -n "${THREADS:-}" ]] && common+=(--threads "$THREADS")
dyna=()
[[ -n "${WARMUP:-}" ]] && dyna+=(--warmup-steps "$WARMUP")

eval_tsv=$out/sotu-era-eval.tsv
{ cat "$res/data/sotu-era/valid.tsv"; tail -n +2 "$res/data/sotu-era/test.tsv"; } > "$eval_tsv"

args_for() {
  case $1 in
    bert-mini) echo "$res/models/bert-mini --train $res/data/sotu-era/train.tsv --calib $res/data/sotu-era/train.tsv" \
                    "--calib-samples 128 --labelled $eval_tsv" ;;
    gpt-mini) echo "$res/models/gpt-mini --train $res/data/lm/valid.txt --calib $res/data/lm/valid.txt --calib-len 128" \
                   "--calib-samples 64 --eval $res/data/lm/test.txt --max-docs 6" ;;
    *) echo "unknown model $1 (bert-mini or gpt-mini)" >&2; exit 2 ;;
  esac
}

# One line per run, the long RankDyna runs first so that JOBS > 1 ends together.
tasks=$out/tasks.txt
: > "$tasks"
for method in svd-rankdyna fwsvd-uniform; do
  for m in $models; do
    read -r -a margs <<< "$(args_for "$m")"
    for p in $budgets; do
      for seed in $seeds; do
        name=$m-$method-$p-s$seed
        [[ -s "$out/$name.json" ]] && continue
        d=${method%%-*} s=${method#*-}
        cmd=("$cli" compress "${margs[@]}" --decomp "$d" --select "$s" --keep "$p" --seed "$seed" "${common[@]}")
        [[ $s == rankdyna ]] && cmd+=("${dyna[@]}")
        printf '%q ' "${cmd[@]}" > "$out/$name.cmd"
        echo "$name" >> "$tasks"
      done
    done
  done
done

run_one() {
  local out=$1 name=$2
  if bash "$out/$name.cmd" > "$out/$name.json.tmp" 2> "$out/$name.err"; then
    mv "$out/$name.json.tmp" "$out/$name.json"
  else
    echo "failed: $name (see $out/$name.err)" >&2
  fi
}
export -f run_one
xargs -a "$tasks" -r -P "$jobs" -I{} bash -c 'run_one "$1" "$2"' _ "$out" {}

python3 - "$out" <<'EOF'
import glob, json, math, os, re, sys
out = sys.argv[1]
runs = {}
for f in sorted(glob.glob(os.path.join(out, "*.json"))):
    name = os.path.basename(f)[:-5]
    m = re.fullmatch(r"(.+-mini)-(fwsvd-uniform|svd-rankdyna)-([0-9.]+)-s(\d+)", name)
    if not m: continue
    j = json.load(open(f))
    metric = "perplexity" if "perplexity" in j["after"] else "accuracy"
    runs[(m[1], m[3], int(m[4]), m[2])] = (j["after"][metric], j["kept_fraction"], metric)
mean = lambda xs: sum(xs) / len(xs)
def se(xs):
    if len(xs) < 2: return float("nan")
    mu = mean(xs)
    return math.sqrt(sum((x - mu) ** 2 for x in xs) / (len(xs) - 1) / len(xs))
keys = sorted({(m, p) for (m, p, _, _) in runs}, key=lambda k: (k[0], -float(k[1])))
print("| model (metric) | p | seeds | FWSVD, then fine-tune | RankDyna | margin (mean ± SE over seeds) | margin per seed |")
print("|---|---|---|---|---|---|---|")
for m, p in keys:
    seeds = sorted(s for (mm, pp, s, meth) in runs if mm == m and pp == p and meth == "svd-rankdyna"
                   and (mm, pp, s, "fwsvd-uniform") in runs)
    if not seeds: continue
    b = [runs[(m, p, s, "fwsvd-uniform")] for s in seeds]
    d = [runs[(m, p, s, "svd-rankdyna")] for s in seeds]
    metric = b[0][2]
    if metric == "perplexity":
        margins = [x[0] - y[0] for x, y in zip(b, d)]
        fmt = lambda v: f"{v:.2f}"
        unit = ""
    else:
        margins = [100 * (y[0] - x[0]) for x, y in zip(b, d)]
        fmt = lambda v: f"{100 * v:.1f}%"
        unit = " points"
    per = ", ".join(f"{x:+.1f}" for x in margins)
    print(f"| {m} ({metric}) | {p} (achieved {mean([x[1] for x in b]):.3f} / {mean([x[1] for x in d]):.3f}) | {len(seeds)} | "
          f"{fmt(mean([x[0] for x in b]))} | {fmt(mean([x[0] for x in d]))} | {mean(margins):+.2f} ± {se(margins):.2f}{unit} | {per} |")
EOF
