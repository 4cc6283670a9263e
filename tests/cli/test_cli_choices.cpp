// Multiple-choice evaluation through the real ranklab-cli: the shipped gpt-mini on the shipped demo
// task (README "Multiple-choice accuracy"), the job storing acc and acc_norm with their protocol,
// and malformed sets failing before the model loads with the file, line and key named.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/cli_runner.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;
using nlohmann::json;
using test::parse;
using ::testing::HasSubstr;

namespace {

std::string gptMini() { return std::string(RANKLAB_SOURCE_DIR) + "/resources/models/gpt-mini"; }
std::string demoTask() { return std::string(RANKLAB_SOURCE_DIR) + "/resources/data/lm/next-words.jsonl"; }

class CliChoices : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("ranklab-cli-choices-" + std::to_string(::getpid()));
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  fs::path m_dir;
};

}  // namespace

TEST_F(CliChoices, GptMiniScoresTheDemoTaskAboveChance) {
  const json j =
      parse(test::runCli("eval " + gptMini() + " --choices " + demoTask() + " --json --threads 2"));
  EXPECT_EQ(j.value("format", ""), "ranklab");
  EXPECT_EQ(j.value("items", 0), 400);
  EXPECT_DOUBLE_EQ(j.value("chance", 0.0), 0.25);
  // The README's claim: acc and acc_norm above chance by more than 3 standard errors.
  for (const char* metric : {"acc", "acc_norm"}) {
    const double value = j.value(metric, 0.0), se = j.value(std::string(metric) + "_stderr", 1.0);
    EXPECT_GT(se, 0.0);
    EXPECT_GT(value, 0.25 + 3.0 * se) << metric << " " << value << " +- " << se;
  }
}

TEST_F(CliChoices, CompressStoresAccAndAccNormWithTheirProtocol) {
  const std::string db = (m_dir / "runs.db").string();
  const json j = parse(test::runCli("compress " + gptMini() + " --select uniform --keep 0.3 --choices " +
                                    demoTask() + " --max-items 60 --db " + db + " --no-cache --json"));
  for (const char* stage : {"before", "after"}) {
    ASSERT_TRUE(j.contains(stage)) << j.dump();
    EXPECT_EQ(j[stage].value("items", 0), 60);
    EXPECT_GE(j[stage].value("acc_norm", -1.0), 0.0);
    EXPECT_LE(j[stage].value("acc_norm", 2.0), 1.0);
  }
  const json show = parse(test::runCli("runs show 1 --db " + db + " --json"));
  EXPECT_EQ(show["run"].value("metric", ""), "acc") << "acc is the headline when nothing else is evaluated";
  int points = 0;
  for (const auto& e : show["evals"]) {
    EXPECT_THAT(e.value("metric", ""), ::testing::AnyOf("acc", "acc_norm"));
    EXPECT_EQ(e["protocol"].value("scoring", ""), "ranklab");
    EXPECT_EQ(e["protocol"].value("file", ""), "next-words.jsonl");
    EXPECT_EQ(e["protocol"].value("counted", 0), 60);
    EXPECT_EQ(e["protocol"].value("max_documents", 0), 60);
    ++points;
  }
  EXPECT_EQ(points, 4) << "acc and acc_norm, before and after";
  const auto text = test::runCli("runs show 1 --db " + db);
  EXPECT_THAT(text.out, HasSubstr("acc_norm"));
  EXPECT_THAT(text.out, HasSubstr("next-words.jsonl \u00b7 60 items"));
}

TEST_F(CliChoices, AMalformedSetFailsBeforeTheModelLoadsNamingTheLine) {
  const fs::path bad = m_dir / "bad.jsonl";
  std::ofstream(bad) << "{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"gold\": 0}\n"
                     << "{\"context\": \"a\", \"choices\": [\"b\", \"c\"]}\n";
  // A model path that does not exist: the set is read first, so its error is the one reported.
  for (const std::string& command : {"eval /nonexistent/model --choices " + bad.string(),
                                     "compress /nonexistent/model --select uniform --keep 0.5 --choices " +
                                         bad.string() + " --no-store"}) {
    const auto r = test::runCli(command);
    EXPECT_NE(r.code, 0) << command;
    EXPECT_THAT(r.err, HasSubstr(bad.string() + " line 2")) << command;
    EXPECT_THAT(r.err, HasSubstr("/gold is missing")) << command;
  }
  const auto both =
      test::runCli("eval " + gptMini() + " --choices " + bad.string() + " --text " + bad.string());
  EXPECT_NE(both.code, 0);
  EXPECT_THAT(both.err, HasSubstr("exactly one of"));
  const auto format = test::runCli("eval " + gptMini() + " --choices " + demoTask() + " --format mmlu");
  EXPECT_NE(format.code, 0);
  EXPECT_THAT(format.err, HasSubstr("mmlu"));
}
