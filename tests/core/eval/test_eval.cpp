// Perplexity windows and accuracy, checked against direct computations on tiny models.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/progress.h"
#include "eval/classification.h"
#include "eval/perplexity.h"
#include "models/language_model.h"
#include "support/tiny_config.h"
#include "tokenize/tokenizer.h"

namespace fs = std::filesystem;
using namespace ranklab;

namespace {

// Byte-level tokenizer: ids 0..2 specials, 3..258 bytes; "a" is 3 + 97.
std::unique_ptr<tokenize::Tokenizer> byteTokenizer() { return tokenize::makeByteTokenizer(); }

std::shared_ptr<models::LanguageModel> tinyLlama(int64_t context) {
  torch::manual_seed(11);
  auto m = models::createModel(test::tinyConfig(io::Architecture::Llama, {259, 16, 1, 2, 0, 24, context}));
  m->eval();
  return m;
}

// Direct NLL of a whole sequence in one forward pass (predict tokens 1..n-1).
double directNllSum(models::LanguageModel& m, const std::vector<int64_t>& ids) {
  torch::InferenceMode guard;
  auto t = torch::tensor(ids, torch::kLong).unsqueeze(0);
  auto logits = m.forward(t.narrow(1, 0, t.size(1) - 1), nullptr).squeeze(0);
  auto logp = torch::log_softmax(logits, -1);
  auto target = t.squeeze(0).narrow(0, 1, t.size(1) - 1);
  return -logp.gather(1, target.unsqueeze(1)).sum().item<double>();
}

TEST(Perplexity, MatchesDirectComputationAndCountsTokens) {
  auto tok = byteTokenizer();
  auto model = tinyLlama(64);
  const std::string docA = "hello world", docB = "tiny models";
  auto r = eval::perplexity(*model, *tok, "  " + docA + " <|endoftext|>\n" + docB + "\n");
  EXPECT_EQ(r.documents, 2);
  // BOS + dummy-prefix space + bytes; every token after BOS is predicted.
  auto idsA = tok->encode(docA), idsB = tok->encode(docB);
  idsA.insert(idsA.begin(), 1);
  idsB.insert(idsB.begin(), 1);
  EXPECT_EQ(r.tokens, static_cast<int64_t>(idsA.size() - 1 + idsB.size() - 1));
  const double expected =
      (directNllSum(*model, idsA) + directNllSum(*model, idsB)) / static_cast<double>(r.tokens);
  // Metric: mean NLL, absolute tolerance 1e-5 nats (batching and padding must not change it).
  EXPECT_NEAR(r.meanNll, expected, 1e-5);
  EXPECT_NEAR(r.perplexity, std::exp(expected), std::exp(expected) * 1e-5);  // relative 1e-5
  EXPECT_NEAR(r.bitsPerByte, r.meanNll * r.tokens / std::log(2.0) / (docA.size() + docB.size()), 1e-9);
}

TEST(Perplexity, WindowsCoverEveryTokenOnceAndTruncateScoresTheFirstWindow) {
  auto tok = byteTokenizer();
  auto model = tinyLlama(8);
  const std::string doc(30, 'x');  // BOS + space + 30 bytes = 32 tokens
  eval::PerplexityOptions o;
  o.context = 8;
  o.batchSize = 3;
  EXPECT_EQ(eval::perplexity(*model, *tok, doc, o).tokens, 31);
  o.truncate = true;  // cut to 8 tokens: 7 predicted
  EXPECT_EQ(eval::perplexity(*model, *tok, doc, o).tokens, 7);
}

TEST(Perplexity, SlidingWindowsScoreEachTokenOnceWithTheContextBeforeIt) {
  auto tok = byteTokenizer();
  auto model = tinyLlama(8);
  const std::string doc = "the quick brown fox jumps over the lazy dog";
  auto ids = tok->encode(doc);
  ids.insert(ids.begin(), 1);  // BOS
  const int64_t n = static_cast<int64_t>(ids.size());
  eval::PerplexityOptions o;
  o.context = 8;
  o.batchSize = 3;
  const auto plain = eval::perplexity(*model, *tok, doc, o);
  o.stride = 8;  // a stride of a whole window is the non-overlapping protocol
  const auto same = eval::perplexity(*model, *tok, doc, o);
  EXPECT_EQ(same.tokens, plain.tokens);
  EXPECT_NEAR(same.meanNll, plain.meanNll, 1e-6);
  o.stride = 3;
  const auto sliding = eval::perplexity(*model, *tok, doc, o);
  EXPECT_EQ(sliding.tokens, n - 1);  // every token after BOS once
  // The same by hand: window k reads ids[3k, 3k + 8) and scores the positions past the last window.
  torch::InferenceMode guard;
  double sum = 0.0;
  int64_t scoredTo = 0;
  for (int64_t b = 0; b + 1 < n; b += 3) {
    const int64_t e = std::min(n - 1, b + 8);
    const auto t = torch::tensor(ids, torch::kLong).narrow(0, b, e - b).unsqueeze(0);
    const auto logp = torch::log_softmax(model->forward(t, nullptr).squeeze(0), -1);
    for (int64_t p = std::max(b + 1, scoredTo + 1); p <= e; ++p)
      sum -= logp[p - 1 - b][ids[p]].item<double>();
    scoredTo = e;
    if (e == n - 1) break;
  }
  // Metric: mean NLL, absolute tolerance 1e-5 nats.
  EXPECT_NEAR(sliding.meanNll, sum / static_cast<double>(n - 1), 1e-5);
  o.stride = 9;
  EXPECT_THROW(eval::perplexity(*model, *tok, doc, o), Error);
}

TEST(Perplexity, HonoursCancelAndRejectsEmptyText) {
  auto tok = byteTokenizer();
  auto model = tinyLlama(16);
  CancelToken cancel;
  cancel.cancel();
  EXPECT_THROW(eval::perplexity(*model, *tok, "some text", {}, nullptr, &cancel), Cancelled);
  EXPECT_THROW(eval::perplexity(*model, *tok, " \n<|endoftext|> ", {}), Error);
}

TEST(Accuracy, CountsPredictionsOfAClassifier) {
  torch::manual_seed(12);
  auto model = models::createModel(test::tinyConfig(io::Architecture::Bert, {259, 16, 1, 2, 0, 32, 32}, 2));
  model->eval();
  // Make the classifier always answer "yes": zero weights, bias favouring label 1.
  {
    torch::NoGradGuard guard;
    auto params = model->named_parameters();
    params["classifier.weight"].zero_();
    params["classifier.bias"].copy_(torch::tensor({0.0f, 1.0f}));
  }
  auto tok = byteTokenizer();
  std::vector<data::LabelledExample> ex = {{"a", "", 1}, {"b", "", 0}, {"c", "d", 1}, {"eeee", "", 1}};
  auto r = eval::accuracy(*model, *tok, ex, {2, 0});
  EXPECT_EQ(r.examples, 4);
  EXPECT_EQ(r.correct, 3);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.75);
  ex.push_back({"x", "", 5});
  EXPECT_THROW(eval::accuracy(*model, *tok, ex), Error);
}

}  // namespace
