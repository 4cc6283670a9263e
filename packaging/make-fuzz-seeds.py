#!/usr/bin/env python3
"""Writes the fuzz seed corpora (fuzz/corpus/TARGET/) from scratch: small, valid files of every format
RankLab reads, built here from literal values (tiny tensors of fixed numbers, short vocabularies),
plus a few of the project's own configs and specs. Deterministic; run from anywhere:
    python3 packaging/make-fuzz-seeds.py
Nothing here comes from a third party; the corpus is under the project's licence."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def floats(n, fmt="<f"):
    return b"".join(struct.pack(fmt, (i % 7 - 3) / 4.0) for i in range(n))


def byte_symbols():
    """GPT-2's printable stand-ins for the 256 byte values, in byte order."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return [out[b] for b in range(256)]


def safetensors(tensors, metadata=None):
    header, blob = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + blob


def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def pb_field(number, value):
    """One protobuf field: int (varint), float (fixed32), bytes/str (length-delimited)."""
    if isinstance(value, bool) or isinstance(value, int):
        return varint(number << 3) + varint(int(value))
    if isinstance(value, float):
        return varint(number << 3 | 5) + struct.pack("<f", value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def sentencepiece_model(model_type, pieces, byte_fallback=False):
    """A SentencePiece ModelProto (sentencepiece_model.proto): pieces (piece, score, type), the
    trainer spec's model type (1 unigram, 2 BPE, 3 word, 4 char) and an identity normalizer."""
    out = b""
    for piece, score, kind in pieces:
        out += pb_field(1, pb_field(1, piece) + pb_field(2, float(score)) + pb_field(3, kind))
    trainer = pb_field(3, model_type) + pb_field(4, len(pieces))
    if byte_fallback:
        trainer += pb_field(35, True)
    out += pb_field(2, trainer)
    out += pb_field(3, pb_field(1, "identity") + pb_field(3, True) + pb_field(4, True) + pb_field(5, True))
    return out


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(kvs, tensors, alignment=32):
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, (kind, value) in kvs.items():
        out += gguf_string(key)
        if kind == "u32":
            out += struct.pack("<II", 4, value)
        elif kind == "f32":
            out += struct.pack("<If", 6, value)
        elif kind == "str":
            out += struct.pack("<I", 8) + gguf_string(value)
        elif kind == "strs":
            out += struct.pack("<IIQ", 9, 8, len(value)) + b"".join(gguf_string(v) for v in value)
        elif kind == "f32s":
            out += struct.pack("<IIQ", 9, 6, len(value)) + b"".join(struct.pack("<f", v) for v in value)
    data, infos = b"", b""
    for name, (ggml_type, dims, blob) in tensors.items():
        data += b"\0" * (-len(data) % alignment)
        infos += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", ggml_type, len(data))
        data += blob
    out += infos
    out += b"\0" * (-len(out) % alignment)
    return out + data


def llama2c(dim=8, hidden=16, layers=1, heads=2, kv=2, vocab=16, seq=8, shared=True):
    head = dim // heads
    header = struct.pack("<7i", dim, hidden, layers, heads, kv, vocab if shared else -vocab, seq)
    sizes = [vocab * dim, layers * dim, layers * dim * dim, layers * dim * kv * head, layers * dim * kv * head,
             layers * dim * dim, layers * dim, layers * hidden * dim, layers * dim * hidden, layers * hidden * dim,
             dim, seq * head // 2, seq * head // 2]
    if not shared:
        sizes.append(vocab * dim)
    return header + b"".join(floats(n) for n in sizes)


def llama2c_tokenizer(count=512):
    pieces = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    pieces += ["\u2581" + w for w in ["the", "a", "cat", "dog", "saw", "Once", "upon", "time"]]
    while len(pieces) < count:
        pieces.append("x%d" % len(pieces))
    out = struct.pack("<i", max(len(p.encode()) for p in pieces))
    for i, p in enumerate(pieces[:count]):
        b = p.encode()
        out += struct.pack("<fi", -float(i), len(b)) + b
    return out


def main():
    # The seeds are written afresh; inputs that once were findings (regression-*) stay.
    for folder, _, names in os.walk(OUT):
        for name in names:
            if not name.startswith("regression-"):
                os.remove(os.path.join(folder, name))
    # safetensors: dtypes, shapes, metadata, an empty tensor, a sharded-style name.
    put("safetensors", "f32.safetensors", safetensors({"w": ("F32", [2, 3], floats(6))}))
    put("safetensors", "mixed.safetensors", safetensors(
        {"a.weight": ("F16", [4], floats(4, "<e")), "b.bias": ("BF16", [2], b"\x80\x3f\x00\x40"),
         "empty": ("F32", [0, 3], b"")}, {"format": "pt"}))
    # GGUF: a llama-shaped header with tokenizer arrays and F32 / F16 tensors.
    put("gguf", "tiny.gguf", gguf(
        {"general.architecture": ("str", "llama"), "general.alignment": ("u32", 32),
         "llama.context_length": ("u32", 8), "llama.embedding_length": ("u32", 4),
         "llama.block_count": ("u32", 1), "llama.attention.head_count": ("u32", 2),
         "llama.attention.layer_norm_rms_epsilon": ("f32", 1e-5),
         "tokenizer.ggml.tokens": ("strs", ["<unk>", "<s>", "</s>", "a"]),
         "tokenizer.ggml.scores": ("f32s", [0.0, 0.0, 0.0, -1.0])},
        {"token_embd.weight": (0, [4, 4], floats(16)), "output_norm.weight": (1, [4], floats(4, "<e"))}))
    # llama2.c checkpoints (shared and separate classifier) and a tokenizer of 512 pieces.
    put("llama2c", "shared.bin", llama2c())
    put("llama2c", "unshared.bin", llama2c(shared=False, kv=1))
    put("llama2c-tokenizer", "tok512.bin", llama2c_tokenizer())
    # config.json: the test fixtures, every architecture and option RankLab reads.
    configs = os.path.join(ROOT, "tests", "data", "configs")
    for name in sorted(os.listdir(configs)):
        with open(os.path.join(configs, name), "rb") as f:
            put("config", name, f.read())
    # tokenizer.json: byte-level BPE (GPT-2's 256 byte symbols and two merges) and WordPiece.
    vocab = {sym: i for i, sym in enumerate(byte_symbols())}
    for piece in ["ab", "\u0120a", "<|endoftext|>"]:
        vocab[piece] = len(vocab)
    put("tokenizer-json", "bpe.json", json.dumps({
        "model": {"type": "BPE", "vocab": vocab, "merges": ["a b", "\u0120 a"]},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False},
        "decoder": {"type": "ByteLevel"},
        "added_tokens": [{"id": vocab["<|endoftext|>"], "content": "<|endoftext|>", "special": True}]}))
    put("tokenizer-json", "wordpiece.json", json.dumps({
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "once": 5, "##s": 6}},
        "normalizer": {"type": "BertNormalizer", "lowercase": True}}))
    # vocab.json + merges.txt, split at a NUL byte.
    put("gpt2-bpe", "tiny", json.dumps(vocab).encode() + b"\0" + "#version: 0.2\na b\n\u0120 a\n".encode())
    # WordPiece vocab.txt: the test fixture.
    with open(os.path.join(ROOT, "tests", "data", "wordpiece", "vocab.txt"), "rb") as f:
        put("wordpiece", "vocab.txt", f.read())
    # Job specs.
    put("job-spec", "minimal.json", json.dumps({"model": "m"}))
    put("job-spec", "ars.json", json.dumps({
        "model": "m", "selector": "ars", "keep": 0.4, "ars_steps": 50, "seed": 3, "tags": ["a", "b"],
        "manual_ranks": {"layers.0.attn.q": 8}, "sensitivity_ratios": [0.2, 0.5]}))
    # Labelled sets: TSV with a header, CSV, JSONL.
    put("labelled", "header.tsv", "text\tlabel\nfree money now\t1\nsee you at 5\t0\n")
    put("labelled", "ints.tsv", "great film\t1\nawful\t0\n")
    put("labelled", "pairs.tsv", "a cat sat\ta cat was sitting\t1\nit rains\tthe sun shines\t0\n")
    # Multiple-choice sets: the readers' test fixtures, one per format.
    fixtures = os.path.join(ROOT, "tests", "data", "choices")
    for name in sorted(os.listdir(fixtures)):
        if name.endswith(".jsonl"):
            with open(os.path.join(fixtures, name), "rb") as f:
                put("choices", name, f.read())
    # ranklab.json of the fuzz target's own tiny factorized LLaMA (fuzz/targets.cpp writes the same
    # with RANKLAB_FUZZ_WRITE_SEED=FILE), as it is and with one typo'd key.
    def op(name, module, n_in, n_out):
        return {"factorized": False, "full_rank": 8, "in": n_in, "module": module, "name": name, "out": n_out,
                "rank": 8}
    ops = [op("layers.0.attn." + k, "layers_0." + k, 8, 8) for k in "qkvo"]
    ops += [op("layers.0.mlp.gate", "layers_0.gate", 8, 16), op("layers.0.mlp.up", "layers_0.up", 8, 16),
            op("layers.0.mlp.down", "layers_0.down", 16, 8)]
    manifest = {"architecture": "llama", "format": "ranklab-factorized", "ops": ops, "r": 0, "rank_pattern": {},
                "version": 1}
    put("manifest", "tiny-llama.json", json.dumps(manifest, sort_keys=True))
    put("manifest", "rank-pattern.json", json.dumps(dict(manifest, rank_pattern={"layers.0.attn.q": 4}), sort_keys=True))
    # SentencePiece models (protobuf, written here): unigram, BPE, word and char models over a short
    # vocabulary, and a unigram model with byte fallback. Piece types: 1 normal, 2 unknown, 3 control,
    # 4 user-defined, 6 byte.
    special = [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3)]
    words = ["\u2581the", "\u2581a", "\u2581cat", "\u2581saw", "\u2581time", "\u2581once", "\u2581upon",
             "\u2581", "on", "ce", "at", "th"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [",", ".", "3"]
    normal = [(p, -1.0 - i / 4.0, 1) for i, p in enumerate(words + letters)]
    put("sentencepiece", "unigram.model", sentencepiece_model(1, special + normal))
    put("sentencepiece", "bpe.model", sentencepiece_model(2, special + normal))
    put("sentencepiece", "word.model", sentencepiece_model(3, special + normal[:8]))
    put("sentencepiece", "char.model", sentencepiece_model(4, special + [("\u2581", -1.0, 1)] + normal[13:]))
    byte_pieces = [("<0x%02X>" % b, 0.0, 6) for b in range(256)]
    put("sentencepiece", "byte-fallback.model",
        sentencepiece_model(1, special + byte_pieces + normal + [("<sep>", 0.0, 4)], byte_fallback=True))
    # Sweep grids: the sweep header's example (with a model name instead of files) and every kind of
    # axis: lists, lists of lists, lists of objects, a named sweep.
    put("sweep-grid", "example.json", json.dumps({
        "model": "m", "max_eval_documents": 6, "selector": ["uniform", "energy"], "keep": [0.3, 0.5, 0.7],
        "seed": [0, 1, 2]}))
    put("sweep-grid", "axes.json", json.dumps({
        "model": ["m", "n"], "sweep_id": "budget-study.v2", "decomposition": ["svd", "fwsvd"],
        "sensitivity_ratios": [[0.2, 0.4], [0.5]], "selector": "manual",
        "manual_ranks": [{"layers.0.attn.q": 8}, {"layers.0.attn.q": 4, "layers.0.mlp.up": 2}],
        "tags": ["a", "b"]}))
    put("sweep-grid", "ars.json", json.dumps({
        "model": "m", "selector": "ars", "keep": [0.4, 0.6], "ars_steps": [20, 50], "learning_rate": 0.001}))
    # Run databases, as SQL: the frozen schema fixtures (version 1, and version 4 with three runs).
    for version in (1, 4):
        with open(os.path.join(ROOT, "tests", "data", "store", "schema_v%d.sql" % version), "rb") as f:
            put("run-db", "schema_v%d.sql" % version, f.read())


if __name__ == "__main__":
    main()
