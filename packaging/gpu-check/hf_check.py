# Cross-checks RankLab against Hugging Face transformers on a tiny random GPT-2:
# perplexity of the original, and of RankLab's dense export loaded by GPT2LMHeadModel.
import json, math, os, shutil, subprocess, sys
import torch
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

cli, tokdir, work = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(work, exist_ok=True)
torch.manual_seed(0)
cfg = GPT2Config(vocab_size=50257, n_positions=128, n_embd=64, n_layer=2, n_head=4)
model = GPT2LMHeadModel(cfg).eval()
hf = os.path.join(work, "hf")
model.save_pretrained(hf, safe_serialization=True)
for f in ("vocab.json", "merges.txt"):
    shutil.copy(os.path.join(tokdir, f), hf)
docs = ["The quick brown fox jumps over the lazy dog. " * (3 + i) for i in range(6)]
text = os.path.join(work, "text.txt")
open(text, "w").write("<|endoftext|>".join(docs))
tok = GPT2TokenizerFast(vocab_file=os.path.join(tokdir, "vocab.json"), merges_file=os.path.join(tokdir, "merges.txt"))
def encode(d):
    ids = tok.encode(d)
    if not ids:  # some transformers releases build an empty fast tokenizer from vocab + merges alone
        r = subprocess.run([cli, "tokenize", "--tokenizer", tokdir, "--text", d, "--json"], capture_output=True, text=True, check=True)
        ids = json.loads(r.stdout)["ids"]
    return ids

def hf_ppl(m):
    nll, n = 0.0, 0
    with torch.no_grad():
        for d in docs:
            ids = [50256] + encode(d.strip())
            for s in range(0, len(ids) - 1, 128):
                w = ids[s:s + 129]
                x = torch.tensor([w[:-1]]); y = torch.tensor([w[1:]])
                logits = m(x).logits[0]
                nll += torch.nn.functional.cross_entropy(logits, y[0], reduction="sum").item(); n += y.numel()
    if n == 0: sys.exit("hf_check: no tokens to score")
    return math.exp(nll / n), n

def rl(*args):
    r = subprocess.run([cli, *args, "--json", "--device", "cpu"], capture_output=True, text=True)
    if r.returncode != 0:
        print("ranklab-cli failed:", r.stderr); sys.exit(1)
    return json.loads(r.stdout)

ok = True
p_hf, n_hf = hf_ppl(model)
e = rl("eval", hf, "--text", text)
print(f"original: transformers {p_hf:.6f} ({n_hf} tokens), ranklab {e['perplexity']:.6f} ({e['tokens']} tokens)")
ok &= abs(p_hf - e["perplexity"]) < 1e-4 * p_hf and n_hf == e["tokens"]
dense = os.path.join(work, "dense")
c = rl("compress", hf, "--keep", "0.5", "--eval", text, "--export", dense, "--format", "dense", "--no-store", "--no-cache")
m2 = GPT2LMHeadModel.from_pretrained(dense).eval()
p2, _ = hf_ppl(m2)
print(f"dense export at p={c['kept_fraction']:.4f}: ranklab after {c['after']['perplexity']:.6f}, transformers on the export {p2:.6f}")
ok &= abs(p2 - c["after"]["perplexity"]) < 1e-4 * p2
print("HF CHECK", "OK" if ok else "FAIL")
