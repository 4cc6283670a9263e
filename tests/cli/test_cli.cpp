// Runs the real ranklab-cli binary: exit codes, one-line errors, --json output, and the commands
// on the reference model when it is present.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/cli_runner.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;
using ::testing::HasSubstr;

namespace {

using Run = test::CliRun;
Run cli(const std::string& args) { return test::runCli(args); }

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

fs::path ref() { return fs::path(RANKLAB_REFERENCE_DIR) / "stories260K"; }
bool haveRef() { return fs::exists(ref() / "stories260K.bin"); }
std::string refArgs() {
  return (ref() / "stories260K.bin").string() + " --tokenizer " + (ref() / "tok512.bin").string();
}

TEST(Cli, UnknownFlagIsOneLineAndExitCode2) {
  auto r = cli("info /tmp --no-such-flag");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--no-such-flag"));
}

TEST(Cli, MissingFileNamesTheFile) {
  auto r = cli("info /nonexistent/model.gguf");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/model.gguf"));
  r = cli("eval /nonexistent/dir --text /nonexistent/text.txt");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("text.txt"));
}

TEST(Cli, UnsupportedArchitectureIsAClearError) {
  const auto dir = fs::temp_directory_path() / ("ranklab_cli_arch_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << R"({"model_type": "mamba", "hidden_size": 8})";
  auto r = cli("info " + dir.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("mamba"));
  EXPECT_THAT(r.err, HasSubstr("config.json"));
  fs::remove_all(dir);
}

TEST(Cli, BadDeviceIsAClearError) {
  auto r = cli("demo --device tpu");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("tpu"));
}

// The demo job compresses the shipped gpt-mini with plain SVD at p = 0.5 and evaluates before/after.
TEST(Cli, DemoJobCompressesTheShippedGptMini) {
  auto r = cli("demo --device cpu --no-store --max-docs 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("gpt-mini"));
  EXPECT_THAT(r.out, HasSubstr("before"));
  EXPECT_THAT(r.out, HasSubstr("after"));
  r = cli("demo --device cpu --no-store --max-docs 1 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["decomposition"], "svd");
  EXPECT_EQ(j["selector"], "uniform");
  // Metric: achieved kept fraction, within 1% of the 0.5 budget and never above it.
  EXPECT_LE(j["kept_fraction"].get<double>(), 0.5);
  EXPECT_GT(j["kept_fraction"].get<double>(), 0.49);
  const double before = j["before"]["perplexity"].get<double>(),
               after = j["after"]["perplexity"].get<double>();
  EXPECT_GT(j["before"]["tokens"].get<int>(), 1000);
  // Halving the parameters with plain SVD costs perplexity: the damage must be visible.
  EXPECT_GT(after, before);
  EXPECT_TRUE(std::isfinite(after));
}

TEST(Cli, InfoTokenizeGenerateEvalOnTheReferenceModel) {
  if (!haveRef()) GTEST_SKIP() << "reference model not found at " << ref();
  auto r = cli("info " + refArgs() + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["architecture"], "llama");
  EXPECT_EQ(info["ops"].size(), 35u);
  EXPECT_EQ(info["compressible_params"], 226560);

  r = cli("tokenize --tokenizer " + (ref() / "tok512.bin").string() + " --text 'Once upon a time' --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(nlohmann::json::parse(r.out)["ids"].empty());

  r = cli("generate " + refArgs() + " --steps 256 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream expected(ref() / "reference_greedy_t0.txt", std::ios::binary);
  const std::string want{std::istreambuf_iterator<char>(expected), {}};
  EXPECT_EQ(nlohmann::json::parse(r.out)["text"].get<std::string>(), want);

  r = cli("eval " + refArgs() + " --text " + (ref() / "TinyStories-valid.first69.txt").string() +
          " --truncate --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto ev = nlohmann::json::parse(r.out);
  EXPECT_EQ(ev["tokens"], 22045);
  // Metric: perplexity, relative tolerance 0.5% against the independent 3.44.
  EXPECT_NEAR(ev["perplexity"].get<double>(), 3.44, 3.44 * 0.005);
}

TEST(Cli, SampledGenerationPrintsValidJsonEvenWhenTextEndsMidCharacter) {
  if (!haveRef()) GTEST_SKIP() << "reference model not found at " << ref();
  for (int seed = 0; seed < 4; ++seed) {
    auto r = cli("generate " + refArgs() + " --steps 40 --temperature 1.5 --seed " + std::to_string(seed) +
                 " --json");
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["tokens"].get<int>(), static_cast<int>(j["ids"].size()));
  }
}

TEST(Cli, ConvertToHfAndGgufThenEvalAgrees) {
  if (!haveRef()) GTEST_SKIP() << "reference model not found at " << ref();
  const auto dir = fs::temp_directory_path() / ("ranklab_cli_conv_" + std::to_string(::getpid()));
  auto r = cli("convert " + refArgs() + " " + (dir / "hf").string() + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  r = cli("convert " + refArgs() + " " + (dir / "m.gguf").string());
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string text = (ref() / "TinyStories-valid.first69.txt").string();
  auto a = nlohmann::json::parse(cli("eval " + (dir / "hf").string() + " --text " + text + " --json").out);
  auto b =
      nlohmann::json::parse(cli("eval " + (dir / "m.gguf").string() + " --text " + text + " --json").out);
  EXPECT_EQ(a["tokens"], 22153);  // default windows: every token after BOS predicted once
  EXPECT_EQ(b["tokens"], 22153);
  // Metric: mean NLL; F32 conversions are exact, so equal to 1e-9.
  EXPECT_NEAR(a["mean_nll"].get<double>(), b["mean_nll"].get<double>(), 1e-9);
  fs::remove_all(dir);
}

// bpe-train writes a tokenizer that `tokenize` loads and that round-trips text.
TEST(Cli, BpeTrainWritesATokenizerTheOtherCommandsLoad) {
  const auto dir = fs::temp_directory_path() / ("ranklab_cli_bpe_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream text(dir / "text.txt");
    for (int i = 0; i < 50; ++i) text << "It was the best of times, it was the worst of times.<|endoftext|>";
  }
  auto r = cli("bpe-train " + (dir / "text.txt").string() + " --vocab-size 1000 --min-frequency 2 --out " +
               (dir / "tok").string() + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  // The text holds 22 mergeable pairs before every word is one token: training stops there, short
  // of the 1000 asked for.
  EXPECT_EQ(j["merges"], 22);
  EXPECT_EQ(j["vocab_size"], 256 + 22 + 1);
  EXPECT_GT(j["bytes_per_token"].get<double>(), 3.0);
  auto t =
      cli("tokenize --tokenizer " + (dir / "tok").string() + " --text 'It was the best of times' --json");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(nlohmann::json::parse(t.out)["tokenizer"], "gpt2-bpe");
  EXPECT_EQ(nlohmann::json::parse(t.out)["count"].get<int>(), 6);  // one learned token per word
  auto bad =
      cli("bpe-train " + (dir / "text.txt").string() + " --vocab-size 10 --out " + (dir / "x").string());
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("257"));
  fs::remove_all(dir);
}

// pretrain and finetune end to end on tiny models: Hugging Face directories that the other commands
// load, training.json with the figures, clear errors for bad options.
TEST(Cli, PretrainAndFinetuneWriteModelsTheOtherCommandsLoad) {
  const auto dir = fs::temp_directory_path() / ("ranklab_cli_train_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path res = fs::path(RANKLAB_SOURCE_DIR) / "resources";
  {
    std::ifstream in(res / "data" / "lm" / "valid.txt");
    std::string text{std::istreambuf_iterator<char>(in), {}};
    std::ofstream(dir / "train.txt") << text.substr(0, 30000);
    std::ofstream(dir / "valid.txt") << text.substr(30000, 8000);
  }
  const std::string tok = (res / "models" / "tokenizer").string();
  const std::string tiny =
      " --layers 1 --hidden 32 --heads 2 --ff 64 --ctx 32 --batch 4 --eval-windows 4 --device cpu --json";
  auto r = cli("pretrain " + (dir / "train.txt").string() + " --valid " + (dir / "valid.txt").string() +
               " --tokenizer " + tok + " --out " + (dir / "gpt").string() + " --steps 4" + tiny);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["objective"], "causal-lm");
  EXPECT_EQ(j["steps"], 4);
  EXPECT_GT(j["valid"]["perplexity"].get<double>(), 1.0);
  EXPECT_GT(j["bigram_valid"]["perplexity"].get<double>(), 1.0);
  EXPECT_EQ(j["valid"]["tokens"], j["bigram_valid"]["tokens"]);
  for (const char* f : {"config.json", "model.safetensors", "vocab.json", "merges.txt", "training.json"})
    EXPECT_TRUE(fs::exists(dir / "gpt" / f)) << f;
  EXPECT_FALSE(fs::exists(dir / "gpt" / "checkpoint"));
  auto info = cli("info " + (dir / "gpt").string() + " --json");
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_EQ(nlohmann::json::parse(info.out)["architecture"], "gpt2");

  r = cli("pretrain " + (dir / "train.txt").string() + " --valid " + (dir / "valid.txt").string() +
          " --tokenizer " + tok + " --out " + (dir / "bert").string() + " --mlm --steps 3" + tiny);
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["objective"], "masked-lm");
  EXPECT_GT(j["valid"]["masked_lm_loss"].get<double>(), 0.0);

  const auto spam = res / "data" / "spam";
  r = cli("finetune " + (dir / "bert").string() + " --labelled " + (spam / "valid.tsv").string() +
          " --valid " + (spam / "test.tsv").string() + " --out " + (dir / "cls").string() +
          " --steps 3 --batch 4 --max-length 32 --device cpu --json");
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["task"], "sequence-classification");
  EXPECT_EQ(j["labels"], nlohmann::json::array({"ham", "spam"}));
  EXPECT_EQ(j["valid"]["examples"], 251);
  auto ev = cli("eval " + (dir / "cls").string() + " --labelled " + (spam / "test.tsv").string() +
                " --ctx 32 --json");
  ASSERT_EQ(ev.code, 0) << ev.err;
  // The stored figure is the one `eval` measures on the stored weights.
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(ev.out)["accuracy"].get<double>(),
                   j["valid"]["accuracy"].get<double>());

  r = cli("finetune " + (dir / "gpt").string() + " --text " + (dir / "train.txt").string() + " --valid " +
          (dir / "valid.txt").string() + " --out " + (dir / "gpt-ft").string() +
          " --steps 3 --batch 4 --seq-len 32 --device cpu --json");
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["task"], "causal-lm");
  EXPECT_GT(j["valid_before"]["perplexity"].get<double>(), 1.0);

  auto bad = cli("pretrain " + (dir / "train.txt").string() + " --tokenizer " + tok + " --out " +
                 (dir / "x").string() + " --save-dtype fp8");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("fp8"));
  bad = cli("pretrain " + (dir / "train.txt").string() + " --tokenizer " +
            (res / "tokenizers" / "gpt2").string() + " --out " + (dir / "x").string() + " --mlm --steps 1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("mask token"));
  bad = cli("finetune " + (dir / "gpt").string() + " --labelled " + (spam / "valid.tsv").string() +
            " --out " + (dir / "x").string());
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("encoder"));
  fs::remove_all(dir);
}

// Ctrl-C during pretraining saves a checkpoint and exits 130; the same command then resumes it.
TEST(Cli, InterruptedPretrainingResumesFromItsCheckpoint) {
  const auto dir = fs::temp_directory_path() / ("ranklab_cli_resume_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path res = fs::path(RANKLAB_SOURCE_DIR) / "resources";
  const std::string cliPath = std::string(RANKLAB_BINARY_DIR) + "/app/ranklab-cli";
  const std::vector<std::string> args = {cliPath,
                                         "pretrain",
                                         (res / "data" / "lm" / "valid.txt").string(),
                                         "--tokenizer",
                                         (res / "models" / "tokenizer").string(),
                                         "--out",
                                         (dir / "m").string(),
                                         "--layers",
                                         "1",
                                         "--hidden",
                                         "16",
                                         "--heads",
                                         "2",
                                         "--ff",
                                         "32",
                                         "--ctx",
                                         "16",
                                         "--batch",
                                         "2",
                                         "--steps",
                                         "600",
                                         "--checkpoint-every",
                                         "20",
                                         "--device",
                                         "cpu",
                                         "--threads",
                                         "1",
                                         "--json"};
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execv(cliPath.c_str(), argv.data());
    ::_exit(127);
  }
  // Interrupt as soon as the first periodic checkpoint exists (the run is then well under way).
  const auto checkpoint = dir / "m" / "checkpoint" / "checkpoint.pt";
  for (int i = 0; i < 600 && !fs::exists(checkpoint); ++i) ::usleep(50000);
  ASSERT_TRUE(fs::exists(checkpoint)) << "no checkpoint after 30 s";
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  ASSERT_TRUE(fs::exists(checkpoint));
  EXPECT_FALSE(fs::exists(dir / "m" / "model.safetensors"));

  std::string command;
  for (size_t i = 1; i < args.size(); ++i) command += " " + args[i];
  auto r = cli(command);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["resumed_from"].get<int>(), 20);
  EXPECT_LT(j["resumed_from"].get<int>(), 600);
  EXPECT_TRUE(fs::exists(dir / "m" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "m" / "checkpoint"));
  fs::remove_all(dir);
}

}  // namespace
