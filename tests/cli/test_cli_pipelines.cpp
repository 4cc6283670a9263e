// End-to-end pipelines through the real ranklab-cli on tiny models written to disk by the test:
// a GPT-2 Hugging Face directory with RankLab's shipped GPT-2 tokenizer, and a BERT classifier
// with a WordPiece vocabulary and a labelled TSV file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/loader.h"
#include "support/cli_runner.h"
#include "support/tiny_config.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;
using ::testing::HasSubstr;

namespace {

test::CliRun cli(const std::string& args) { return test::runCli(args); }

class Pipelines : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("ranklab_pipe_" + std::to_string(::getpid()));
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  // A tiny GPT-2 Hugging Face directory with RankLab's shipped GPT-2 tokenizer.
  fs::path tinyGpt2(uint64_t seed) {
    torch::manual_seed(seed);
    auto c = test::tinyConfig(io::Architecture::Gpt2, {50257, 16, 2, 2, 0, 64, 64});
    c.bosTokenId = c.eosTokenId = 50256;
    models::LoadedModel m;
    m.model = models::createModel(c);
    m.source = "tiny-gpt2";
    const auto model = m_dir / "gpt2";
    models::saveHfDirectory(m, model);
    const auto tokDir = fs::path(RANKLAB_SOURCE_DIR) / "resources" / "tokenizers" / "gpt2";
    fs::copy_file(tokDir / "vocab.json", model / "vocab.json");
    fs::copy_file(tokDir / "merges.txt", model / "merges.txt");
    return model;
  }
  fs::path m_dir;
};

TEST_F(Pipelines, Gpt2DirectoryWithTheShippedTokenizer) {
  const auto model = tinyGpt2(21);

  auto info = cli("info " + model.string() + " --json");
  ASSERT_EQ(info.code, 0) << info.err;
  auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["architecture"], "gpt2");
  EXPECT_EQ(j["tokenizer"], "gpt2-bpe");
  EXPECT_EQ(j["ops"].size(), 12u);  // q, k, v split out of c_attn, o, up, down per layer

  std::ofstream(m_dir / "text.txt") << "Hello world, this is a test.<|endoftext|>Another document here.";
  auto ev = cli("eval " + model.string() + " --text " + (m_dir / "text.txt").string() + " --json");
  ASSERT_EQ(ev.code, 0) << ev.err;
  auto e = nlohmann::json::parse(ev.out);
  EXPECT_EQ(e["documents"], 2);
  // GPT-2 ids: "Hello world, this is a test." = 8 tokens, "Another document here." = 4; each
  // document is preceded by <|endoftext|> and every token after it is predicted.
  EXPECT_EQ(e["tokens"], 12);
  EXPECT_GT(e["perplexity"].get<double>(), 1.0);

  auto gen = cli("generate " + model.string() + " --prompt 'Hello' --steps 5 --json");
  ASSERT_EQ(gen.code, 0) << gen.err;
  EXPECT_LE(nlohmann::json::parse(gen.out)["tokens"].get<int>(), 5);
}

// `compress --select ars` with its flags: the run reports its ARS details, the compressed (before
// fine-tuning) evaluation, meets the budget, and `runs show` finds it; bad ARS flags are clear errors.
TEST_F(Pipelines, ArsThroughTheCli) {
  const auto model = tinyGpt2(22);
  {
    std::ofstream text(m_dir / "text.txt");
    for (int d = 0; d < 10; ++d)
      text << "Story " << d << ": a small cat sat on the warm mat and looked at the rain.<|endoftext|>";
  }
  const std::string common = model.string() + " --calib " + (m_dir / "text.txt").string() + " --eval " +
                             (m_dir / "text.txt").string() + " --calib-len 12 --calib-samples 8 --db " +
                             (m_dir / "runs.db").string() + " --cache-dir " + (m_dir / "cache").string();
  auto run = cli(
      "compress " + common +
      " --select ars --keep 0.45 --ars-steps 30 --ars-lr 0.01 --lambda 20 --gamma 5 --tau 0.5 --log-every 10"
      " --batch 4 --finetune-steps 5 --activation-checkpointing on --json");
  ASSERT_EQ(run.code, 0) << run.err;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["selector"], "ars");
  // Both training stages recomputed their layers, as asked.
  for (const char* stage : {"ARS", "fine-tuning"}) {
    const auto& c = j["details"]["activation_checkpointing"][stage];
    EXPECT_EQ(c["on"], true) << stage;
    EXPECT_THAT(c["reason"].get<std::string>(), HasSubstr("asked for")) << stage;
  }
  EXPECT_LE(j["kept_fraction"].get<double>(), 0.45);
  EXPECT_GE(j["kept_fraction"].get<double>(), 0.45 * 0.99);
  EXPECT_EQ(j["details"]["ars"]["steps"], 30);
  EXPECT_EQ(j["details"]["ars"]["frames"], 3);
  EXPECT_TRUE(j["compressed"].contains("perplexity"));
  auto shown = cli("runs show " + std::to_string(j["run_id"].get<int>()) + " --db " +
                   (m_dir / "runs.db").string() + " --json");
  ASSERT_EQ(shown.code, 0) << shown.err;
  const auto stored = nlohmann::json::parse(shown.out);
  EXPECT_EQ(stored["run"]["selector"], "ars");
  EXPECT_EQ(stored["run"]["config"]["ars_lambda"], 20.0);
  EXPECT_EQ(stored["run"]["config"]["ars_tau"], 0.5);
  EXPECT_EQ(stored["run"]["config"]["activation_checkpointing"], "on");
  EXPECT_EQ(stored["mask_frames"], 3);

  EXPECT_EQ(cli("compress " + common + " --select ars --activation-checkpointing sometimes").code, 2);
  auto bad = cli("compress " + common + " --select ars --tau 0");
  EXPECT_NE(bad.code, 0);
  EXPECT_THAT(bad.err, HasSubstr("--tau must be positive"));
  auto noCalib = cli("compress " + model.string() + " --select ars --no-store");
  EXPECT_NE(noCalib.code, 0);
  EXPECT_THAT(noCalib.err, HasSubstr("needs calibration data"));
}

// A file name that is not UTF-8 (Latin-1 "caf\xe9.txt") went into the stored spec as JSON, and the
// JSON library's type_error.316 ended the job after its work; found by the run-db fuzz target.
TEST_F(Pipelines, AFileNameThatIsNotUtf8IsStoredNotFatal) {
  const fs::path text = m_dir / "caf\xe9.txt";
  fs::copy_file(fs::path(RANKLAB_SOURCE_DIR) / "resources" / "data" / "lm" / "test.txt", text);
  const auto db = m_dir / "runs.db";
  auto run =
      cli("compress " + (fs::path(RANKLAB_SOURCE_DIR) / "resources" / "models" / "gpt-mini").string() +
          " --select uniform --keep 0.5 --eval '" + text.string() + "' --max-docs 1 --db " + db.string());
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("stored in"));
  auto list = cli("runs list --db " + db.string() + " --json");
  ASSERT_EQ(list.code, 0) << list.err;
  const auto runs = nlohmann::json::parse(list.out)["runs"];
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "succeeded");
}

// `compress --select rankdyna` with its flags on a decoder: LM fine-tuning while the ranks move.
TEST_F(Pipelines, RankDynaThroughTheCli) {
  const auto model = tinyGpt2(23);
  {
    std::ofstream text(m_dir / "text.txt");
    for (int d = 0; d < 10; ++d)
      text << "Story " << d << ": a small cat sat on the warm mat and looked at the rain.<|endoftext|>";
  }
  auto run =
      cli("compress " + model.string() + " --select rankdyna --keep 0.4 --train " +
          (m_dir / "text.txt").string() + " --eval " + (m_dir / "text.txt").string() +
          " --calib-len 12 --finetune-steps 30 --warmup-steps 5 --final-steps 5 --realloc-every 4 --beta1 0.8"
          " --beta2 0.9 --orth-reg 0.05 --batch 4 --no-store --no-cache --json");
  ASSERT_EQ(run.code, 0) << run.err;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["selector"], "rankdyna");
  EXPECT_LE(j["kept_fraction"].get<double>(), 0.4);
  // Reallocations at t = 9, 13, 17, 21 and 25 (= T - t_f, the final budget).
  EXPECT_EQ(j["details"]["rankdyna"]["reallocations"], 5);
  EXPECT_EQ(j["details"]["rankdyna"]["steps"], 30);
  // RankDyna trains on every --calib-len window of the training text.
  EXPECT_EQ(j["details"]["training_windows"]["tokens_per_window"], 12);
  EXPECT_GT(j["details"]["training_windows"]["windows"].get<int64_t>(), 0);
  // ARS with the calibration defaults: windows of 128 tokens, capped by this model's context of 64,
  // and 16,384 tokens' worth of them asked for (as many as the text has taken).
  auto ars = cli("compress " + model.string() + " --select ars --keep 0.4 --calib " +
                 (m_dir / "text.txt").string() + " --ars-steps 2 --no-store --no-cache --json");
  ASSERT_EQ(ars.code, 0) << ars.err;
  const auto a = nlohmann::json::parse(ars.out);
  EXPECT_EQ(a["details"]["calibration"]["tokens_per_window"], 64);
  EXPECT_EQ(a["details"]["calibration"]["samples"], 16384 / 64);
  EXPECT_GT(a["details"]["calibration"]["sampled"].get<int64_t>(), 0);
  // Without --json the summary says why training ended where it did.
  auto text = cli("compress " + model.string() + " --select rankdyna --keep 0.4 --train " +
                  (m_dir / "text.txt").string() +
                  " --calib-len 12 --finetune-steps 12 --warmup-steps 2 --final-steps 2 --realloc-every 4"
                  " --batch 4 --no-store --no-cache");
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("rankdyna  12 steps, 2 reallocations: ran its budget schedule to the end"));
  auto weighted =
      cli("compress " + model.string() + " --select rankdyna --decomp fwsvd --finetune-steps 10 --calib " +
          (m_dir / "text.txt").string() + " --no-store");
  EXPECT_NE(weighted.code, 0);
  EXPECT_THAT(weighted.err, HasSubstr("plain SVD"));
}

TEST_F(Pipelines, BertClassifierWithWordPieceAndALabelledFile) {
  torch::manual_seed(22);
  auto c = test::tinyConfig(io::Architecture::Bert, {37, 16, 1, 2, 0, 32, 32}, 2);
  c.id2label = {"negative", "positive"};
  models::LoadedModel m;
  m.model = models::createModel(c);
  m.source = "tiny-bert";
  const auto model = m_dir / "bert";
  models::saveHfDirectory(m, model);
  fs::copy_file(fs::path(RANKLAB_TEST_DATA_DIR) / "wordpiece" / "vocab.txt", model / "vocab.txt");

  std::ofstream(m_dir / "set.tsv") << "sentence\tlabel\nhello world!\tpositive\nthe state of art\tnegative\n"
                                      "unwanted running\t1\n";
  auto ev = cli("eval " + model.string() + " --labelled " + (m_dir / "set.tsv").string() + " --json");
  ASSERT_EQ(ev.code, 0) << ev.err;
  auto e = nlohmann::json::parse(ev.out);
  EXPECT_EQ(e["examples"], 3);
  EXPECT_GE(e["accuracy"].get<double>(), 0.0);
  EXPECT_LE(e["accuracy"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(e["accuracy"].get<double>(), e["correct"].get<double>() / 3.0);

  std::ofstream(m_dir / "bad.tsv") << "hello\tpositive\nworld\tneutral\n";
  auto bad = cli("eval " + model.string() + " --labelled " + (m_dir / "bad.tsv").string());
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("bad.tsv:2"));
  EXPECT_THAT(bad.err, HasSubstr("neutral"));

  // An encoder has no next-token perplexity: a clear error, not a crash.
  auto ppl = cli("eval " + model.string() + " --text " + (m_dir / "set.tsv").string());
  EXPECT_EQ(ppl.code, 2);
  EXPECT_THAT(ppl.err, HasSubstr("encoder"));
}

}  // namespace
