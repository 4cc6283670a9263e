#!/usr/bin/env python3
"""Writes resources/data/lm/next-words.jsonl, RankLab's demo multiple-choice task.

"Which words come next": the context is a passage of a held-out document of resources/data/lm/test.txt
(never seen in training) that stops inside a sentence, after at least four of its words; the four
choices are the sentence's next five words and three five-word spans from inside sentences of other
documents of the same source (Moby-Dick chapters for a chapter, State of the Union addresses for an
address), shuffled. One cut per sentence; documents take turns, so all 37 contribute. The context holds
the sentence's start and as many whole sentences before it, in its paragraph, as keep it within 45
words (gpt-mini's window is 128 tokens). One item per line in RankLab's multiple-choice format:
{"context", "choices", "gold", "task"}.

Spans from the same source keep the style alike, so the choice turns on whether the words continue
the sentence; whole sentences as choices (tried first) left gpt-mini at chance, because a sentence's
own likelihood outweighs its fit to the context.

A maintainer tool (the build and the tests never run it); the output depends only on test.txt and the
seed, so running it again gives a byte-identical file:

    python3 packaging/make-choice-task.py [--seed 2026] [--items 400]
"""

import argparse
import json
import pathlib
import random
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources/data/lm/test.txt"
TARGET = ROOT / "resources/data/lm/next-words.jsonl"

# Abbreviations a sentence does not end after.
ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "gen", "col", "capt", "lieut", "gov", "hon", "rev", "messrs",
                 "no", "vol", "jr", "sr", "u.s", "i.e", "e.g", "etc", "vs", "viz"}

END = re.compile(r"[.!?][\"'\u201d\u2019)]*\s+(?=[\"'\u201c\u2018(]?[A-Z0-9])")


def sentences(paragraph):
    """Splits a paragraph at . ! ? (closing quotes allowed) before a capital or a digit."""
    out, start = [], 0
    for m in END.finditer(paragraph):
        before = paragraph[start:m.start()].split()
        last = before[-1].lower().rstrip(".") if before else ""
        if last in ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue  # Mr. Smith, initials
        out.append(paragraph[start:m.end()].strip())
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return out


def words(s):
    return len(s.split())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--items", type=int, default=400)
    args = parser.parse_args()

    text = SOURCE.read_text(encoding="utf-8")
    documents = [d.strip() for d in text.split("\n<|endoftext|>\n") if d.strip()]
    docs = []  # (source, [paragraph's sentences])
    for d in documents:
        source = "moby-dick" if d.startswith("CHAPTER ") else "sotu"
        paragraphs = [p.strip() for p in d.split("\n") if p.strip()]
        if source == "moby-dick":
            paragraphs = paragraphs[1:]  # the chapter's title line
        docs.append((source, [sentences(p) for p in paragraphs]))

    span = 5  # words per choice

    # Every candidate cut: (doc, paragraph, sentence, word) with at least 4 words of the sentence
    # before it and `span` words after it, inside the sentence.
    rng = random.Random(args.seed)
    candidates = []
    pool = {}  # source -> [(doc, span of words)]: the distractor candidates
    for di, (source, paragraphs) in enumerate(docs):
        for pi, ss in enumerate(paragraphs):
            for si, sentence in enumerate(ss):
                w = sentence.split()
                for j in range(4, len(w) - span + 1):
                    candidates.append((di, pi, si, j))
                    pool.setdefault(source, []).append((di, " ".join(w[j:j + span])))

    # Round-robin over documents so every document contributes, in a seeded order.
    by_doc = {}
    for c in candidates:
        by_doc.setdefault(c[0], []).append(c)
    for cs in by_doc.values():
        rng.shuffle(cs)
    order = sorted(by_doc)
    rng.shuffle(order)
    picked, used = [], set()
    while len(picked) < args.items and any(by_doc[d] for d in order):
        for d in order:
            while by_doc[d] and len(picked) < args.items:
                c = by_doc[d].pop()
                if c[:3] not in used:  # one cut per sentence
                    used.add(c[:3])
                    picked.append(c)
                    break

    items = []
    for di, pi, si, j in picked:
        source, paragraphs = docs[di]
        ss = paragraphs[pi]
        w = ss[si].split()
        context_words = w[:j]
        # Whole sentences before it while the context stays within 45 words.
        k = si
        while k > 0 and len(context_words) + words(ss[k - 1]) <= 45:
            k -= 1
            context_words = ss[k].split() + context_words
        answer = " ".join(w[j:j + span])
        distractors = []
        while len(distractors) < 3:
            dj, s = rng.choice(pool[source])
            if dj != di and s != answer and s not in distractors:
                distractors.append(s)
        choices = [answer] + distractors
        rng.shuffle(choices)
        items.append({"context": " ".join(context_words), "choices": choices, "gold": choices.index(answer),
                      "task": "next-words"})

    with TARGET.open("w", encoding="utf-8", newline="\n") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{TARGET.relative_to(ROOT)}: {len(items)} items from {len({p[0] for p in picked})} documents")


if __name__ == "__main__":
    main()
