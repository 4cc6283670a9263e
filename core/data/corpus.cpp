#include "data/corpus.h"

#include <algorithm>
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
              (names.empty() ? std::string("a non-negative integer")
                             : "one of the model's labels (" + known + ") or their index"));
}

}  // namespace

std::string readTextFile(const fs::path& file) {
  std::ifstream f(file, std::ios::binary);
  if (!f)
    throw Error(file.string() + ": cannot open (" +
                (fs::exists(file) ? "permission denied?" : "no such file") + ")");
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

namespace {

struct RawExample {
  std::string text, textPair, label, where;
};

// The examples of a labelled file with their labels as written (names or integers).
std::vector<RawExample> readRaw(const fs::path& file) {
  const std::string content = readTextFile(file);
  std::vector<RawExample> out;
  std::istringstream in(content);
  std::string line;
  int lineNo = 0;
  const bool jsonl = file.extension() == ".jsonl" || file.extension() == ".json";
  while (std::getline(in, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (strip(line).empty()) continue;
    RawExample ex;
    ex.where = file.string() + ":" + std::to_string(lineNo);
    if (jsonl) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const std::exception& e) {
        throw Error(ex.where + ": not valid JSON (" + std::string(e.what()) + ")");
      }
      auto text = [&](std::initializer_list<const char*> keys) -> std::string {
        for (const char* k : keys)
          if (j.contains(k) && j[k].is_string()) return j[k].get<std::string>();
        return {};
      };
      ex.text = text({"text", "sentence", "sentence1", "question"});
      ex.textPair = text({"text_pair", "sentence2"});
      if (ex.text.empty()) throw Error(ex.where + ": no \"text\" field");
      if (!j.contains("label")) throw Error(ex.where + ": no \"label\" field");
      const auto& l = j["label"];
      ex.label = l.is_string() ? l.get<std::string>() : l.dump();
    } else {
      auto fields = splitTabs(line);
      if (fields.size() < 2 || fields.size() > 3)
        throw Error(ex.where + ": expected 'text<TAB>label' or 'text<TAB>text_pair<TAB>label', found " +
                    std::to_string(fields.size()) + " field(s)");
      if (lineNo == 1 && strip(fields.back()) == "label") continue;
      ex.text = fields[0];
      if (fields.size() == 3) ex.textPair = fields[1];
      ex.label = strip(fields.back());
    }
    out.push_back(std::move(ex));
  }
  if (out.empty()) throw Error(file.string() + ": no labelled examples found");
  return out;
}

}  // namespace

std::vector<LabelledExample> readLabelled(const fs::path& file, const std::vector<std::string>& labelNames) {
  std::vector<LabelledExample> out;
  for (auto& raw : readRaw(file)) {
    LabelledExample ex;
    ex.text = std::move(raw.text);
    ex.textPair = std::move(raw.textPair);
    ex.label = parseLabel(raw.label, labelNames, raw.where);
    out.push_back(std::move(ex));
  }
  return out;
}

std::vector<std::string> labelNames(const fs::path& labelsFile, const fs::path& dataFile) {
  fs::path file = labelsFile;
  if (file.empty() && fs::is_regular_file(fs::path(dataFile).parent_path() / "labels.txt"))
    file = fs::path(dataFile).parent_path() / "labels.txt";
  std::vector<std::string> names;
  if (!file.empty()) {
    for (const auto& line : splitDocuments(readTextFile(file), "\n")) names.push_back(line);
    if (names.size() < 2)
      throw Error(file.string() + ": a label file needs at least two lines, one label per line");
    return names;
  }
  // No label file: integers 0 .. the largest seen, or the distinct names in sorted order.
  const auto raw = readRaw(dataFile);
  const bool integers = std::all_of(raw.begin(), raw.end(), [](const RawExample& ex) {
    return !ex.label.empty() &&
           std::all_of(ex.label.begin(), ex.label.end(), [](char c) { return c >= '0' && c <= '9'; });
  });
  if (integers) {
    int64_t most = -1;
    for (const auto& ex : raw) most = std::max<int64_t>(most, std::stoll(ex.label));
    for (int64_t i = 0; i <= most; ++i) names.push_back(std::to_string(i));
  } else {
    for (const auto& ex : raw) names.push_back(ex.label);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
  }
  if (names.size() < 2)
    throw Error(dataFile.string() +
                ": fewer than two labels; give the label names (labels.txt next to the data)");
  return names;
}

}  // namespace ranklab::data
