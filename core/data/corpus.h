// Text corpora and labelled sets read from disk. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ranklab::data {

// Reads a whole UTF-8 text file; throws ranklab::Error naming the file when it is missing or unreadable.
std::string readTextFile(const std::filesystem::path& file);

// Splits `text` at every `separator` (none: one document), strips surrounding whitespace from
// each piece and drops empty ones.
std::vector<std::string> splitDocuments(const std::string& text, const std::string& separator);

struct LabelledExample {
  std::string text;
  std::string textPair;  // second segment for pair tasks; empty for single-sentence tasks
  int64_t label = 0;
};

// Reads a labelled set:
//  - .jsonl: one object per line with "text" (or "sentence"/"sentence1"), optional "text_pair"
//    (or "sentence2"), and "label" as an integer or a label name;
//  - anything else: TSV "text<TAB>label" or "text<TAB>text_pair<TAB>label"; a first line whose last
//    field is "label" is a header.
// Label names map through `labelNames` (index = id) when given; integer labels must lie in
// [0, labelNames.size()) when labelNames is non-empty. Errors name the file and the line.
std::vector<LabelledExample> readLabelled(const std::filesystem::path& file,
                                          const std::vector<std::string>& labelNames);

// The label names of a labelled set: `labelsFile` (one per line) when given, else labels.txt next to
// `dataFile`, else the integers 0 .. the largest label seen when every label is an integer, else the
// distinct label names in sorted order. Throws ranklab::Error naming the file when there are fewer than two.
std::vector<std::string> labelNames(const std::filesystem::path& labelsFile,
                                    const std::filesystem::path& dataFile);

}  // namespace ranklab::data
