// CUDA checks (label "gpu"): the same model on the GPU gives the CPU's logits and greedy text.
// Skip with a message where LibTorch has no CUDA or no device is present.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "common/device.h"
#include "eval/perplexity.h"
#include "models/generate.h"
#include "models/loader.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;

namespace {

fs::path refDir() { return fs::path(RANKLAB_REFERENCE_DIR) / "stories260K"; }

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cudaAvailable()) GTEST_SKIP() << "no CUDA device (LibTorch " << TORCH_VERSION << "): GPU checks skipped";
    if (!fs::exists(refDir() / "stories260K.bin")) GTEST_SKIP() << "reference model not found at " << refDir();
  }
  static models::LoadedModel load(const std::string& device) {
    return models::loadModel(refDir() / "stories260K.bin", {device, refDir() / "tok512.bin"});
  }
};

TEST_F(Cuda, LogitsMatchTheCpu) {
  auto cpu = load("cpu"), gpu = load("cuda");
  EXPECT_TRUE(gpu.model->device().is_cuda());
  torch::InferenceMode guard;
  auto ids = torch::tensor(cpu.tokenizer->encode("Once upon a time there was a big red ball."), torch::kLong).unsqueeze(0);
  auto a = cpu.model->forward(ids, nullptr);
  auto b = gpu.model->forward(ids.to(gpu.model->device()), nullptr).cpu();
  // Metric: max absolute logit difference, tolerance 1e-3 (TF32/cuBLAS summation order).
  EXPECT_LT((a - b).abs().max().item<float>(), 1e-3f);
}

TEST_F(Cuda, PerplexityMatchesTheReferenceOnTheGpu) {
  auto gpu = load("cuda");
  eval::PerplexityOptions o;
  o.context = 512;
  o.truncate = true;
  auto r = eval::perplexityOfFile(*gpu.model, *gpu.tokenizer, refDir() / "TinyStories-valid.first69.txt", o);
  EXPECT_EQ(r.tokens, 22045);
  // Metric: perplexity, relative tolerance 0.5% against the independent 3.44.
  EXPECT_NEAR(r.perplexity, 3.44, 3.44 * 0.005);
}

}  // namespace
