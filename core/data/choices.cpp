#include "data/choices.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/error.h"
#include "common/json_field.h"
#include "data/corpus.h"

namespace ranklab::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r\n\f\v");
  if (a == std::string::npos) return {};
  const auto b = s.find_last_not_of(" \t\r\n\f\v");
  return s.substr(a, b - a + 1);
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  // Left to right, non-overlapping, as Python's str.replace.
  std::string out;
  size_t start = 0;
  for (size_t pos; (pos = s.find(from, start)) != std::string::npos; start = pos + from.size())
    out += s.substr(start, pos - start) + to;
  return out + s.substr(start);
}

// Python's str.capitalize for ASCII: the first character upper case, the rest lower case.
std::string capitalize(std::string s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) s[i] = static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
  }
  return s;
}

// The harness's HellaSwag clean-up: strip, " [title]" to ". ", "[...]" removed (shortest match, not
// across a line break), double spaces to one.
std::string hellaswagText(const std::string& raw) {
  std::string s = replaceAll(trim(raw), " [title]", ". ");
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[') {
      const auto close = s.find_first_of("]\n", i + 1);
      if (close != std::string::npos && s[close] == ']') {
        i = close;
        continue;
      }
    }
    out += s[i];
  }
  return replaceAll(out, "  ", " ");
}

// A label given as 0/1, "0"/"1" or false/true (the datasets use all three).
int64_t labelValue(const json& object, const std::string& key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) throw Error(where + ": /" + key + " is missing");
  if (it->is_boolean()) return it->get<bool>() ? 1 : 0;  // SuperGLUE's BoolQ
  if (it->is_string()) {
    const std::string s = trim(it->get<std::string>());
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 10)
      return std::stoll(s);
    throw Error(where + ": /" + key + " must be an integer, got string \"" + s + "\"");
  }
  return jsonField<int64_t>(object, key, where);
}

// The index of `key` among `labels` ("A".."E" or "1".."5"), or an error naming the key.
int64_t keyIndex(const std::vector<std::string>& labels, const std::string& key, const std::string& where) {
  const auto it = std::find(labels.begin(), labels.end(), key);
  if (it == labels.end())
    throw Error(where + ": /answerKey \"" + key + "\" is not one of the choices' labels");
  return static_cast<int64_t>(it - labels.begin());
}

ChoiceItem sharedContext(std::string context, std::vector<std::string> choices, int64_t gold) {
  ChoiceItem item;
  for (const auto& c : choices) {
    item.contexts.push_back(context);
    item.continuations.push_back(" " + c);
  }
  item.choices = std::move(choices);
  item.gold = gold;
  return item;
}

// ARC's and OpenBookQA's two layouts: AI2's question.{stem, choices[].{text, label}} and Hugging
// Face's question (or question_stem) + choices.{text[], label[]}.
void arcFields(const json& o, const std::string& where, std::string& stem, std::vector<std::string>& texts,
               std::vector<std::string>& labels) {
  if (o.contains("question") && o["question"].is_object()) {
    const json& q = o["question"];
    stem = jsonField<std::string>(q, "stem", where, "/question");
    const auto it = q.find("choices");
    if (it == q.end()) throw Error(where + ": /question/choices is missing");
    if (!it->is_array()) throw Error(where + ": /question/choices must be a list");
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string at = "/question/choices/" + std::to_string(i);
      texts.push_back(jsonField<std::string>((*it)[i], "text", where, at));
      labels.push_back(jsonField<std::string>((*it)[i], "label", where, at));
    }
    return;
  }
  stem = o.contains("question_stem") ? jsonField<std::string>(o, "question_stem", where)
                                     : jsonField<std::string>(o, "question", where);
  if (!o.contains("choices")) throw Error(where + ": /choices is missing");
  texts = jsonField<std::vector<std::string>>(o["choices"], "text", where, "/choices");
  labels = jsonField<std::vector<std::string>>(o["choices"], "label", where, "/choices");
  if (texts.size() != labels.size())
    throw Error(where + ": /choices/text and /choices/label differ in length (" +
                std::to_string(texts.size()) + " and " + std::to_string(labels.size()) + ")");
}

ChoiceItem parseItem(const json& o, const std::string& format, const std::string& where,
                     const std::vector<int64_t>& fileLabels, size_t index) {
  if (!o.is_object()) throw Error(where + ": the line must be a JSON object");
  ChoiceItem item;
  if (format == "ranklab") {
    item = sharedContext(jsonField<std::string>(o, "context", where),
                         jsonField<std::vector<std::string>>(o, "choices", where),
                         jsonField<int64_t>(o, "gold", where));
    if (o.contains("task")) item.task = jsonField<std::string>(o, "task", where);
  } else if (format == "hellaswag") {
    const std::string ctx = o.contains("ctx_a") ? jsonField<std::string>(o, "ctx_a", where) + " " +
                                                      capitalize(jsonField<std::string>(o, "ctx_b", where))
                                                : jsonField<std::string>(o, "ctx", where);
    const std::string activity = o.contains("activity_label")
                                     ? jsonField<std::string>(o, "activity_label", where) + ": "
                                     : std::string();
    std::vector<std::string> endings;
    for (const auto& e : jsonField<std::vector<std::string>>(o, "endings", where))
      endings.push_back(hellaswagText(e));
    if (!o.contains("label") || (o["label"].is_string() && o["label"].get<std::string>().empty()))
      throw Error(where +
                  ": /label is missing (HellaSwag's test split is unlabelled: use the validation split)");
    item = sharedContext(hellaswagText(activity + ctx), std::move(endings), labelValue(o, "label", where));
    item.task = "hellaswag";
  } else if (format == "piqa") {
    int64_t gold = 0;
    if (o.contains("label")) {
      gold = labelValue(o, "label", where);
    } else if (index < fileLabels.size()) {
      gold = fileLabels[index];
    } else {
      throw Error(where + ": /label is missing and no labels file gives item " + std::to_string(index + 1) +
                  "'s (PIQA keeps them in valid-labels.lst: pass it with --labels)");
    }
    item = sharedContext("Question: " + jsonField<std::string>(o, "goal", where) + "\nAnswer:",
                         {jsonField<std::string>(o, "sol1", where), jsonField<std::string>(o, "sol2", where)},
                         gold);
    item.task = "piqa";
  } else if (format == "arc" || format == "openbookqa") {
    std::string stem;
    std::vector<std::string> texts, labels;
    arcFields(o, where, stem, texts, labels);
    std::string key = jsonField<std::string>(o, "answerKey", where);
    if (format == "openbookqa") key = key.substr(std::min(key.size(), key.find_first_not_of(" \t")));
    const int64_t gold = keyIndex(labels, key, where);
    item = sharedContext(format == "arc" ? "Question: " + stem + "\nAnswer:" : stem, std::move(texts), gold);
    item.task = format;
  } else if (format == "winogrande") {
    const std::string sentence = jsonField<std::string>(o, "sentence", where);
    const auto blank = sentence.find('_');
    if (blank == std::string::npos) throw Error(where + ": /sentence has no \"_\" to fill");
    const std::string target = " " + trim(sentence.substr(blank + 1));
    for (const char* key : {"option1", "option2"}) {
      const std::string context = sentence.substr(0, blank) + jsonField<std::string>(o, key, where);
      item.contexts.push_back(context);
      item.continuations.push_back(target);
      item.choices.push_back(context);
    }
    const std::string answer = o.contains("answer") && o["answer"].is_number_integer()
                                   ? std::to_string(o["answer"].get<int64_t>())
                                   : jsonField<std::string>(o, "answer", where);
    if (answer != "1" && answer != "2")
      throw Error(where + ": /answer must be \"1\" or \"2\", got \"" + answer + "\"");
    item.gold = answer == "1" ? 0 : 1;
    item.task = "winogrande";
  } else if (format == "mathqa") {
    // The choices are one string, "a ) 38 , b ) 27.675 , ... e ) none of these", split as the harness's
    // regular expression splits it.
    const std::string key = o.contains("options") ? "options" : "Options";
    const std::string options = jsonField<std::string>(o, key, where);
    static const std::regex choice(R"([abcd] \) .*?, |e \) .*?$)");
    std::vector<std::string> texts;
    for (auto it = std::sregex_iterator(options.begin(), options.end(), choice); it != std::sregex_iterator();
         ++it) {
      std::string text = it->str().substr(4);
      while (!text.empty() && (text.back() == ' ' || text.back() == ',')) text.pop_back();
      texts.push_back(text);
    }
    const std::string correct = jsonField<std::string>(o, "correct", where);
    if (correct.size() != 1 || correct[0] < 'a' || correct[0] > 'e')
      throw Error(where + ": /correct must be one of a, b, c, d, e, got \"" + correct.substr(0, 20) + "\"");
    item = sharedContext("Question: " + jsonField<std::string>(o, "Problem", where) + "\nAnswer:",
                         std::move(texts), correct[0] - 'a');
    item.task = "mathqa";
  } else if (format == "boolq") {
    int64_t gold = 0;
    if (o.contains("answer"))
      gold = jsonField<bool>(o, "answer", where) ? 1 : 0;
    else if (o.contains("label"))
      gold = labelValue(o, "label", where);
    else
      throw Error(where + ": /answer is missing (true or false; or /label, 0 or 1)");
    item = sharedContext(jsonField<std::string>(o, "passage", where) +
                             "\nQuestion: " + jsonField<std::string>(o, "question", where) + "?\nAnswer:",
                         {"no", "yes"}, gold);
    item.task = "boolq";
  } else {
    throw Error(where + ": unknown format \"" + format + "\"");
  }
  if (item.choices.size() < 2)
    throw Error(where + ": needs at least two choices, has " + std::to_string(item.choices.size()));
  if (item.gold < 0 || item.gold >= static_cast<int64_t>(item.choices.size()))
    throw Error(where + ": the right answer's index " + std::to_string(item.gold) + " is outside the " +
                std::to_string(item.choices.size()) + " choices");
  for (size_t i = 0; i < item.choices.size(); ++i) {
    if (trim(item.choices[i]).empty()) throw Error(where + ": choice " + std::to_string(i + 1) + " is empty");
    if (trim(item.continuations[i]).empty())
      throw Error(where + ": nothing follows the blank, so there is nothing to score");
  }
  return item;
}

std::vector<int64_t> readLabelsFile(const fs::path& file) {
  std::istringstream in(readTextFile(file));
  std::vector<int64_t> labels;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    line = trim(line);
    if (line.empty()) continue;
    if (line.find_first_not_of("0123456789") != std::string::npos || line.size() > 9)
      throw Error(file.string() + " line " + std::to_string(n) + ": a label must be a small integer, got \"" +
                  line.substr(0, 40) + "\"");
    labels.push_back(std::stoll(line));
  }
  return labels;
}

}  // namespace

const std::vector<std::string>& choiceFormats() {
  static const std::vector<std::string> formats = {"ranklab",    "hellaswag",  "piqa",  "arc",
                                                   "openbookqa", "winogrande", "boolq", "mathqa"};
  return formats;
}

std::string detectChoiceFormat(const std::string& jsonLine) {
  const json o = json::parse(jsonLine, nullptr, false);
  if (!o.is_object()) return {};
  auto has = [&](const char* key) { return o.contains(key); };
  if (has("choices") && has("gold")) return "ranklab";
  if (has("endings")) return "hellaswag";
  if (has("goal") && has("sol1")) return "piqa";
  if (has("sentence") && has("option1")) return "winogrande";
  if (has("passage") && has("question")) return "boolq";
  if (has("Problem") && (has("options") || has("Options"))) return "mathqa";
  if (has("question_stem")) return "openbookqa";
  if (has("question") && has("answerKey")) return has("fact1") ? "openbookqa" : "arc";
  return {};
}

int64_t codePoints(const std::string& text) {
  int64_t n = 0;
  for (size_t i = 0; i < text.size(); ++n) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    bool valid = i + len <= text.size();
    for (size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    i += valid ? len : 1;
  }
  return n;
}

ChoiceSet readChoices(const fs::path& file, const std::string& format, const fs::path& labelsFile,
                      int64_t maxItems) {
  const std::string content = readTextFile(file);
  const std::string name = file.string();
  ChoiceSet set;
  set.format = format == "auto" ? std::string() : format;
  if (!set.format.empty() &&
      std::find(choiceFormats().begin(), choiceFormats().end(), set.format) == choiceFormats().end()) {
    std::string known;
    for (const auto& f : choiceFormats()) known += (known.empty() ? "" : ", ") + f;
    throw Error(name + ": unknown multiple-choice format \"" + format + "\" (known: " + known + ")");
  }
  std::vector<int64_t> labels;
  fs::path labelsPath = labelsFile;
  if (labelsPath.empty()) {
    const fs::path sibling = file.parent_path() / (file.stem().string() + "-labels.lst");
    std::error_code ec;
    if (fs::is_regular_file(sibling, ec)) labelsPath = sibling;
  }

  std::istringstream in(content);
  std::string line;
  size_t index = 0;
  for (int64_t lineNo = 1; std::getline(in, line); ++lineNo) {
    if (trim(line).empty()) continue;
    if (maxItems > 0 && static_cast<int64_t>(set.items.size()) >= maxItems) break;
    const std::string where = name + " line " + std::to_string(lineNo);
    json o;
    try {
      o = json::parse(line);
    } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
      // The library's text without its "[json.exception.parse_error.101] " tag.
      const std::string what = e.what();
      const auto tag = what.rfind("] ", what.find(' '));
      throw Error(where + ": not valid JSON (" + (tag == std::string::npos ? what : what.substr(tag + 2)) +
                  ")");
    }
    if (set.format.empty()) {
      set.format = detectChoiceFormat(line);
      if (set.format.empty()) {
        std::string keys;
        if (o.is_object())
          for (const auto& kv : o.items()) keys += (keys.empty() ? "" : ", ") + kv.key();
        throw Error(where + ": cannot tell the multiple-choice format from the keys (" +
                    (keys.empty() ? std::string("none") : keys.substr(0, 200)) +
                    "); expected a ranklab item (context, choices, gold), HellaSwag, PIQA, ARC, OpenBookQA, "
                    "WinoGrande, BoolQ or MathQA, or name it with --format");
      }
    }
    if (set.format == "piqa" && labels.empty() && !labelsPath.empty()) labels = readLabelsFile(labelsPath);
    ChoiceItem item = parseItem(o, set.format, where, labels, index);
    item.line = lineNo;
    set.items.push_back(std::move(item));
    ++index;
  }
  if (set.items.empty()) throw Error(name + ": holds no multiple-choice items");
  if (!labels.empty() && maxItems <= 0 && labels.size() != index)
    throw Error(labelsPath.string() + ": holds " + std::to_string(labels.size()) + " labels for the " +
                std::to_string(index) + " items of " + name);
  return set;
}

}  // namespace ranklab::data
