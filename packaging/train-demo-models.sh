#!/usr/bin/env bash
# Rebuilds RankLab's shipped demo models (resources/models) from the shipped data (resources/data) with
# RankLab's own commands: a byte-level BPE tokenizer, gpt-mini (GPT-2 decoder, causal LM), bert-mini
# (BERT encoder, masked LM) and bert-mini fine-tuned on two labelled tasks.
#
#   packaging/train-demo-models.sh [OUT_DIR]      (default: resources/models)
#
# Environment: RANKLAB_CLI (default build/app/ranklab-cli), THREADS (default: all cores).
# A model whose directory already holds model.safetensors is kept; delete it to retrain it. An
# interrupted pretraining run (Ctrl-C, kill) resumes from its checkpoint when the script runs again.
# Every run is seeded: on the same machine and LibTorch build the weights come out identical.
# Each model's training.json records its exact command, timings and validation figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cli="${RANKLAB_CLI:-build/app/ranklab-cli}"
out="${1:-resources/models}"
threads="${THREADS:-$(nproc)}"
data=resources/data
tokenizer="$out/tokenizer"

if [[ ! -x "$cli" ]]; then
  echo "train-demo-models: $cli not found; build RankLab first (packaging/bootstrap.sh build)" >&2
  exit 2
fi
mkdir -p "$out"
todo() { [[ ! -f "$out/$1/model.safetensors" ]] || { echo "== $1: present, kept"; false; }; }

# One tokenizer for every model: 4096 entries, <pad> and <mask> for the encoders.
if [[ ! -f "$tokenizer/vocab.json" ]]; then
  echo "== tokenizer"
  "$cli" bpe-train "$data/lm/train.txt" --out "$tokenizer" --vocab-size 4096 --pad-token '<pad>' --mask-token '<mask>'
fi

if todo gpt-mini; then
  echo "== gpt-mini"
  "$cli" pretrain "$data/lm/train.txt" --valid "$data/lm/valid.txt" --tokenizer "$tokenizer" --out "$out/gpt-mini" \
    --layers 4 --hidden 256 --heads 4 --ff 1024 --ctx 128 --steps 2400 --batch 16 --lr 1e-3 --seed 1 \
    --eval-every 400 --save-dtype fp16 --threads "$threads"
fi

if todo bert-mini; then
  echo "== bert-mini"
  "$cli" pretrain "$data/lm/train.txt" --valid "$data/lm/valid.txt" --tokenizer "$tokenizer" --out "$out/bert-mini" \
    --mlm --layers 4 --hidden 192 --heads 4 --ff 768 --ctx 128 --steps 2000 --batch 16 --lr 7e-4 --warmup 200 \
    --seed 2 --eval-every 400 --save-dtype fp16 --threads "$threads"
fi

for task in spam sotu-era; do
  if todo "bert-mini-$task"; then
    echo "== bert-mini-$task"
    "$cli" finetune "$out/bert-mini" --labelled "$data/$task/train.tsv" --valid "$data/$task/valid.tsv" \
      --out "$out/bert-mini-$task" --steps 500 --batch 16 --lr 2e-4 --max-length 128 --seed 3 --save-dtype fp16 \
      --threads "$threads"
  fi
done
echo "== done: $(du -sh "$out" | cut -f1) in $out"
