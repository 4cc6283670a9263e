#!/usr/bin/env bash
# ARS vs uniform ranks at the same budget (issue 5's claim), through ranklab-cli, on three real models:
# the reference stories260K (../shared/reference), the shipped gpt-mini and bert-mini-sotu-era.
# Every run compresses, evaluates the compressed model ("compressed": no fine-tuning), fine-tunes it
# briefly on the calibration data and evaluates again ("after"), so one run gives both columns.
# Usage: bench/ars_claims.sh CLI OUTDIR [REFERENCE_DIR]   (writes OUTDIR/*.json and OUTDIR/table.md)
# Env: MODELS (default "stories260K bert-mini-sotu-era gpt-mini"), BUDGETS ("0.5 0.3"), DECOMPS ("svd fwsvd"),
#      ARS_STEPS (1500; ARS stops earlier once within budget and the loss has plateaued), FT_STEPS (100),
#      ARS_ARGS (more flags for the ARS runs only, e.g. "--ars-lr 3e-3" where 1500 steps at 1e-3 do not reach p).
set -euo pipefail
cli=$(realpath "$1") out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")/.." && pwd)
ref=${3:-$here/../shared/reference}
mkdir -p "$out"
res=$here/resources
models=${MODELS:-stories260K bert-mini-sotu-era gpt-mini}
budgets=${BUDGETS:-0.5 0.3}
decomps=${DECOMPS:-svd fwsvd}
arsSteps=${ARS_STEPS:-1500}
ftSteps=${FT_STEPS:-100}
common=(--db "$out/claims.db" --cache-dir "$out/cache" --json --ars-steps "$arsSteps" --finetune-steps "$ftSteps")

args_for() {
  case $1 in
    stories260K)
      # Stories 1-24 of the reference text are held out for evaluation, 25-69 calibrate and fine-tune.
      awk -v RS='<[|]endoftext[|]>' -v e="$out/stories-eval.txt" -v c="$out/stories-calib.txt" \
        'NF { f = (++i <= 24) ? e : c; printf "%s<|endoftext|>", $0 > f }' "$ref/stories260K/TinyStories-valid.first69.txt"
      echo "$ref/stories260K/stories260K.bin --tokenizer $ref/stories260K/tok512.bin --calib $out/stories-calib.txt" \
           "--calib-len 128 --calib-samples 128 --eval $out/stories-eval.txt --batch 8" ;;
    gpt-mini)
      echo "$res/models/gpt-mini --calib $res/data/lm/train.txt --calib-len 128 --calib-samples 256" \
           "--eval $res/data/lm/test.txt --max-docs 6 --batch 4" ;;
    bert-mini-sotu-era)
      echo "$res/models/bert-mini-sotu-era --calib $res/data/sotu-era/train.tsv --calib-samples 512" \
           "--labelled $res/data/sotu-era/valid.tsv --batch 8" ;;
  esac
}

for m in $models; do
  read -r -a margs <<< "$(args_for "$m")"
  for d in $decomps; do
    for p in $budgets; do
      for s in uniform ars; do
        f="$out/$m-$d-$s-$p.json"
        [[ -s "$f" ]] && continue
        extra=()
        [[ $s == ars && -n "${ARS_ARGS:-}" ]] && read -r -a extra <<< "$ARS_ARGS"
        echo "$cli compress ${margs[*]} --decomp $d --select $s --keep $p ${common[*]} ${extra[*]}" > "$f.cmd"
        "$cli" compress "${margs[@]}" --decomp "$d" --select "$s" --keep "$p" "${common[@]}" "${extra[@]}" > "$f.tmp" 2> "$f.err" &&
          mv "$f.tmp" "$f" || echo "failed: $m $d $s $p (see $f.err)" >&2
      done
    done
  done
done

python3 - "$out" <<'EOF'
import glob, json, os, sys
out = sys.argv[1]
rows = {}
for f in sorted(glob.glob(os.path.join(out, "*.json"))):
    j = json.load(open(f))
    m, d, s, p = os.path.basename(f)[:-5].rsplit("-", 3)
    metric = "perplexity" if "perplexity" in j["before"] else "accuracy"
    v = lambda st: j[st][metric]
    rows.setdefault((m, d, p), {})[s] = (v("compressed"), v("after"), j["kept_fraction"], j.get("details", {}).get("ars", {}), v("before"), metric)
fmt = lambda x, metric: f"{x:.1f}" if metric == "perplexity" else f"{100 * x:.1f}%"
print("| model (metric) | decomposition | p | uniform | ARS | uniform + fine-tune | ARS + fine-tune | ARS steps (stop) |")
print("|---|---|---|---|---|---|---|---|")
for (m, d, p), r in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1], -float(kv[0][2]))):
    if "uniform" not in r or "ars" not in r: continue
    u, a = r["uniform"], r["ars"]
    metric = u[5]
    print(f"| {m} ({metric}, dense {fmt(u[4], metric)}) | {d} | {p} (uniform {u[2]:.4f}, ARS {a[2]:.4f}) | {fmt(u[0], metric)} | {fmt(a[0], metric)} | "
          f"{fmt(u[1], metric)} | {fmt(a[1], metric)} | {a[3].get('steps')} ({a[3].get('stopped_because')}) |")
EOF
