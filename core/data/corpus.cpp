#include "data/corpus.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"

namespace ranklab::data {
namespace fs = std::filesystem;

namespace {

std::string strip(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const auto tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return out;
}

int64_t parseLabel(const std::string& raw, const std::vector<std::string>& names, const std::string& where) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == raw) return static_cast<int64_t>(i);
  try {
    size_t used = 0;
    const long long v = std::stoll(raw, &used);
    if (used == raw.size() && v >= 0 && (names.empty() || v < static_cast<long long>(names.size()))) return v;
  } catch (const std::exception&) {
  }
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw Error(where + ": label '" + raw + "' is not " +
              (names.empty() ? std::string("a non-negative integer") : "one of the model's labels (" + known + ") or their index"));
}

}  // namespace

std::string readTextFile(const fs::path& file) {
  std::ifstream f(file, std::ios::binary);
  if (!f) throw Error(file.string() + ": cannot open (" + (fs::exists(file) ? "permission denied?" : "no such file") + ")");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw Error(file.string() + ": read error");
  return ss.str();
}

std::vector<std::string> splitDocuments(const std::string& text, const std::string& separator) {
  std::vector<std::string> docs;
  auto push = [&](const std::string& piece) {
    auto s = strip(piece);
    if (!s.empty()) docs.push_back(std::move(s));
  };
  if (separator.empty()) {
    push(text);
    return docs;
  }
  size_t start = 0;
  while (true) {
    const auto pos = text.find(separator, start);
    push(text.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + separator.size();
  }
  return docs;
}

std::vector<LabelledExample> readLabelled(const fs::path& file, const std::vector<std::string>& labelNames) {
  const std::string content = readTextFile(file);
  std::vector<LabelledExample> out;
  std::istringstream in(content);
  std::string line;
  int lineNo = 0;
  const bool jsonl = file.extension() == ".jsonl" || file.extension() == ".json";
  while (std::getline(in, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (strip(line).empty()) continue;
    const std::string where = file.string() + ":" + std::to_string(lineNo);
    LabelledExample ex;
    if (jsonl) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const std::exception& e) {
        throw Error(where + ": not valid JSON (" + std::string(e.what()) + ")");
      }
      auto text = [&](std::initializer_list<const char*> keys) -> std::string {
        for (const char* k : keys)
          if (j.contains(k) && j[k].is_string()) return j[k].get<std::string>();
        return {};
      };
      ex.text = text({"text", "sentence", "sentence1", "question"});
      ex.textPair = text({"text_pair", "sentence2"});
      if (ex.text.empty()) throw Error(where + ": no \"text\" field");
      if (!j.contains("label")) throw Error(where + ": no \"label\" field");
      const auto& l = j["label"];
      ex.label = parseLabel(l.is_string() ? l.get<std::string>() : l.dump(), labelNames, where);
    } else {
      auto fields = splitTabs(line);
      if (fields.size() < 2 || fields.size() > 3)
        throw Error(where + ": expected 'text<TAB>label' or 'text<TAB>text_pair<TAB>label', found " +
                    std::to_string(fields.size()) + " field(s)");
      if (lineNo == 1 && strip(fields.back()) == "label") continue;
      ex.text = fields[0];
      if (fields.size() == 3) ex.textPair = fields[1];
      ex.label = parseLabel(strip(fields.back()), labelNames, where);
    }
    out.push_back(std::move(ex));
  }
  if (out.empty()) throw Error(file.string() + ": no labelled examples found");
  return out;
}

}  // namespace ranklab::data
