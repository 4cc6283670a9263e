// The teaching mode's numerics (teach/teach.h) without the GUI: the small-matrix SVD and a shipped
// model's plain and weighted spectra.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <random>

#include "models/loader.h"
#include "teach/teach.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;
using ::testing::HasSubstr;

namespace {

const fs::path kModels = fs::path(RANKLAB_SOURCE_DIR) / "resources" / "models";
const fs::path kValid = fs::path(RANKLAB_SOURCE_DIR) / "resources" / "data" / "lm" / "valid.txt";

TEST(TeachMatrixSvd, ReconstructsTheMatrixWithOrthonormalFactors) {
  const int64_t rows = 7, cols = 5;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> a(rows * cols);
  for (auto& v : a) v = normal(rng);
  const auto svd = teach::matrixSvd(a, rows, cols);
  ASSERT_EQ(svd.s.size(), 5u);
  ASSERT_EQ(svd.u.size(), static_cast<size_t>(rows * 5));
  ASSERT_EQ(svd.vt.size(), static_cast<size_t>(5 * cols));
  for (size_t i = 1; i < svd.s.size(); ++i) EXPECT_GE(svd.s[i - 1], svd.s[i]);
  // Metric: max abs entry of A - U diag(s) V^T; tolerance 1e-5 (float32 results of a float64 SVD).
  double worst = 0.0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      double r = 0.0;
      for (int64_t k = 0; k < 5; ++k) r += double(svd.u[i * 5 + k]) * svd.s[k] * svd.vt[k * cols + j];
      worst = std::max(worst, std::abs(r - a[i * cols + j]));
    }
  EXPECT_LT(worst, 1e-5);
  // Metric: max abs entry of U^T U - I; tolerance 1e-6.
  double orth = 0.0;
  for (int64_t p = 0; p < 5; ++p)
    for (int64_t q = 0; q < 5; ++q) {
      double d = 0.0;
      for (int64_t i = 0; i < rows; ++i) d += double(svd.u[i * 5 + p]) * svd.u[i * 5 + q];
      orth = std::max(orth, std::abs(d - (p == q ? 1.0 : 0.0)));
    }
  EXPECT_LT(orth, 1e-6);
}

TEST(TeachMatrixSvd, RefusesValuesThatDoNotFillTheMatrix) {
  try {
    teach::matrixSvd(std::vector<float>(11, 1.0f), 3, 4);
    FAIL() << "11 values were taken for a 3 x 4 matrix";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("11 values do not fill a 3 x 4 matrix"));
  }
  EXPECT_THROW(teach::matrixSvd({}, 0, 4), Error);
}

TEST(TeachSpectra, PlainSpectraCarryEachWeightsEnergy) {
  const auto spectra = teach::modelSpectra((kModels / "gpt-mini").string());
  models::LoadOptions o;
  o.device = "cpu";
  const auto loaded = models::loadModel(kModels / "gpt-mini", o);
  const auto& entries = loaded.model->ops().entries();
  ASSERT_EQ(spectra.ops.size(), entries.size());
  EXPECT_EQ(spectra.summary.architecture, "gpt2");
  EXPECT_TRUE(spectra.calibPath.empty());
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& op = spectra.ops[i];
    EXPECT_EQ(op.op.name, entries[i].info.name);
    ASSERT_EQ(op.plain.size(), static_cast<size_t>(std::min(op.op.inFeatures, op.op.outFeatures)));
    EXPECT_TRUE(op.fisher.empty() && op.activation.empty() && op.whitened.empty());
    double energy = 0.0;
    for (float s : op.plain) energy += double(s) * s;
    // Metric: relative difference of sum s_i^2 and ||W||_F^2; tolerance 1e-5.
    const double frob =
        entries[i].slot->impl()->denseWeight().to(torch::kDouble).square().sum().item<double>();
    EXPECT_NEAR(energy / frob, 1.0, 1e-5) << op.op.name;
  }
}

TEST(TeachSpectra, WeightedSpectraComeFromACalibrationPass) {
  const auto spectra = teach::modelSpectra((kModels / "gpt-mini").string(), kValid.string(), 4, 64, 0);
  EXPECT_EQ(spectra.calibSamples, 4);
  EXPECT_EQ(spectra.calibTokens, 4 * 64);
  for (const auto& op : spectra.ops) {
    const size_t k = op.plain.size();
    ASSERT_EQ(op.fisher.size(), k) << op.op.name;
    ASSERT_EQ(op.activation.size(), k) << op.op.name;
    ASSERT_EQ(op.whitened.size(), k) << op.op.name;
    for (size_t i = 1; i < k; ++i) EXPECT_GE(op.whitened[i - 1], op.whitened[i]) << op.op.name;
    EXPECT_NE(op.whitened[0], op.plain[0]) << "the whitened matrix is not W itself";
  }
}

TEST(TeachSpectra, WeightedSpectraNeedACausalModelAndCancelStops) {
  try {
    teach::modelSpectra((kModels / "bert-mini").string(), kValid.string(), 2, 32, 0);
    FAIL() << "an encoder was calibrated on text";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("weighted spectra need a causal language model"));
  }
  CancelToken cancel;
  cancel.cancel();
  EXPECT_THROW(teach::modelSpectra((kModels / "gpt-mini").string(), {}, 0, 0, 0, &cancel), Cancelled);
}

}  // namespace
