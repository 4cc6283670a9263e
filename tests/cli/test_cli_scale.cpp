// The pieces that make real-sized models workable, through the real binary on tiny synthetic models:
// synth, header-only info, the memory plan, sliding-window and bounded evaluation, and the layer-
// streamed job's switches.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "support/cli_runner.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;
using nlohmann::json;
using ::testing::HasSubstr;

namespace {

class CliScale : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("ranklab_cli_scale_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    m_text = (fs::path(RANKLAB_SOURCE_DIR) / "resources" / "data" / "lm" / "test.txt").string();
  }
  void TearDown() override { fs::remove_all(m_dir); }

  fs::path synth(const std::string& preset, const std::string& dtype = "fp16", int seed = 0) {
    const fs::path out = m_dir / (preset + "-" + dtype + "-" + std::to_string(seed));
    const auto r = test::runCli("synth --preset " + preset + " --dtype " + dtype + " --seed " +
                                std::to_string(seed) + " --out " + out.string() + " --json");
    EXPECT_EQ(r.code, 0) << r.err;
    return out;
  }
  // `model` (512-token vocabulary) holds a NaN in a weight, its headers intact: info reads only the
  // headers and succeeds, loading the weights fails with `nanError`, and a tokenizer that does not fit
  // the vocabulary fails from the headers, naming the tokenizer.
  void expectInfoReadsOnlyTheHeaders(const fs::path& model, const std::string& nanError) {
    const auto info = test::runCli("info " + model.string());
    EXPECT_EQ(info.code, 0) << info.err;
    const auto eval = test::runCli("eval " + model.string() + " --text " + m_text + " --max-docs 1");
    EXPECT_EQ(eval.code, 2);
    EXPECT_THAT(eval.err, HasSubstr(nanError));
    const auto wrong =
        test::runCli("info " + model.string() + " --tokenizer " +
                     (fs::path(RANKLAB_SOURCE_DIR) / "resources" / "tokenizers" / "gpt2").string());
    EXPECT_EQ(wrong.code, 2);
    EXPECT_THAT(wrong.err, HasSubstr("the tokenizer has 50257 ids but the model's vocabulary has 512"));
  }
  static json lastJson(const std::string& out) {
    const auto nl = out.find_last_of('\n', out.size() - 2);
    return json::parse(nl == std::string::npos ? out : out.substr(nl + 1));
  }

  fs::path m_dir;
  std::string m_text;
};

TEST_F(CliScale, SynthWritesALoadableSeededModelOfThePresetsShape) {
  const auto a = synth("llama-tiny");
  const auto r = test::runCli("info " + a.string() + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto info = json::parse(r.out);
  EXPECT_EQ(info["architecture"], "llama");
  EXPECT_EQ(info["layers"], 4);
  EXPECT_EQ(info["hidden"], 64);
  EXPECT_EQ(info["vocab"], 512);
  EXPECT_EQ(info["tokenizer"], "llama2c");
  // Stored in the requested dtype; the same seed writes the same bytes, another seed other ones.
  const auto header = io::readSafetensorsHeader(a / "model.safetensors");
  for (const auto& t : header.tensors) EXPECT_EQ(t.dtype, "F16") << t.name;
  const auto same = synth("llama-tiny", "fp16", 0), other = synth("llama-tiny", "fp16", 1);
  auto bytes = [](const fs::path& f) {
    std::ifstream in(f, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(bytes(a / "model.safetensors"), bytes(same / "model.safetensors"));
  EXPECT_NE(bytes(a / "model.safetensors"), bytes(other / "model.safetensors"));
  // It runs: a perplexity on real text (random weights: far above 1, finite).
  const auto e = test::runCli("eval " + a.string() + " --text " + m_text + " --max-docs 1 --json");
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_GT(json::parse(e.out)["perplexity"].get<double>(), 10.0);
  const auto gpt2 = synth("gpt2-tiny", "fp32");
  const auto g = test::runCli("info " + gpt2.string() + " --json");
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(json::parse(g.out)["architecture"], "gpt2");
  EXPECT_EQ(json::parse(g.out)["tokenizer"], "gpt2-bpe");
  const auto bad = test::runCli("synth --preset llama-7b --out " + (m_dir / "x").string());
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("unknown model preset 'llama-7b'"));
  EXPECT_THAT(bad.err, HasSubstr("tinyllama"));
}

TEST_F(CliScale, InfoReadsOnlyTheHeadersWhileLoadingChecksTheWeights) {
  const auto dir = synth("llama-tiny", "fp32");
  // Poison one weight's bytes (a NaN in the embedding), leaving the header intact.
  const auto header = io::readSafetensorsHeader(dir / "model.safetensors");
  uint64_t offset = 0;
  for (const auto& t : header.tensors)
    if (t.name == "model.embed_tokens.weight") offset = header.dataOffset + t.begin;
  ASSERT_GT(offset, 0u);
  {
    std::fstream f(dir / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    const float nan = std::numeric_limits<float>::quiet_NaN();
    f.write(reinterpret_cast<const char*>(&nan), sizeof nan);
  }
  expectInfoReadsOnlyTheHeaders(dir, "tensor 'model.embed_tokens.weight' contains NaN or infinite values");
}

TEST_F(CliScale, GgufIsReadHeadersFirstAndKeptInItsStoredPrecision) {
  const auto dir = synth("llama-tiny", "fp16");
  const auto gguf = m_dir / "tiny-fp16.gguf";
  const auto convert = test::runCli("convert " + dir.string() + " " + gguf.string() + " --dtype fp16");
  ASSERT_EQ(convert.code, 0) << convert.err;
  const auto header = io::readGgufHeader(gguf);
  for (const auto& t : header.tensorInfos)
    EXPECT_EQ(t.type, static_cast<uint32_t>(io::GgmlType::F16)) << t.name << ": --dtype fp16";
  // The same fp16 weights, computed the same way: the same perplexity as the directory it came from
  // (the q/k permutation round trip is exact). Metric: relative difference; tolerance 1e-9.
  auto perplexity = [&](const fs::path& model) {
    const auto r =
        test::runCli("eval " + model.string() + " --text " + m_text + " --max-docs 1 --ctx 64 --json");
    EXPECT_EQ(r.code, 0) << r.err;
    return r.code == 0 ? json::parse(r.out)["perplexity"].get<double>() : 0.0;
  };
  const double fromDir = perplexity(dir), fromGguf = perplexity(gguf);
  EXPECT_NEAR(fromGguf, fromDir, fromDir * 1e-9);
  // The plan counts the weights as they load: float16, as large as the file's data section.
  const auto plan = test::runCli("compress " + gguf.string() + " --keep 0.5 --plan --json");
  ASSERT_EQ(plan.code, 0) << plan.err;
  const auto p = json::parse(plan.out);
  EXPECT_EQ(p["stored_dtype"], "float16");
  const double data = static_cast<double>(fs::file_size(gguf) - header.dataOffset);
  EXPECT_NEAR(p["weight_bytes"].get<double>(), data, 0.01 * data);  // alignment padding aside
  // Poison one weight: an fp16 NaN at the start of the first tensor's data.
  const auto first = std::min_element(header.tensorInfos.begin(), header.tensorInfos.end(),
                                      [](const auto& a, const auto& b) { return a.offset < b.offset; });
  {
    std::fstream f(gguf, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(header.dataOffset + first->offset));
    const uint16_t nan = 0x7E00;
    f.write(reinterpret_cast<const char*>(&nan), sizeof nan);
  }
  expectInfoReadsOnlyTheHeaders(gguf, "contains NaN or infinite values");
}

TEST_F(CliScale, PlanEstimatesEachStageFromTheHeaders) {
  const auto dir = synth("llama-tiny");
  const auto r = test::runCli("compress " + dir.string() + " --decomp whiten --keep 0.5 --calib " + m_text +
                              " --calib-samples 4 --calib-len 64 --eval " + m_text + " --plan --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto plan = json::parse(r.out);
  const double weights = static_cast<double>(fs::file_size(dir / "model.safetensors"));
  EXPECT_NEAR(plan["weight_bytes"].get<double>(), weights, 0.01 * weights);  // header excluded
  EXPECT_EQ(plan["stored_dtype"], "float16");
  std::vector<std::string> stages;
  for (const auto& s : plan["stages"]) stages.push_back(s["stage"]);
  EXPECT_EQ(stages,
            (std::vector<std::string>{"load", "evaluate", "calibrate + decompose (by layer)", "apply"}));
  EXPECT_GT(plan["peak_host_bytes"].get<double>(), weights);
  EXPECT_EQ(plan["peak_device_bytes"].get<double>(), 0.0);
  // A GPU plan can be made on a machine without one; the weights then count on the GPU.
  const auto gpu =
      json::parse(test::runCli("compress " + dir.string() + " --decomp svd --plan --json --device cuda").out);
  EXPECT_EQ(gpu["device"], "cuda");
  EXPECT_GE(gpu["peak_device_bytes"].get<double>(), weights * 0.99);
  // ARS adds the full-rank factors and a training batch.
  const auto ars = json::parse(test::runCli("compress " + dir.string() + " --select ars --calib " + m_text +
                                            " --calib-len 64 --plan --json")
                                   .out);
  EXPECT_EQ(ars["stages"][2]["stage"], "ars");
  EXPECT_THAT(ars["stages"][2]["detail"].get<std::string>(), HasSubstr("full-rank factors"));
  // Recomputing the layers lowers the stage's estimate, and the plan says so.
  const auto recomputed =
      json::parse(test::runCli("compress " + dir.string() + " --select ars --calib " + m_text +
                               " --calib-len 64 --activation-checkpointing on --plan --json")
                      .out);
  EXPECT_THAT(recomputed["stages"][2]["detail"].get<std::string>(), HasSubstr("recomputed per layer"));
  EXPECT_LT(recomputed["stages"][2]["host_bytes"].get<double>(),
            ars["stages"][2]["host_bytes"].get<double>());
}

TEST_F(CliScale, EvalTakesAStrideAndADocumentLimit) {
  const auto dir = synth("llama-tiny");
  auto eval = [&](const std::string& extra) {
    const auto r =
        test::runCli("eval " + dir.string() + " --text " + m_text + " --max-docs 2 --ctx 64 --json " + extra);
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(r.out);
  };
  const auto plain = eval(""), sliding = eval("--stride 16");
  EXPECT_EQ(plain["documents"], 2);
  EXPECT_EQ(plain["tokens"], sliding["tokens"]) << "every token is scored once either way";
  EXPECT_NE(plain["perplexity"], sliding["perplexity"]) << "with more context the scores differ";
  EXPECT_EQ(test::runCli("eval " + dir.string() + " --text " + m_text + " --ctx 64 --stride 65").code, 2);
}

TEST_F(CliScale, CompressedPropagationNeedsKnownRanks) {
  const auto dir = synth("llama-tiny");
  const auto ok =
      test::runCli("compress " + dir.string() + " --decomp whiten --keep 0.5 --calib " + m_text +
                   " --calib-samples 4 --calib-len 64 --propagate compressed --no-store --no-cache --json");
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_NEAR(json::parse(ok.out)["kept_fraction"].get<double>(), 0.5, 0.02);
  const auto bad =
      test::runCli("compress " + dir.string() + " --decomp whiten --select energy --keep 0.5 --calib " +
                   m_text + " --calib-len 64 --propagate compressed --no-store --no-cache");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--propagate compressed needs the ranks before decomposing"));
}

}  // namespace
