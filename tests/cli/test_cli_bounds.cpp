// Bounded, named inputs (issue 22): numeric flags out of range, NaN and infinities, a config whose
// context length disagrees with the position table it sizes, job specs and sweep grids with values
// of the wrong type or range. Each must exit 2 at once with one line naming the flag, key or file.
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
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

test::CliRun cli(const std::string& args) { return test::runCli(args); }

std::string shipped() { return std::string(RANKLAB_SOURCE_DIR) + "/resources/models/gpt-mini"; }
std::string text() { return std::string(RANKLAB_SOURCE_DIR) + "/resources/data/lm/valid.txt"; }

fs::path scratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("ranklab_bounds_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// One usage error: exit 2, one line on stderr, naming `what`.
void expectRefused(const std::string& args, const std::string& what) {
  const auto r = cli(args);
  EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
  EXPECT_THAT(r.err, HasSubstr(what)) << args;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
}

TEST(CliBounds, NonFiniteNumbersAreRefusedNamingTheFlag) {
  const std::string m = shipped();
  expectRefused("generate " + m + " --temperature nan --steps 3",
                "--temperature: Value nan is not a finite number");
  expectRefused("compress " + m + " --keep inf --no-store", "--keep: Value inf is not a finite number");
  expectRefused("compress " + m + " --calib " + text() + " --finetune-steps 1 --lr nan --no-store",
                "--lr: Value nan is not a finite number");
  expectRefused("compress " + m + " --select ars --lambda -inf --no-store", "--lambda");
}

TEST(CliBounds, ThreadsLieWithinFourTimesTheHardware) {
  for (const char* n : {"0", "-1", "2000"})
    expectRefused("eval " + shipped() + " --text " + text() + " --threads " + n,
                  "--threads: Value " + std::string(n) + " is outside 1 .. ");
  expectRefused("compress " + shipped() + " --threads 1000 --no-store", "hardware threads");
}

TEST(CliBounds, RangeMessagesAreShort) {
  const auto r = cli("generate " + shipped() + " --steps -1");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--steps: Value -1 must be above 0"));
  EXPECT_LT(r.err.size(), 120u) << r.err;  // CLI11's own printed the largest double, 300 digits
}

TEST(CliBounds, AContextLengthTheWeightsDoNotHaveFailsBeforeAllocating) {
  const auto dir = scratch("positions");
  for (const auto& f : fs::directory_iterator(shipped())) fs::copy(f.path(), dir / f.path().filename());
  nlohmann::json config;
  std::ifstream(dir / "config.json") >> config;
  for (const int64_t positions : {int64_t{16777216}, int64_t{2147483648}}) {
    config["n_positions"] = positions;
    config["n_ctx"] = positions;
    std::ofstream(dir / "config.json") << config.dump();
    // 2^31 positions x 256 would be a 2 TB table; the header says 128.
    const auto r = cli("info " + dir.string());
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("n_positions = " + std::to_string(positions)));
    EXPECT_THAT(r.err, HasSubstr("'transformer.wpe.weight' holds 128 positions"));
    EXPECT_THAT(r.err, Not(HasSubstr("allocate")));
  }
  fs::remove_all(dir);
}

TEST(CliBounds, JobSpecErrorsNameTheFileAndTheKeyPath) {
  const auto dir = scratch("spec");
  auto spec = [&](const std::string& body) {
    const auto file = dir / "spec.json";
    std::ofstream(file) << R"({"model": ")" + shipped() + R"(", "store": false, )" + body + "}";
    return file.string();
  };
  expectRefused("run " + spec(R"("calib_samples": 1.5)"),
                "spec.json: /calib_samples must be an integer, got number 1.5");
  expectRefused("run " + spec(R"("decomposition": ["svd"])"),
                "spec.json: /decomposition must be a string, got array");
  expectRefused("run " + spec(R"("sensitivity_ratios": [0.5, "x"])"),
                "/sensitivity_ratios/1 must be a number");
  expectRefused("run " + spec(R"("manual_ranks": {"a/b": true})"), "/manual_ranks/a~1b must be a number");
  expectRefused("run " + spec(R"("seed": -3)"), "/seed must be an integer of 0 or more");
  expectRefused("run " + spec(R"("threads": 100)"), "threads must lie in 1 .. ");
  fs::remove_all(dir);
}

TEST(CliBounds, ASweepWithABadPointStopsBeforeStoringAnything) {
  const auto dir = scratch("sweep");
  const auto db = dir / "runs.db";
  std::ofstream(dir / "grid.json") << nlohmann::json{
      {"model", shipped()},
      {"keep", {0.5, 1.5}},
      {"db", db.string()}}.dump();
  const auto r = cli("sweep " + (dir / "grid.json").string());
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("grid.json, point 1 (keep = 1.5): --keep must lie in [0, 1]"));
  // No point ran: the database holds no run (it may not exist at all).
  if (fs::exists(db)) {
    const auto list = cli("runs list --json --db " + db.string());
    EXPECT_EQ(list.code, 0) << list.err;
    EXPECT_THAT(list.out, Not(HasSubstr("\"id\"")));
  }
  fs::remove_all(dir);
}

}  // namespace

namespace {

// A damaged tensor name with an escape sequence and a bell: the error shows them as \xNN, never
// as raw bytes a terminal would act on.
TEST(CliBounds, NamesFromFilesArePrintedEscaped) {
  const auto dir = scratch("escape");
  for (const char* f : {"config.json", "vocab.json", "merges.txt"})
    fs::copy(fs::path(shipped()) / f, dir / f);
  const std::string header =
      nlohmann::json{{"a\x1b[31mb\x07", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 100}}}}}
          .dump();
  std::ofstream out(dir / "model.safetensors", std::ios::binary);
  const uint64_t size = header.size();
  out.write(reinterpret_cast<const char*>(&size), 8);
  out << header << std::string(8, '\0');
  out.close();
  const auto r = cli("info " + dir.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("tensor 'a\\x1b[31mb\\x07'"));
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x07'), std::string::npos) << r.err;
  fs::remove_all(dir);
}

}  // namespace

namespace {

// The factorized manifest is read strictly and must agree with config.json and the factors.
TEST(CliBounds, AManifestThatContradictsItsModelIsRefused) {
  const auto dir = scratch("manifest");
  const auto exported = dir / "export";
  auto r = cli("compress " + shipped() + " --keep 0.5 --no-store --no-cache --export " + exported.string());
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(cli("info " + exported.string()).code, 0);
  nlohmann::json manifest;
  std::ifstream(exported / "ranklab.json") >> manifest;
  const std::string original = manifest.dump(2);
  auto expectBad = [&](const std::string& text, const std::string& what) {
    std::ofstream(exported / "ranklab.json") << text;
    const auto bad = cli("info " + exported.string());
    EXPECT_EQ(bad.code, 2) << what;
    EXPECT_THAT(bad.err, HasSubstr(what == "FACTORS" ? "factors.safetensors" : "ranklab.json: " + what))
        << bad.err;
  };
  expectBad(original + "\n{\"trailing\": 1}\n", "not valid JSON");
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json m = manifest;
    edit(m);
    return m.dump(2);
  };
  expectBad(edited([](auto& m) { m["ops"][2]["in"] = 999; }), "/ops/2/in is 999 but op '");
  expectBad(edited([](auto& m) { m["ops"][0]["full_rank"] = 7; }), "/ops/0/full_rank is 7");
  expectBad(edited([](auto& m) { m["ops"][1]["rank"] = "64"; }),
            "/ops/1/rank must be an integer, got string");
  expectBad(edited([](auto& m) { m["ops"][3].erase("factorized"); }), "/ops/3/factorized is missing");
  expectBad(edited([](auto& m) { m["rank_pattern"] = nlohmann::json::object(); }),
            "/rank_pattern does not match the ranks in /ops");
  // A rank that contradicts the factors' shapes: the factors file is named.
  const std::string op = manifest["ops"][0]["name"];
  expectBad(edited([&](auto& m) {
              m["ops"][0]["rank"] = m["ops"][0]["rank"].template get<int64_t>() - 1;
              m["rank_pattern"][op] = m["ops"][0]["rank"];
            }),
            "FACTORS");
  std::ofstream(exported / "ranklab.json") << original;
  EXPECT_EQ(cli("info " + exported.string()).code, 0);
  fs::remove_all(dir);
}

}  // namespace

namespace {

// A calibration set that cannot fit in memory is refused before sampling, with the flags to change.
TEST(CliBounds, ACalibrationSetThatCannotFitIsRefusedWithItsEstimate) {
  const auto r = cli("compress " + shipped() + " --decomp whiten --calib " + text() +
                     " --calib-samples 100000000 --no-store --no-cache");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("calibration needs about"));
  EXPECT_THAT(r.err, HasSubstr("100000000 x 128 tokens"));
  EXPECT_THAT(r.err, HasSubstr("lower --calib-samples or --calib-len"));
}

}  // namespace
