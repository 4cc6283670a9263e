#include "teach/teach.h"

#include <torch/torch.h>

#include "common/compat.h"
#include "common/error.h"
#include "common/tensor_util.h"
#include "data/corpus.h"
#include "lowrank/calibration.h"
#include "lowrank/decompose.h"
#include "models/loader.h"

namespace ranklab::teach {

api::MatrixSvd matrixSvd(const std::vector<float>& values, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0)
    throw Error("matrixSvd: the matrix must have positive dimensions, got " + std::to_string(rows) + " x " +
                std::to_string(cols));
  if (static_cast<int64_t>(values.size()) != rows * cols)
    throw Error("matrixSvd: " + std::to_string(values.size()) + " values do not fill a " +
                std::to_string(rows) + " x " + std::to_string(cols) + " matrix");
  torch::NoGradGuard guard;
  // float64: the teaching view checks Eckart-Young to 1e-6, beyond what a float32 SVD keeps.
  const at::Tensor a =
      torch::from_blob(const_cast<float*>(values.data()), {rows, cols}, torch::kFloat).to(at::kDouble);
  auto [u, s, vh] = compat::svd(a);
  api::MatrixSvd out;
  out.rows = rows;
  out.cols = cols;
  out.u = toFloatVector(u);
  out.s = toFloatVector(s);
  out.vt = toFloatVector(vh);
  return out;
}

api::ModelSpectra modelSpectra(const std::string& modelPath, const std::string& calibPath, int64_t samples,
                               int64_t length, uint64_t seed, const CancelToken* cancel) {
  models::LoadOptions options;
  options.device = "cpu";
  models::LoadedModel loaded = models::loadModel(modelPath, options);
  models::LanguageModel& model = *loaded.model;
  api::ModelSpectra out;
  out.summary = loaded.summary();
  const auto& entries = model.ops().entries();

  lowrank::Calibration calibration;
  const bool weighted = !calibPath.empty();
  if (weighted) {
    if (!model.isCausal())
      throw Error(modelPath +
                  ": weighted spectra need a causal language model (calibration text); this is a " +
                  out.summary.architecture + " encoder");
    if (!loaded.tokenizer) throw Error(modelPath + ": no tokenizer found next to the model");
    std::vector<lowrank::CalibrationSample> windows;
    try {
      windows = lowrank::textSamples(*loaded.tokenizer, data::readTextFile(calibPath), "<|endoftext|>",
                                     samples, length, seed);
    } catch (const Error& e) {
      const std::string m = e.what();
      throw Error(m.rfind(calibPath, 0) == 0 ? m : calibPath + ": " + m);
    }
    lowrank::CalibrationNeeds needs;
    needs.fisher = needs.absMean = needs.gram = true;
    calibration = lowrank::calibrate(model, windows, needs, nullptr, cancel);
    out.calibPath = calibPath;
    out.calibSamples = calibration.samples;
    out.calibTokens = calibration.tokens;
  }

  torch::NoGradGuard guard;
  lowrank::DecomposeOptions decompose;
  decompose.plainSpectrum = false;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (cancel) cancel->check();
    const auto& impl = *entries[i].slot->impl();
    const at::Tensor w = impl.denseWeight().detach().to(at::kFloat).t();  // [M, N], in x out
    api::OpSpectra op;
    op.op = entries[i].info;
    op.plain = toFloatVector(at::linalg_svdvals(w.to(at::kDouble)));
    if (weighted) {
      const lowrank::OpStats* stats = &calibration.ops[i];
      try {
        op.fisher = toFloatVector(
            lowrank::decomposeWeight(w, impl.bias(), lowrank::Method::Fwsvd, stats, decompose).s);
        op.activation = toFloatVector(
            lowrank::decomposeWeight(w, impl.bias(), lowrank::Method::Asvd, stats, decompose).s);
        op.whitened = toFloatVector(
            lowrank::decomposeWeight(w, impl.bias(), lowrank::Method::Whiten, stats, decompose).s);
      } catch (const Error& e) {
        throw Error("op '" + op.op.name + "': " + e.what());
      }
    }
    out.ops.push_back(std::move(op));
  }
  return out;
}

}  // namespace ranklab::teach
