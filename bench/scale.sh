#!/usr/bin/env bash
# RankLab at real model sizes: wall time and peak memory of each step of a job on a random-weight model
# of a real shape (ranklab-cli synth; quality is meaningless, time and memory are real).
#
# Usage: bench/scale.sh CLI MODEL OUTDIR
#   CLI     ranklab-cli;  MODEL  a Hugging Face directory (e.g. from `ranklab-cli synth --preset gpt2`)
#           or a GGUF file (`ranklab-cli convert DIR MODEL.gguf --dtype fp16`)
#   OUTDIR  gets NAME.json (the CLI's report), NAME.cmd, NAME.time ("wall-seconds peak-KiB") per step
# Env:
#   STEPS          the steps to run, in order (default "info eval svd svd-full whiten ars export";
#                  empty: run nothing, print the table of what OUTDIR holds):
#                    info      ranklab-cli info (headers only)
#                    eval      perplexity of the dense model on TEXT
#                    svd       plain SVD, uniform p = KEEP, --randomized-svd, no evaluation
#                    svd-full  the same with the full SVD (the plain SVD phase the whitening is compared with)
#                    whiten    whitening, CALIB_SAMPLES x CALIB_LENGTH calibration windows, uniform p = KEEP,
#                              perplexity on TEXT before and after
#                    ars       ARS_STEPS steps of ARS (batches of ARS_BATCH windows of ARS_LENGTH tokens),
#                              every activation kept (--activation-checkpointing off)
#                    ars-recompute  the same with each layer recomputed in the backward pass
#                              (--activation-checkpointing on)
#                    export    plain SVD at p = KEEP exported factorized, then `eval` of the export, against
#                              the dense `eval` (the eval step) of the same text
#   TEXT           evaluation text (default: the first 19,700 bytes of resources/data/lm/test.txt)
#   CALIB          calibration text (default: resources/data/lm/valid.txt)
#   KEEP (0.5)  CALIB_SAMPLES (16)  CALIB_LENGTH (256)  ARS_STEPS (20)  ARS_BATCH (2)  ARS_LENGTH (128)
#   DEVICE (cpu)  THREADS (LibTorch's default)
# Prints a Markdown table; peak RSS is the process's maximum resident set (GNU time), and "x file" its
# ratio to the size of the model's weights file(s).
set -euo pipefail
cli=$(realpath "$1") model=$(realpath "$2") out=$(realpath -m "$3")
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
steps=${STEPS-info eval svd svd-full whiten ars export}
keep=${KEEP:-0.5}
calib=${CALIB:-$here/resources/data/lm/valid.txt}
text=${TEXT:-$out/eval.txt}
if [[ -z "${TEXT:-}" ]]; then head -c 19700 "$here/resources/data/lm/test.txt" > "$text"; fi
common=(--device "${DEVICE:-cpu}")
[[ -n "${THREADS:-}" ]] && common+=(--threads "$THREADS")
job=(--keep "$keep" --no-store --no-cache --json "${common[@]}")

run() {  # run NAME ARGS...: one step, timed by GNU time
  local name=$1
  shift
  printf '%q ' "$cli" "$@" > "$out/$name.cmd"
  echo >> "$out/$name.cmd"
  echo "scale: $name" >&2
  if ! /usr/bin/time -f '%e %M' -o "$out/$name.time" "$cli" "$@" > "$out/$name.json" 2> "$out/$name.err"; then
    echo "scale: $name failed, see $out/$name.err" >&2
    tail -n 3 "$out/$name.err" >&2
  fi
}

for step in $steps; do
  case $step in
    info) run info info "$model" --json "${common[@]}" ;;
    eval) run eval eval "$model" --text "$text" --json "${common[@]}" ;;
    svd) run svd compress "$model" --decomp svd --select uniform --randomized-svd "${job[@]}" ;;
    svd-full) run svd-full compress "$model" --decomp svd --select uniform "${job[@]}" ;;
    whiten)
      run whiten compress "$model" --decomp whiten --select uniform --calib "$calib" \
        --calib-samples "${CALIB_SAMPLES:-16}" --calib-len "${CALIB_LENGTH:-256}" --eval "$text" "${job[@]}" ;;
    ars | ars-recompute)
      run "$step" compress "$model" --decomp svd --select ars --ars-steps "${ARS_STEPS:-20}" --no-early-stop \
        --batch "${ARS_BATCH:-2}" --calib "$calib" --calib-samples "${CALIB_SAMPLES:-16}" \
        --calib-len "${ARS_LENGTH:-128}" --activation-checkpointing "$([[ $step == ars ]] && echo off || echo on)" \
        "${job[@]}" ;;
    export)
      rm -rf "$out/factorized"
      run export compress "$model" --decomp svd --select uniform --randomized-svd --export "$out/factorized" "${job[@]}"
      run eval-factorized eval "$out/factorized" --text "$text" --json "${common[@]}" ;;
    *) echo "scale: unknown step '$step'" >&2; exit 2 ;;
  esac
done

python3 - "$out" "$model" <<'PY'
import json, os, sys
out, model = sys.argv[1], sys.argv[2]
weights = (os.path.getsize(model) if os.path.isfile(model) else
           sum(os.path.getsize(os.path.join(model, f)) for f in os.listdir(model) if f.endswith(".safetensors")))
def load(name):
    try:
        with open(os.path.join(out, name + ".json")) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None
def timed(name):
    try:
        wall, kib = open(os.path.join(out, name + ".time")).read().split()[-2:]
        return float(wall), float(kib) * 1024
    except (OSError, ValueError):
        return None
def phases(report):
    sums = {}
    for p in (report or {}).get("phases", []):
        sums[p["phase"]] = sums.get(p["phase"], 0.0) + p["seconds"]
    return sums
print(f"model `{model}`: weights {weights / 2**30:.2f} GiB on disk\n")
print("| step | wall | peak RSS | x file | detail |")
print("|---|---|---|---|---|")
rows = ["info", "eval", "svd", "svd-full", "whiten", "ars", "ars-recompute", "export", "eval-factorized"]
for name in rows:
    t = timed(name)
    if t is None:
        continue
    r = load(name)
    ph = phases(r)
    detail = ", ".join(f"{k} {v:.1f} s" for k, v in ph.items() if v >= 0.05)
    if r is None:
        detail = "failed: " + open(os.path.join(out, name + ".err")).read().strip().splitlines()[-1][:120]
    elif name.startswith("eval"):
        detail = f"{r['tokens']} tokens, perplexity {r['perplexity']:.4g}; " + detail
    elif name == "whiten" and r.get("before"):
        detail = f"perplexity {r['before'].get('perplexity', float('nan')):.4g} -> {r['after'].get('perplexity', float('nan')):.4g}; " + detail
    elif name.startswith("ars") and r.get("details", {}).get("ars"):
        a = r["details"]["ars"]
        detail = f"{a['steps']} steps, {a['training_seconds'] / max(1, a['steps']):.2f} s/step; " + detail
    print(f"| {name} | {t[0]:.1f} s | {t[1] / 2**30:.2f} GiB | {t[1] / weights:.2f} | {detail} |")
full, white = phases(load("svd-full")).get("decompose"), phases(load("whiten"))
if full and white.get("decompose"):
    print(f"\nwhitening phase / plain SVD phase (decompose): {white['decompose'] / full:.2f}x"
          f" (calibration passes {white.get('calibrate', 0):.1f} s besides)")
dense, fact = timed("eval"), timed("eval-factorized")
if dense and fact:
    print(f"factorized p = export eval speed-up over dense: {dense[0] / fact[0]:.2f}x (wall, whole command)")
PY
