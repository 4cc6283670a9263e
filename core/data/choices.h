// Multiple-choice sets for zero-shot evaluation, read into the form lm-evaluation-harness scores
// (README "Multiple-choice accuracy"). Every choice becomes one scored request: a context and a
// continuation whose log-likelihood given the context is summed. Torch-free.
//
// Formats (one JSON object per line; blank lines are skipped):
//  - ranklab:    {"context": str, "choices": [str, str, ...], "gold": int, "task": str (optional)};
//                request i = (context, " " + choices[i])
//  - hellaswag:  ctx_a/ctx_b (or ctx), endings, label, activity_label; the harness's preprocessing
//                ("[title]" to ". ", bracketed artefacts removed, ctx_b capitalised)
//  - piqa:       goal, sol1, sol2, label (or a labels file: one 0/1 per line, valid-labels.lst next to
//                valid.jsonl); context "Question: {goal}\nAnswer:"
//  - arc:        question.stem + question.choices[].text/label + answerKey (AI2's files), or question +
//                choices.text/label + answerKey (Hugging Face's); context "Question: {q}\nAnswer:"
//  - openbookqa: the ARC layouts (AI2's, detected by fact1; Hugging Face's by question_stem); the
//                context is the question stem alone
//  - winogrande: sentence with "_", option1, option2, answer "1"/"2"; partial scoring: request i =
//                (sentence up to "_" with option i, " " + the rest of the sentence)
//  - boolq:      passage, question, answer (true/false) or label (0/1); context
//                "{passage}\nQuestion: {question}?\nAnswer:", choices "no" and "yes"
//  - mathqa:     Problem, options ("a ) 38 , b ) 27.675 , ..." split as the harness's regular
//                expression splits it), correct (a-e); context "Question: {Problem}\nAnswer:"
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ranklab::data {

struct ChoiceItem {
  // Request i: the log-likelihood of continuations[i] given contexts[i].
  std::vector<std::string> contexts, continuations;
  // The choices as the task lists them; acc_norm divides by their length in characters (code points),
  // as the harness does (len() of the choice string).
  std::vector<std::string> choices;
  int64_t gold = 0;  // index of the right choice
  std::string task;  // the item's task ("hellaswag", or the ranklab format's "task"); "" if not named
  int64_t line = 0;  // 1-based line in the file
};

struct ChoiceSet {
  std::string format;  // the format read (one of choiceFormats())
  std::vector<ChoiceItem> items;
};

// "ranklab", "hellaswag", "piqa", "arc", "openbookqa", "winogrande", "boolq", "mathqa".
const std::vector<std::string>& choiceFormats();

// The format of a line's object, from its keys; "" when none matches.
std::string detectChoiceFormat(const std::string& jsonLine);

// Reads `file` in `format` ("" or "auto": detected from the first item's keys). `labelsFile`: PIQA's
// labels when its lines hold none ("" = <stem>-labels.lst next to the file when present).
// `maxItems` > 0 keeps the first items. Throws ranklab::Error naming the file, the line and the key for
// anything malformed: a missing or mistyped key, fewer than two choices, a gold index out of range, an
// unknown format, no items.
ChoiceSet readChoices(const std::filesystem::path& file, const std::string& format = "",
                      const std::filesystem::path& labelsFile = {}, int64_t maxItems = 0);

// The length acc_norm divides by: Unicode code points of a UTF-8 string (bytes that are not UTF-8
// count one each).
int64_t codePoints(const std::string& text);

}  // namespace ranklab::data
