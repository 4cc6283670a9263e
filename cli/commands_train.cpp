// ranklab-cli pretrain / finetune: training RankLab's own models (issue 3). Both write a Hugging Face
// directory (config.json, model.safetensors, the tokenizer files) plus training.json: the command,
// the options, the loss series, the timings and the validation figures measured on the saved weights
// (after rounding to the stored precision), so the numbers in README can be checked against the files.
#include "cli/commands_train.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command_table.h"
#include "cli/reports.h"
#include "cli/terminal.h"
#include "cli/validators.h"
#include "common/atomic_file.h"
#include "common/device.h"
#include "common/error.h"
#include "data/corpus.h"
#include "eval/classification.h"
#include "eval/perplexity.h"
#include "lowrank/calibration.h"
#include "lowrank/task_gradients.h"
#include "models/loader.h"
#include "tokenize/tokenizer.h"

namespace ranklab::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void applyThreads(const TrainFlags& f) {
  if (f.threads > 0) at::set_num_threads(f.threads);
}

// --out, --valid, --save-dtype, --doc-sep, --json, --device and --threads, after the command's own.
void addTrainFlags(CLI::App* sub, TrainFlags& f) {
  sub->add_option("--out", f.out, "Output directory (Hugging Face layout)")->required();
  sub->add_option("--valid", f.valid, "Validation file: figures in training.json are measured on it");
  sub->add_option("--save-dtype", f.saveDtype, "Stored weight precision: fp16 | bf16 | fp32")
      ->capture_default_str();
  sub->add_option("--doc-sep", f.docSep, "Document separator in text files")->capture_default_str();
  sub->add_flag("--json", f.asJson, "Print one JSON object on stdout");
  sub->add_option("--device", f.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  sub->add_option("--threads", f.threads, "CPU threads for LibTorch (default: LibTorch's choice)");
}

c10::ScalarType storageType(const std::string& name) {
  if (name == "fp16") return at::kHalf;
  if (name == "bf16") return at::kBFloat16;
  if (name == "fp32") return at::kFloat;
  throw Error("--save-dtype must be fp16, bf16 or fp32, got '" + name + "'");
}

void requireFile(const std::string& file, const char* what) {
  if (!fs::is_regular_file(file)) throw Error(file + ": no such file (" + what + ")");
}

std::string formatDuration(double seconds) {
  const auto s = static_cast<long long>(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  return buf;
}

// Training progress on stderr: step, last logged loss, throughput and ETA, at most twice a second.
class TrainProgress : public ProgressSink {
 public:
  TrainProgress(bool enabled, int64_t tokensPerStep) : m_enabled(enabled), m_tokensPerStep(tokensPerStep) {}
  void setLoss(double loss) { m_loss = loss; }
  void progress(const std::string& phase, long long done, long long total) override {
    if (!m_enabled) return;
    const auto now = std::chrono::steady_clock::now();
    if (m_firstDone < 0) {
      m_firstDone = done - 1;  // the first report closes one step
      m_start = now;
      m_last = now - std::chrono::seconds(1);
    }
    if (done != total && now - m_last < std::chrono::milliseconds(500)) return;
    m_last = now;
    const double elapsed = std::chrono::duration<double>(now - m_start).count();
    const double stepsDone = static_cast<double>(done - m_firstDone);
    const double perStep = stepsDone > 0 ? elapsed / stepsDone : 0.0;
    char loss[32] = "-";
    if (std::isfinite(m_loss)) std::snprintf(loss, sizeof loss, "%.4f", m_loss);
    std::fprintf(stderr, "\r%-9s %lld/%lld  loss %s  %.0f tok/s  ETA %s   ", phase.c_str(), done, total, loss,
                 perStep > 0 ? static_cast<double>(m_tokensPerStep) / perStep : 0.0,
                 formatDuration(perStep * static_cast<double>(total - done)).c_str());
    if (done == total) std::fprintf(stderr, "\n");
  }

 private:
  bool m_enabled;
  int64_t m_tokensPerStep;
  double m_loss = std::numeric_limits<double>::quiet_NaN();
  long long m_firstDone = -1;
  std::chrono::steady_clock::time_point m_start, m_last;
};

json seriesJson(const std::vector<api::SeriesPoint>& series) {
  std::map<std::string, json> byName;
  for (const auto& p : series) byName[p.name].push_back({p.step, p.value});
  json out = json::object();
  for (auto& [name, points] : byName) out[name] = std::move(points);
  return out;
}

std::string readAll(const std::vector<std::string>& files, const std::string& separator) {
  std::string text;
  for (const auto& f : files) {
    if (!text.empty()) text += "\n" + separator + "\n";
    text += data::readTextFile(f);
  }
  return text;
}

// Reloads what was written, on the training device: the figures are those of the stored weights.
models::LoadedModel reload(const std::string& dir, const std::string& device) {
  models::LoadOptions lo;
  lo.device = device;
  return models::loadModel(dir, lo);
}

double majorityShare(const std::vector<data::LabelledExample>& examples) {
  std::map<int64_t, int64_t> counts;
  for (const auto& ex : examples) ++counts[ex.label];
  int64_t best = 0;
  for (const auto& [label, n] : counts) best = std::max(best, n);
  return examples.empty() ? 0.0 : static_cast<double>(best) / static_cast<double>(examples.size());
}

// Runs a training loop (`train(cancel)` returns the step it resumed from) with Ctrl-C cancelling it.
// Returns false when it was cancelled, after saying how to resume from the checkpoint it left.
template <typename Train>
bool runResumable(const fs::path& checkpointDir, bool quiet, Train&& train) {
  CancelToken cancel;
  int64_t resumedFrom = 0;
  try {
    CancelOnInterrupt interrupts(cancel);
    resumedFrom = train(cancel);
  } catch (const Cancelled&) {
    std::cerr << "\nranklab-cli: cancelled; the checkpoint in " << checkpointDir.string()
              << " resumes the run when the same command is given again\n";
    return false;
  }
  if (resumedFrom > 0 && !quiet) std::cerr << "(resumed from the checkpoint at step " << resumedFrom << ")\n";
  return true;
}

// Writes <out>/training.json; with --json prints it (without the series) and returns true, else
// prints the "wrote" line of the human-readable report and returns false.
bool publishReport(json report, const TrainFlags& f) {
  writeFileAtomically(fs::path(f.out) / "training.json", report.dump(2) + "\n");
  if (f.asJson) {
    report.erase("series");
    printJson(report);
    return true;
  }
  std::cout << "wrote        " << f.out << " (config.json, model.safetensors as " << f.saveDtype
            << ", tokenizer, training.json)\n";
  return false;
}

}  // namespace

// --- pretrain ------------------------------------------------------------------------------

CLI::App* addPretrain(CLI::App& app, PretrainOptions& o) {
  auto& po = o.train;
  po.sequenceLength = 0;
  po.checkpointEvery = 200;
  auto* pre = app.add_subcommand("pretrain", commandDescription("pretrain"));
  pre->add_option("TEXT", o.trainFiles, "Training text files (documents separated by --doc-sep)")->required();
  pre->add_option("--tokenizer", o.tokenizer, "Tokenizer directory (e.g. from bpe-train); copied into --out")
      ->required();
  pre->add_flag("--mlm", o.mlm, "Masked-LM pretraining of a BERT-architecture encoder");
  pre->add_option("--layers", o.layers, "Transformer blocks")->capture_default_str()->check(kPositive);
  pre->add_option("--hidden", o.hidden, "Hidden size")->capture_default_str()->check(kPositive);
  pre->add_option("--heads", o.heads, "Attention heads")->capture_default_str()->check(kPositive);
  pre->add_option("--ff", o.ff, "MLP width")->capture_default_str()->check(kPositive);
  pre->add_option("--ctx", o.ctx, "Context (position embeddings)")->capture_default_str()->check(kPositive);
  pre->add_option("--seq-len", po.sequenceLength, "Tokens per training example (default: --ctx)");
  pre->add_option("--steps", po.steps, "Optimiser steps")->capture_default_str()->check(kPositive);
  pre->add_option("--batch", po.batchSize, "Examples per step")->capture_default_str()->check(kPositive);
  pre->add_option("--lr", po.learningRate, "Peak learning rate")->capture_default_str();
  pre->add_option("--min-lr-fraction", po.minLearningRateFraction,
                  "Cosine decay floor, as a fraction of --lr")
      ->capture_default_str();
  pre->add_option("--warmup", po.warmupSteps, "Warm-up steps (default: 5% of --steps)");
  pre->add_option("--weight-decay", po.weightDecay, "AdamW weight decay on matrices")->capture_default_str();
  pre->add_option("--clip", po.clipNorm, "Gradient-norm clipping (0: off)")->capture_default_str();
  pre->add_option("--precision", po.precision, "fp32 | bf16 (autocast)")->capture_default_str();
  pre->add_option("--seed", po.seed, "Seed of the initial weights, the windows and the masks")
      ->capture_default_str();
  pre->add_option("--mask-prob", po.maskProbability, "Masked LM: fraction of positions predicted")
      ->capture_default_str();
  pre->add_option("--log-every", po.logEvery, "Loss series resolution in steps")->capture_default_str();
  pre->add_option("--eval-every", po.evalEvery, "Validation loss every N steps (0: at the end)")
      ->capture_default_str();
  pre->add_option("--eval-windows", po.evalWindows, "Validation windows for the loss")->capture_default_str();
  pre->add_option("--checkpoint-every", po.checkpointEvery, "Checkpoint (in --out/checkpoint) every N steps")
      ->capture_default_str();
  addTrainFlags(pre, o.flags);
  return pre;
}

int runPretrain(const PretrainOptions& c, const std::string& commandLine) {
  applyThreads(c.flags);
  for (const auto& f : c.trainFiles) requireFile(f, "training text");
  if (!c.flags.valid.empty()) requireFile(c.flags.valid, "validation text");
  const auto dtype = storageType(c.flags.saveDtype);
  train::PretrainOptions o = c.train;
  o.objective = c.mlm ? train::Objective::MaskedLm : train::Objective::CausalLm;
  std::shared_ptr<tokenize::Tokenizer> tok = tokenize::loadTokenizer(c.tokenizer);
  if (o.sequenceLength <= 0) o.sequenceLength = c.ctx;

  io::ModelConfig cfg;
  cfg.vocabSize = tok->vocabSize();
  cfg.hiddenSize = c.hidden;
  cfg.numLayers = c.layers;
  cfg.numHeads = c.heads;
  cfg.numKvHeads = c.heads;
  cfg.intermediateSize = c.ff;
  cfg.maxPositions = c.ctx;
  cfg.qkvBias = cfg.oBias = cfg.mlpBias = true;
  cfg.tieWordEmbeddings = true;
  cfg.bosTokenId = tok->bosId();
  cfg.eosTokenId = tok->eosId();
  cfg.padTokenId = tok->padId();
  if (c.mlm) {
    cfg.arch = io::Architecture::Bert;
    cfg.modelType = "bert";
    cfg.hiddenAct = "gelu";
    cfg.normEps = 1e-12;
    o.maskId = tok->maskId();
    o.clsId = tok->clsId() >= 0 ? tok->clsId() : tok->bosId();
    if (o.maskId < 0)
      throw Error(c.tokenizer +
                  ": the tokenizer has no mask token (train one with bpe-train --mask-token '<mask>')");
  } else {
    cfg.arch = io::Architecture::Gpt2;
    cfg.modelType = "gpt2";
    cfg.hiddenAct = "gelu_new";
    cfg.normEps = 1e-5;
  }
  if (c.hidden % c.heads != 0)
    throw Error("--hidden " + std::to_string(c.hidden) + " is not a multiple of --heads " +
                std::to_string(c.heads));

  auto streamOf = [&](const std::string& text, const std::string& files) {
    try {
      return train::tokenStream(*tok, text, c.flags.docSep);
    } catch (const Error& e) {
      throw Error(files + ": " + e.what());
    }
  };
  std::string trainNames;
  for (const auto& f : c.trainFiles) trainNames += (trainNames.empty() ? "" : ", ") + f;
  const std::string trainText = readAll(c.trainFiles, c.flags.docSep);
  const auto trainTokens = streamOf(trainText, trainNames);
  const int64_t need = o.sequenceLength + (c.mlm ? 0 : 1);
  if (static_cast<int64_t>(trainTokens.size()) < need)
    throw Error(trainNames + ": " + std::to_string(trainTokens.size()) +
                " tokens, fewer than one training example of " + std::to_string(need));
  std::string validText;
  std::vector<int64_t> validTokens;
  if (!c.flags.valid.empty()) {
    validText = data::readTextFile(c.flags.valid);
    validTokens = streamOf(validText, c.flags.valid);
  }

  torch::manual_seed(o.seed);
  auto model = models::createModel(cfg);
  model->to(parseDevice(c.flags.device));
  o.checkpointDir = fs::path(c.flags.out) / "checkpoint";
  o.keepFinishedCheckpoint = true;  // removed below, once the model is saved
  if (!c.flags.asJson) {
    std::cerr << "pretraining " << (c.mlm ? "a BERT encoder (masked LM)" : "a GPT-2 decoder (causal LM)")
              << ": " << withThousands(model->totalParams()) << " parameters, "
              << withThousands(static_cast<int64_t>(trainTokens.size())) << " training tokens, " << o.steps
              << " steps of " << o.batchSize << " x " << o.sequenceLength << " tokens on "
              << deviceName(model->device()) << " (" << at::get_num_threads() << " threads)\n";
  }
  TrainProgress progress(!c.flags.asJson, o.batchSize * o.sequenceLength);
  train::PretrainResult r;
  const bool finished = runResumable(o.checkpointDir, c.flags.asJson, [&](const CancelToken& cancel) {
    r = train::pretrain(*model, trainTokens, validTokens, o, &progress, &cancel,
                        [&](const api::SeriesPoint& p) {
                          if (p.name == "train_loss") progress.setLoss(p.value);
                        });
    return r.resumedFrom;
  });
  if (!finished) return kInterrupted;

  models::LoadedModel lm;
  lm.model = model;
  lm.tokenizer = tok;
  lm.tokenizerSource = c.tokenizer;
  models::saveHfDirectory(lm, c.flags.out, dtype);
  train::removeCheckpoint(o.checkpointDir);
  auto saved = reload(c.flags.out, c.flags.device);

  json report = {{"command", commandLine},
                 {"objective", c.mlm ? "masked-lm" : "causal-lm"},
                 {"architecture", c.mlm ? "bert" : "gpt2"},
                 {"parameters", saved.model->totalParams()},
                 {"compressible_parameters", saved.summary().compressibleParams},
                 {"train_files", c.trainFiles},
                 {"valid_file", c.flags.valid},
                 {"train_tokens", trainTokens.size()},
                 {"valid_tokens", validTokens.size()},
                 {"steps", o.steps},
                 {"batch", o.batchSize},
                 {"seq_len", o.sequenceLength},
                 {"eval_windows", o.evalWindows},
                 {"mask_prob", o.maskProbability},
                 {"lr", o.learningRate},
                 {"seed", o.seed},
                 {"precision", o.precision},
                 {"saved_dtype", c.flags.saveDtype},
                 {"resumed_from", r.resumedFrom},
                 {"seconds", r.seconds},
                 {"tokens_per_second", r.tokensPerSecond},
                 {"threads", at::get_num_threads()},
                 {"device", deviceName(model->device())},
                 {"final_train_loss", r.finalTrainLoss},
                 {"valid_loss_training_precision", numberOrNull(r.validLoss)},
                 {"series", seriesJson(r.series)}};
  api::PerplexityResult ppl, bigram;
  double mlmLoss = std::numeric_limits<double>::quiet_NaN();
  if (!c.flags.valid.empty()) {
    if (c.mlm) {
      mlmLoss = train::validationLoss(*saved.model, validTokens, o);
      report["valid"] = {
          {"masked_lm_loss", numberOrNull(mlmLoss)},
          {"masked_lm_perplexity", numberOrNull(std::exp(mlmLoss))},
          {"windows",
           std::min<int64_t>(o.evalWindows, static_cast<int64_t>(validTokens.size()) / o.sequenceLength)}};
      eval::PerplexityOptions po;
      po.documentSeparator = c.flags.docSep;
      report["unigram_valid"] =
          perplexityJson(eval::unigramPerplexity(*saved.tokenizer, trainText, validText, po));
    } else {
      eval::PerplexityOptions po;
      po.documentSeparator = c.flags.docSep;
      po.context = c.ctx;
      try {
        ppl = eval::perplexity(*saved.model, *saved.tokenizer, validText, po);
        bigram = eval::bigramPerplexity(*saved.tokenizer, trainText, validText, po);
      } catch (const Error& e) {
        throw Error(c.flags.valid + ": " + e.what());
      }
      report["valid"] = perplexityJson(ppl);
      report["bigram_valid"] = perplexityJson(bigram);
    }
  }
  if (publishReport(report, c.flags)) return 0;
  std::cout << "parameters   " << withThousands(saved.model->totalParams()) << " ("
            << withThousands(saved.summary().compressibleParams) << " in compressible linear ops)\n"
            << std::fixed << std::setprecision(1) << "training     " << formatDuration(r.seconds) << ", "
            << r.tokensPerSecond << " tokens/s, final train loss " << std::setprecision(4) << r.finalTrainLoss
            << "\n";
  if (!c.flags.valid.empty()) {
    if (c.mlm)
      std::cout << "validation   masked-LM loss " << mlmLoss << " (perplexity " << std::setprecision(2)
                << std::exp(mlmLoss) << "); unigram baseline "
                << report["unigram_valid"]["mean_nll"].get<double>() << " nats\n";
    else
      std::cout << "validation   perplexity " << std::setprecision(2) << ppl.perplexity << " over "
                << withThousands(ppl.tokens) << " tokens; bigram baseline " << bigram.perplexity << "\n";
  }
  return 0;
}

// --- finetune ------------------------------------------------------------------------------

CLI::App* addFinetune(CLI::App& app, FinetuneOptions& o) {
  auto& fo = o.train;
  fo.learningRate = 1e-4;
  fo.batchSize = 16;
  fo.weightDecay = 0.01;
  fo.steps = 500;
  fo.checkpointEvery = 100;
  auto* fin = app.add_subcommand("finetune", commandDescription("finetune"));
  fin->add_option("MODEL", o.model,
                  "Model directory or file (a BERT encoder gets a fresh classifier when it lacks one)")
      ->required();
  fin->add_option("--labelled", o.labelled, "Labelled TSV/JSONL training set");
  fin->add_option("--labels", o.labels, "Label names, one per line (default: labels.txt next to the data)");
  fin->add_option("--text", o.text, "Text file for causal-LM fine-tuning");
  fin->add_option("--max-length", o.maxLength, "Classification: tokens per example")->capture_default_str();
  fin->add_option("--seq-len", o.seqLen, "Causal LM: tokens per training window")->capture_default_str();
  fin->add_option("--steps", fo.steps, "Optimiser steps")->capture_default_str()->check(kPositive);
  fin->add_option("--batch", fo.batchSize, "Examples per step")->capture_default_str()->check(kPositive);
  fin->add_option("--lr", fo.learningRate, "Peak learning rate")->capture_default_str();
  fin->add_option("--warmup", fo.warmupSteps, "Warm-up steps (default: 10% of --steps)");
  fin->add_option("--weight-decay", fo.weightDecay, "AdamW weight decay")->capture_default_str();
  fin->add_option("--clip", fo.clipNorm, "Gradient-norm clipping (0: off)")->capture_default_str();
  fin->add_option("--seed", fo.seed, "Seed of the head, the example choice and the batch order")
      ->capture_default_str();
  fin->add_option("--checkpoint-every", fo.checkpointEvery, "Checkpoint (in --out/checkpoint) every N steps")
      ->capture_default_str();
  fin->add_option("--workers", fo.workers,
                  "Threads that each run a share of a step's batch on the CPU (0: one per hardware thread; "
                  "the result depends on the number, not on timing)");
  addTrainFlags(fin, o.flags);
  return fin;
}

int runFinetune(const FinetuneOptions& c, const std::string& commandLine) {
  applyThreads(c.flags);
  if (c.labelled.empty() == c.text.empty())
    throw Error("finetune: give exactly one of --labelled FILE or --text FILE");
  const std::string trainFile = c.labelled.empty() ? c.text : c.labelled;
  requireFile(trainFile, "training data");
  if (!c.flags.valid.empty()) requireFile(c.flags.valid, "validation data");
  const auto dtype = storageType(c.flags.saveDtype);
  auto loaded = reload(c.model, c.flags.device);
  if (!loaded.tokenizer) throw Error(c.model + ": no tokenizer found next to the model");
  const auto& tok = *loaded.tokenizer;
  train::FinetuneOptions o = c.train;
  o.padId = std::max<int64_t>(0, tok.padId());
  o.checkpointDir = fs::path(c.flags.out) / "checkpoint";
  o.keepFinishedCheckpoint = true;
  json report = {{"command", commandLine},      {"base_model", c.model}, {"train_file", trainFile},
                 {"valid_file", c.flags.valid}, {"steps", o.steps},      {"batch", o.batchSize},
                 {"lr", o.learningRate},        {"seed", o.seed},        {"saved_dtype", c.flags.saveDtype}};
  std::vector<lowrank::CalibrationSample> samples;
  std::vector<data::LabelledExample> validExamples;
  std::string validText;
  api::PerplexityResult before;
  eval::PerplexityOptions po;
  po.documentSeparator = c.flags.docSep;
  if (!c.labelled.empty()) {
    if (loaded.model->isCausal())
      throw Error(c.model + ": sequence classification needs an encoder (BERT-family)");
    const auto names = data::labelNames(c.labels, c.labelled);
    const auto examples = data::readLabelled(c.labelled, names);
    if (!c.flags.valid.empty()) validExamples = data::readLabelled(c.flags.valid, names);
    if (!loaded.model->hasClassifier() ||
        loaded.model->config().numLabels != static_cast<int64_t>(names.size()))
      loaded.model = train::withClassifier(*loaded.model, names, o.seed);
    samples = lowrank::labelledSamples(tok, examples, static_cast<int64_t>(examples.size()), c.maxLength,
                                       loaded.model->config().vocabSize, o.seed);
    if (samples.empty()) throw Error(c.labelled + ": no examples to train on");
    report["task"] = "sequence-classification";
    report["labels"] = names;
    report["train_examples"] = examples.size();
  } else {
    if (!loaded.model->isCausal()) throw Error(c.model + ": causal-LM fine-tuning needs a decoder");
    const std::string text = data::readTextFile(c.text);
    try {
      samples = lowrank::textSamples(tok, text, c.flags.docSep, std::numeric_limits<int32_t>::max(), c.seqLen,
                                     o.seed);
    } catch (const Error& e) {
      throw Error(c.text + ": " + e.what());
    }
    if (!c.flags.valid.empty()) {
      validText = data::readTextFile(c.flags.valid);
      po.context = c.seqLen;
      before = eval::perplexity(*loaded.model, tok, validText, po);
      report["valid_before"] = perplexityJson(before);
    }
    report["task"] = "causal-lm";
    report["train_windows"] = samples.size();
  }
  if (!c.flags.asJson)
    std::cerr << "fine-tuning " << c.model << " on " << samples.size()
              << (c.labelled.empty() ? " windows" : " examples") << ", " << o.steps << " steps of "
              << o.batchSize << " on " << deviceName(loaded.model->device()) << "\n";
  TrainProgress progress(!c.flags.asJson, o.batchSize * (c.labelled.empty() ? c.seqLen : c.maxLength));
  train::FinetuneResult r;
  const auto start = std::chrono::steady_clock::now();
  const bool finished = runResumable(o.checkpointDir, c.flags.asJson, [&](const CancelToken& cancel) {
    r = train::finetune(*loaded.model, samples, o, &progress, &cancel, [&](const api::SeriesPoint& p) {
      if (p.name == "finetune_loss") progress.setLoss(p.value);
    });
    return r.resumedFrom;
  });
  if (!finished) return kInterrupted;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  models::saveHfDirectory(loaded, c.flags.out, dtype);
  train::removeCheckpoint(o.checkpointDir);
  auto saved = reload(c.flags.out, c.flags.device);
  report["parameters"] = saved.model->totalParams();
  report["compressible_parameters"] = saved.summary().compressibleParams;
  report["seconds"] = seconds;
  report["resumed_from"] = r.resumedFrom;
  report["final_train_loss"] = r.finalLoss;
  report["series"] = seriesJson(r.series);
  report["threads"] = at::get_num_threads();
  report["workers"] = lowrank::stepWorkers(
      *loaded.model, std::min(samples.size(), static_cast<size_t>(o.batchSize)), o.workers);
  report["device"] = deviceName(saved.model->device());
  api::AccuracyResult acc;
  api::PerplexityResult after;
  if (!c.flags.valid.empty()) {
    if (!c.labelled.empty()) {
      if (validExamples.empty()) throw Error(c.flags.valid + ": no examples");
      eval::ClassificationOptions co;
      co.maxLength = c.maxLength;
      acc = eval::accuracy(*saved.model, *saved.tokenizer, validExamples, co);
      report["valid"] = {{"examples", acc.examples},
                         {"correct", acc.correct},
                         {"accuracy", acc.accuracy},
                         {"majority_baseline", majorityShare(validExamples)},
                         {"max_length", c.maxLength}};
    } else {
      after = eval::perplexity(*saved.model, *saved.tokenizer, validText, po);
      report["valid"] = perplexityJson(after);
    }
  }
  if (publishReport(report, c.flags)) return 0;
  std::cout << std::fixed << "training     " << formatDuration(seconds) << ", final loss "
            << std::setprecision(4) << r.finalLoss << "\n";
  if (!c.flags.valid.empty()) {
    if (!c.labelled.empty())
      std::cout << std::setprecision(2) << "validation   accuracy " << 100.0 * acc.accuracy << "% ("
                << acc.correct << "/" << acc.examples << "); majority class "
                << 100.0 * majorityShare(validExamples) << "%\n";
    else
      std::cout << std::setprecision(2) << "validation   perplexity " << before.perplexity << " -> "
                << after.perplexity << "\n";
  }
  return 0;
}

}  // namespace ranklab::cli
