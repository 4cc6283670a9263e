// Hand-built runs for the view tests: the api value types a real job stores (tests/ui/test_gui_job
// runs real jobs end to end; these exercise the views' own logic on known numbers).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "api/run.h"

namespace ranklab::test {

// The protocol of the sample runs' perplexity: test.txt, 6 documents, `counted` tokens.
inline api::EvalProtocol sampleProtocol(int64_t counted = 1000, int64_t maxDocuments = 6) {
  api::EvalProtocol p;
  p.known = true;
  p.metric = "perplexity";
  p.file = "test.txt";
  p.fileHash = "9f2c";
  p.separator = "<|endoftext|>";
  p.maxDocuments = maxDocuments;
  p.documents = maxDocuments;
  p.counted = counted;
  return p;
}

// The protocol of a multiple-choice metric (acc_norm by default): 400 items of next-words.jsonl.
inline api::EvalProtocol sampleChoiceProtocol(const std::string& metric = "acc_norm") {
  api::EvalProtocol p;
  p.known = true;
  p.metric = metric;
  p.file = "next-words.jsonl";
  p.fileHash = "77aa";
  p.scoring = "ranklab";
  p.counted = 400;
  return p;
}

// A 2-layer decoder with ops q k v o up down (256 x 256 attention, 256 x 1024 MLP), spectra
// s_i = 10 exp(-i / 40) (weighted spectrum = 2 s_i), ranks rank(layer, op) = 16 + 8 * layer + op.
// Mask frames at steps 0, 10, ..., 10 * (frames - 1) shrinking every rank by one per frame;
// series "task_loss" and "budget" at the same steps.
inline api::RunData sampleRun(int64_t id, const std::string& selector = "ars", double keep = 0.5,
                              double metricAfter = 90.0, int frames = 5) {
  api::RunData d;
  d.run.id = id;
  d.run.uuid = "uuid-" + std::to_string(id);
  d.run.status = "succeeded";
  d.run.name = "svd+" + selector + " p=" + std::to_string(keep).substr(0, 4);
  d.run.createdAt = "2026-11-28T07:0" + std::to_string(id % 10) + ":00Z";
  d.run.modelPath = "resources/models/gpt-mini";
  d.run.modelHash = "4a1d";
  d.run.architecture = "gpt2";
  d.run.decomposition = "svd";
  d.run.selector = selector;
  d.run.keepTarget = keep;
  d.run.keptFraction = keep - 0.001;
  d.run.metric = "perplexity";
  d.run.metricBefore = 82.7;
  d.run.metricAfter = metricAfter;
  d.run.device = "cpu";
  d.run.protocol = sampleProtocol();
  d.run.configJson = R"({"selector":")" + selector + R"(","keep":)" + std::to_string(keep) + "}";
  const char* kinds[] = {"q", "k", "v", "o", "up", "down"};
  int64_t index = 0;
  for (int layer = 0; layer < 2; ++layer) {
    for (int k = 0; k < 6; ++k) {
      api::OpResult op;
      op.index = index++;
      op.layer = layer;
      op.kind = kinds[k];
      op.name = "layers." + std::to_string(layer) + (k < 4 ? ".attn." : ".mlp.") + kinds[k];
      op.inFeatures = k == 5 ? 1024 : 256;
      op.outFeatures = k == 4 ? 1024 : 256;
      op.fullRank = 256;
      op.rank = 16 + 8 * layer + k;
      op.factorized = true;
      double total = 0.0, kept = 0.0;
      for (int i = 0; i < 256; ++i) {
        const float s = static_cast<float>(10.0 * std::exp(-i / 40.0));
        op.plainSpectrum.push_back(s);
        op.spectrum.push_back(2.0f * s);
        total += double(s) * s;
        if (i < op.rank) kept += double(s) * s;
      }
      op.energyKept = kept / total;
      d.ops.push_back(op);
    }
  }
  for (int f = 0; f < frames; ++f) {
    api::MaskFrame frame;
    frame.step = 10 * f;
    for (const auto& op : d.ops) {
      const int32_t r = static_cast<int32_t>(op.rank + (frames - 1 - f));
      frame.ranks.push_back(r);
      std::vector<uint8_t> bits(static_cast<size_t>((op.fullRank + 7) / 8), 0);
      for (int i = 0; i < r; ++i) bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
      frame.bits.push_back(bits);
    }
    d.frames.push_back(frame);
    d.series.push_back({frame.step, "task_loss", 3.0 - 0.1 * f});
    d.series.push_back({frame.step, "budget", 1.0 - 0.1 * f});
  }
  d.evals.push_back({"before", "test.txt", "perplexity", 1.0, 82.7, 1000, sampleProtocol()});
  d.evals.push_back(
      {"after", "test.txt", "perplexity", d.run.keptFraction, metricAfter, 1000, sampleProtocol()});
  return d;
}

}  // namespace ranklab::test
