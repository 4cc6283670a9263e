// The run-store commands of the real ranklab-cli on the reference stories260K model: compress with
// the decomposition cache, runs list/show/tag/note/delete/merge, rejected input, and exports that
// evaluate to the perplexity the job reported. Every command gets a temporary --db and --cache-dir,
// so the user's own run database and cache are never touched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "store/run_store.h"
#include "support/cli_runner.h"
#include "support/reference.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;
using nlohmann::json;
using test::parse;
using ::testing::HasSubstr;

namespace {

fs::path ref() { return test::referenceDir(); }
bool haveRef() { return test::haveReference(); }
std::string text69() { return test::referenceText(); }
std::string model() {
  return (ref() / "stories260K.bin").string() + " --tokenizer " + (ref() / "tok512.bin").string();
}

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Metric: relative difference |a - b| / |b|.
double relDiff(double a, double b) { return std::abs(a - b) / std::abs(b); }

const json* findRun(const json& list, int64_t id) {
  for (const auto& r : list["runs"])
    if (r["id"].get<int64_t>() == id) return &r;
  return nullptr;
}

// Compress jobs take seconds each, so the two identical runs that the cache, curation and merge
// tests share are made once, on first use (ctest runs each test in a process of its own).
class CliRuns : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_dir = fs::temp_directory_path() / ("ranklab_cli_runs_" + std::to_string(::getpid()));
    fs::create_directories(s_dir);
  }
  static void TearDownTestSuite() { fs::remove_all(s_dir); }

  void SetUp() override {
    if (!haveRef()) GTEST_SKIP() << "reference model, tokenizer or text not found under " << ref();
  }

  // --db and --cache-dir inside the suite's temporary folder (one cache for all jobs).
  static std::string storage(const std::string& db) {
    return " --db " + (s_dir / db).string() + " --cache-dir " + (s_dir / "cache").string();
  }
  static std::string db() { return (s_dir / "runs.db").string(); }

  static void makeTwoRuns() {
    if (s_madeRuns) return;
    s_madeRuns = true;
    for (auto* out : {&s_first, &s_second})
      *out = test::runCli("compress " + model() + " --decomp svd --select uniform --keep 0.5 --eval " +
                          text69() + " --max-docs 4 --json" + storage("runs.db"));
  }

  static inline fs::path s_dir;
  static inline bool s_madeRuns = false;
  static inline test::CliRun s_first, s_second;
};

TEST_F(CliRuns, CompressReportsTheBudgetAndReusesTheCachedDecomposition) {
  makeTwoRuns();
  const json a = parse(s_first), b = parse(s_second);
  ASSERT_TRUE(a.contains("after") && b.contains("after")) << s_first.out;
  EXPECT_GT(a["run_id"].get<int64_t>(), 0);
  EXPECT_GT(b["run_id"].get<int64_t>(), a["run_id"].get<int64_t>());
  EXPECT_EQ(a["db"], db());
  const double before = a["before"]["perplexity"].get<double>(),
               after = a["after"]["perplexity"].get<double>();
  EXPECT_GT(before, 1.0);
  EXPECT_GT(after, before);  // a rank cut to half the parameters must cost perplexity
  EXPECT_EQ(a["before"]["tokens"], a["after"]["tokens"]);
  // Uniform at budget floors k = p M N / (M + N) per op, so it lands just under p.
  EXPECT_LE(a["kept_fraction"].get<double>(), 0.5);
  EXPECT_GT(a["kept_fraction"].get<double>(), 0.48);
  EXPECT_EQ(a["ops"].size(), 35u);

  EXPECT_FALSE(a["decomposition_from_cache"].get<bool>());  // the suite's cache folder starts empty
  EXPECT_TRUE(b["decomposition_from_cache"].get<bool>());
  // Metric: perplexity after compression, relative tolerance 1e-9: the cached factors are the same.
  EXPECT_LE(relDiff(b["after"]["perplexity"].get<double>(), after), 1e-9);
  EXPECT_EQ(b["ops"], a["ops"]);
}

TEST_F(CliRuns, ListShowTagNoteAndDelete) {
  makeTwoRuns();
  const json a = parse(s_first), b = parse(s_second);
  ASSERT_TRUE(a.contains("run_id") && b.contains("run_id"));
  const int64_t first = a["run_id"], second = b["run_id"];
  const std::string id = std::to_string(first), dbArg = " --db " + db() + " --json";

  json list = parse(test::runCli("runs list" + dbArg));
  ASSERT_NE(findRun(list, first), nullptr) << list.dump();
  ASSERT_NE(findRun(list, second), nullptr) << list.dump();
  // Metric: perplexity, relative tolerance 1e-12: the store keeps the double the job reported.
  EXPECT_LE(
      relDiff((*findRun(list, first))["metric_after"].get<double>(), a["after"]["perplexity"].get<double>()),
      1e-12);

  json tagged = parse(test::runCli("runs tag " + id + " alpha beta" + dbArg));
  EXPECT_EQ(tagged["tags"], json({"alpha", "beta"}));
  parse(test::runCli("runs note " + id + " 'half the parameters, svd'" + dbArg));

  json show = parse(test::runCli("runs show " + id + dbArg));
  EXPECT_EQ(show["run"]["id"], first);
  EXPECT_EQ(show["run"]["tags"], json({"alpha", "beta"}));
  EXPECT_EQ(show["run"]["notes"], "half the parameters, svd");
  ASSERT_EQ(show["ops"].size(), 35u);
  for (size_t i = 0; i < 35; ++i) {
    EXPECT_EQ(show["ops"][i]["name"], a["ops"][i]["name"]);
    EXPECT_EQ(show["ops"][i]["rank"], a["ops"][i]["rank"]) << show["ops"][i]["name"];
    EXPECT_LT(show["ops"][i]["rank"].get<int64_t>(), show["ops"][i]["full_rank"].get<int64_t>());
  }

  list = parse(test::runCli("runs list --tag alpha" + dbArg));
  EXPECT_NE(findRun(list, first), nullptr) << list.dump();
  EXPECT_EQ(findRun(list, second), nullptr) << "the untagged run passed the tag filter";

  EXPECT_EQ(parse(test::runCli("runs delete " + id + dbArg))["deleted"], first);
  list = parse(test::runCli("runs list" + dbArg));
  EXPECT_EQ(findRun(list, first), nullptr) << "deleted run still listed";
  EXPECT_NE(findRun(list, second), nullptr);

  const auto gone = test::runCli("runs show " + id + dbArg);
  EXPECT_EQ(gone.code, 2);
  EXPECT_EQ(lines(gone.err), 1) << gone.err;
  EXPECT_THAT(gone.err, HasSubstr(db()));
  EXPECT_TRUE(gone.out.empty()) << gone.out;
}

TEST_F(CliRuns, MergeFoldsInAnotherDatabaseOnce) {
  const std::string other = (s_dir / "other.db").string();
  const json made = parse(test::runCli("compress " + model() + " --keep 0.3 --eval " + text69() +
                                       " --max-docs 2 --json" + storage("other.db")));
  ASSERT_TRUE(made.contains("uuid"));
  makeTwoRuns();
  const json kept = parse(s_second);  // the suite's database holds runs of its own
  ASSERT_TRUE(kept.contains("uuid"));

  json report = parse(test::runCli("runs merge " + other + " --db " + db() + " --json"));
  EXPECT_EQ(report["runs_added"], 1);
  EXPECT_EQ(report["runs_skipped"], 0);
  report = parse(test::runCli("runs merge " + other + " --db " + db() + " --json"));
  EXPECT_EQ(report["runs_added"], 0) << "merging the same database twice must add nothing";
  EXPECT_EQ(report["runs_skipped"], 1);

  const json list = parse(test::runCli("runs list --db " + db() + " --json"));
  int merged = 0, own = 0;
  for (const auto& r : list["runs"]) {
    own += r["uuid"] == kept["uuid"];
    if (r["uuid"] != made["uuid"]) continue;
    ++merged;
    EXPECT_DOUBLE_EQ(r["keep_target"].get<double>(), 0.3);
    // Metric: perplexity, relative tolerance 1e-12: merged rows are copied, not recomputed.
    EXPECT_LE(relDiff(r["metric_after"].get<double>(), made["after"]["perplexity"].get<double>()), 1e-12);
  }
  EXPECT_EQ(merged, 1) << list.dump();
  EXPECT_EQ(own, 1) << "the merge replaced or duplicated a run already there";

  // Issue 18: the merged run was evaluated on 2 documents, the suite's on 4: each run carries its
  // protocol, and the text listing puts them in separate sections instead of one column.
  for (const auto& r : list["runs"]) {
    if (r["uuid"] != made["uuid"] && r["uuid"] != kept["uuid"]) continue;
    ASSERT_TRUE(r["protocol"].is_object()) << r.dump();
    EXPECT_EQ(r["protocol"]["max_documents"], r["uuid"] == made["uuid"] ? 2 : 4);
    EXPECT_EQ(r["protocol"]["metric"], "perplexity");
    EXPECT_EQ(r["protocol"]["sha256"], r["eval_sha256"]);
    EXPECT_GT(r["protocol"]["counted"].get<int64_t>(), 0);
  }
  const auto text = test::runCli("runs list --db " + db());
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("\u00b7 2 docs \u00b7")) << text.out;
  EXPECT_THAT(text.out, HasSubstr("\u00b7 4 docs \u00b7")) << text.out;
  EXPECT_THAT(text.out, HasSubstr("perplexity on stories260K")) << text.out;
}

TEST_F(CliRuns, RejectedInputExitsWith2AndStoresNothing) {
  const std::string rejected = "rejected.db";
  auto expectUsageError = [&](const std::string& args, const std::string& named) {
    SCOPED_TRACE(args);
    const auto r = test::runCli(args);
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr(named));
    EXPECT_TRUE(r.out.empty()) << r.out;
  };
  const std::string job = "compress " + model() + " --json" + storage(rejected);
  const std::string missing = (s_dir / "no-such-eval.txt").string();
  expectUsageError(job + " --eval " + missing, missing);
  expectUsageError(job + " --select nonsense", "nonsense");
  expectUsageError(job + " --keep 1.5", "--keep");
  expectUsageError(job + " --select manual", "--ranks");
  EXPECT_FALSE(fs::exists(s_dir / rejected)) << "a rejected job opened the run database";
  expectUsageError("runs show 999 --db " + db() + " --json", "999");
}

TEST_F(CliRuns, ExportsEvaluateToThePerplexityTheJobReported) {
  // eval has no --max-docs, so both sides evaluate a whole (short) file: the first documents of
  // the reference text.
  std::ifstream in(text69(), std::ios::binary);
  const std::string all{std::istreambuf_iterator<char>(in), {}};
  const std::string separator = "<|endoftext|>";
  size_t end = 0;
  for (int doc = 0; doc < 3; ++doc) {
    end = all.find(separator, end);
    ASSERT_NE(end, std::string::npos) << text69() << " has fewer than 3 documents";
    end += separator.size();
  }
  const fs::path text = s_dir / "first3.txt";
  std::ofstream(text, std::ios::binary) << all.substr(0, end - separator.size());

  const fs::path factorized = s_dir / "export-factorized", dense = s_dir / "export-dense";
  const std::string job =
      "compress " + model() + " --keep 0.5 --eval " + text.string() + " --json" + storage("export.db");
  const json fj = parse(test::runCli(job + " --export " + factorized.string() + " --format factorized"));
  ASSERT_TRUE(fj.contains("after")) << fj.dump();
  EXPECT_EQ(fj["exported_to"], factorized.string());
  const json fe = parse(test::runCli("eval " + factorized.string() + " --text " + text.string() + " --json"));
  EXPECT_EQ(fe["documents"], 3);
  EXPECT_EQ(fe["tokens"], fj["after"]["tokens"]);
  // Metric: perplexity, relative tolerance 1e-6: the factorized export reloads the same factors.
  EXPECT_LE(relDiff(fe["perplexity"].get<double>(), fj["after"]["perplexity"].get<double>()), 1e-6)
      << fe["perplexity"] << " vs " << fj["after"]["perplexity"];

  std::ifstream manifestFile(factorized / "ranklab.json");
  ASSERT_TRUE(manifestFile) << "no ranklab.json in " << factorized;
  const json manifest = json::parse(manifestFile);
  EXPECT_EQ(manifest["format"], "ranklab-factorized");
  ASSERT_TRUE(manifest["rank_pattern"].is_object());
  EXPECT_EQ(manifest["rank_pattern"].size(), 35u);  // at p = 0.5 every op is cut
  for (const auto& op : fj["ops"])
    EXPECT_EQ(manifest["rank_pattern"].value(op["name"].get<std::string>(), -1), op["rank"]) << op["name"];

  const json dj = parse(test::runCli(job + " --export " + dense.string() + " --format dense"));
  ASSERT_TRUE(dj.contains("after")) << dj.dump();
  EXPECT_TRUE(fs::exists(dense / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dense / "ranklab.json"));
  const json de = parse(test::runCli("eval " + dense.string() + " --text " + text.string() + " --json"));
  EXPECT_EQ(de["tokens"], dj["after"]["tokens"]);
  // Metric: perplexity, relative tolerance 1e-4: the dense export multiplies the factors out once,
  // which reorders float32 sums.
  EXPECT_LE(relDiff(de["perplexity"].get<double>(), dj["after"]["perplexity"].get<double>()), 1e-4)
      << de["perplexity"] << " vs " << dj["after"]["perplexity"];
}

// A run whose job is still writing it (this test process holds it) is not deleted without --force.
TEST(CliRunsDelete, ARunItsLiveJobIsWritingNeedsForce) {
  const fs::path dir = fs::temp_directory_path() / ("ranklab_cli_delete_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string dbFile = (dir / "runs.db").string();
  store::RunStore db(dbFile);
  api::RunRecord record;
  record.name = "live";
  const int64_t id = db.beginRun(record);

  const auto refused = test::runCli("runs delete " + std::to_string(id) + " --db " + dbFile);
  EXPECT_NE(refused.code, 0);
  EXPECT_THAT(refused.err, HasSubstr("still being written"));
  EXPECT_THAT(refused.err, HasSubstr("pid " + std::to_string(::getpid())));
  EXPECT_THAT(refused.err, HasSubstr("--force"));
  ASSERT_TRUE(db.findRun(id)) << "the live run was deleted";
  EXPECT_EQ(db.findRun(id)->status, "running");

  const auto forced = test::runCli("runs delete " + std::to_string(id) + " --force --json --db " + dbFile);
  EXPECT_EQ(parse(forced)["deleted"], id);
  EXPECT_FALSE(db.findRun(id));
  fs::remove_all(dir);
}

}  // namespace
