// Which metrics may be compared: every view and report that pairs, pools or ranks runs groups them
// by comparisonGroup() first and never averages across groups. Torch-free, header-only.
#pragma once

#include <string>

#include "api/run.h"

namespace ranklab::api {

namespace detail {

inline std::string groupedDigits(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

inline std::string lastPathPart(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace detail

// Equal for two protocols exactly when they measure the same thing on the same base model; ""
// for an unknown protocol (equal to nothing: see comparisonGroup).
inline std::string protocolKey(const EvalProtocol& p) {
  if (!p.known) return {};
  const char sep = '\x1f';
  return p.metric + sep + p.fileHash + sep + p.separator + sep + std::to_string(p.context) + sep +
         std::to_string(p.stride) + sep + (p.truncate ? "1" : "0") + sep + std::to_string(p.maxDocuments) +
         sep + std::to_string(p.counted) + sep + p.tokenizerHash + sep + p.scoring;
}

// The comparison group of a run's headline metric: its base model and its protocol. A run whose
// protocol is unknown is a group of its own.
inline std::string comparisonGroup(const RunRecord& r) {
  if (!r.protocol.known) return "unknown\x1f" + r.uuid + '\x1f' + std::to_string(r.id);
  return r.modelHash + '\x1f' + r.metric + '\x1f' + protocolKey(r.protocol);
}

inline bool comparable(const RunRecord& a, const RunRecord& b) {
  return comparisonGroup(a) == comparisonGroup(b);
}

// "test.txt · 6 docs · 78,021 tokens", with the options that differ from the defaults after it
// (context, stride, truncation, separator); "unknown protocol" when not known.
inline std::string protocolLabel(const EvalProtocol& p) {
  if (!p.known) return "unknown protocol";
  std::string s = p.file.empty() ? std::string("?") : p.file;
  const std::string dot = " \u00b7 ";
  if (p.metric == "accuracy") return s + dot + detail::groupedDigits(p.counted) + " examples";
  if (!p.scoring.empty())  // multiple choice
    return s + (p.scoring != "ranklab" ? " (" + p.scoring + ")" : std::string()) + dot +
           detail::groupedDigits(p.counted) + " items";
  if (p.documents > 0)
    s += dot + detail::groupedDigits(p.documents) + (p.documents == 1 ? " doc" : " docs");
  else if (p.maxDocuments > 0)
    s += dot + "first " + detail::groupedDigits(p.maxDocuments) + " docs";
  s += dot + detail::groupedDigits(p.counted) + " tokens";
  if (p.context > 0) s += dot + "context " + std::to_string(p.context);
  if (p.stride > 0) s += dot + "stride " + std::to_string(p.stride);
  if (p.truncate) s += dot + "truncated";
  if (p.separator != "<|endoftext|>") s += dot + "separator \"" + p.separator + "\"";
  if (p.tokenizerHash.rfind("path:", 0) == 0) s += dot + "tokenizer not hashed";
  return s;
}

// The group's name for a selector: "gpt-mini · test.txt · 6 docs · 78,021 tokens"; multiple-choice
// metrics, several of which one file gives, name theirs: "gpt-mini · acc_norm · next-words.jsonl · 400
// items".
inline std::string groupLabel(const RunRecord& r) {
  const std::string dot = " \u00b7 ";
  return detail::lastPathPart(r.modelPath) + dot +
         (r.protocol.known && !r.protocol.scoring.empty() ? r.metric + dot : std::string()) +
         protocolLabel(r.protocol);
}

}  // namespace ranklab::api
