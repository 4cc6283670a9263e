// ranklab-cli's model commands: inspect, tokenize, generate from, evaluate and convert a model, and
// train a byte-level BPE tokenizer.
#include "cli/commands_model.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command_table.h"
#include "cli/reports.h"
#include "cli/terminal.h"
#include "cli/validators.h"
#include "common/device.h"
#include "common/error.h"
#include "common/progress.h"
#include "data/choices.h"
#include "data/corpus.h"
#include "eval/classification.h"
#include "eval/multiple_choice.h"
#include "eval/perplexity.h"
#include "models/generate.h"
#include "models/loader.h"
#include "models/synth.h"
#include "tokenize/tokenizer.h"

namespace ranklab::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// --json, --device, --threads and --tokenizer, after the command's own flags.
void addModelFlags(CLI::App* sub, ModelFlags& f) {
  sub->add_flag("--json", f.asJson, "Print one JSON object on stdout");
  sub->add_option("--device", f.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  sub->add_option("--threads", f.threads, "CPU threads for LibTorch (default: LibTorch's choice)");
  sub->add_option("--tokenizer", f.tokenizer, "Tokenizer file or directory (overrides the model's own)");
}

void applyThreads(const ModelFlags& f) {
  if (f.threads > 0) at::set_num_threads(f.threads);
}

models::LoadedModel load(const std::string& path, const ModelFlags& f) {
  models::LoadOptions options;
  options.device = f.device;
  options.tokenizerPath = f.tokenizer;
  return models::loadModel(path, options);
}

const tokenize::Tokenizer& requireTokenizer(const models::LoadedModel& m) {
  if (!m.tokenizer)
    throw Error(m.source.string() + ": no tokenizer found next to the model; pass --tokenizer PATH");
  return *m.tokenizer;
}

json summaryJson(const api::ModelSummary& s) {
  json ops = json::array();
  for (const auto& op : s.ops)
    ops.push_back({{"name", op.name},
                   {"layer", op.layer},
                   {"kind", op.kind},
                   {"in", op.inFeatures},
                   {"out", op.outFeatures},
                   {"params", op.params()},
                   {"bias", op.hasBias}});
  return {{"architecture", s.architecture},
          {"source", s.source},
          {"format", s.format},
          {"total_params", s.totalParams},
          {"compressible_params", s.compressibleParams},
          {"layers", s.layers},
          {"hidden", s.hidden},
          {"heads", s.heads},
          {"kv_heads", s.kvHeads},
          {"vocab", s.vocab},
          {"context", s.context},
          {"num_labels", s.numLabels},
          {"ops", ops}};
}

void printSummary(const api::ModelSummary& s, std::ostream& out) {
  out << "model        " << s.source << " (" << s.format << ")\n"
      << "architecture " << s.architecture << ": " << s.layers << " layers, hidden " << s.hidden << ", "
      << s.heads << " heads (" << s.kvHeads << " kv), vocab " << s.vocab << ", context " << s.context << "\n"
      << "parameters   " << withThousands(s.totalParams) << " total, " << withThousands(s.compressibleParams)
      << " in " << s.ops.size() << " compressible linear ops (" << std::fixed << std::setprecision(1)
      << (s.totalParams
              ? 100.0 * static_cast<double>(s.compressibleParams) / static_cast<double>(s.totalParams)
              : 0.0)
      << "%)\n";
  if (s.numLabels > 0) out << "classifier   " << s.numLabels << " labels\n";
  out << "\n"
      << std::left << std::setw(24) << "op" << std::right << std::setw(8) << "in (M)" << std::setw(9)
      << "out (N)" << std::setw(12) << "params"
      << "  bias\n";
  for (const auto& op : s.ops)
    out << std::left << std::setw(24) << op.name << std::right << std::setw(8) << op.inFeatures
        << std::setw(9) << op.outFeatures << std::setw(12) << withThousands(op.params()) << "  "
        << (op.hasBias ? "yes" : "no") << "\n";
}

}  // namespace

// --- info ----------------------------------------------------------------------------------

CLI::App* addInfo(CLI::App& app, InfoOptions& o) {
  auto* sub = app.add_subcommand("info", commandDescription("info"));
  sub->add_option("MODEL", o.model, "Hugging Face directory, .gguf file or llama2.c .bin")->required();
  addModelFlags(sub, o.flags);
  return sub;
}

int runInfo(const InfoOptions& o) {
  applyThreads(o.flags);
  // The config, the tensor headers and the tokenizer, checked against each other: a Hugging Face
  // directory answers without reading a weight, whatever its size.
  models::LoadOptions options;
  options.device = o.flags.device;
  options.tokenizerPath = o.flags.tokenizer;
  options.headersOnly = true;
  const auto m = models::loadModel(o.model, options);
  const auto s = m.summary();
  const std::string device = deviceName(parseDevice(o.flags.device));
  if (o.flags.asJson) {
    auto j = summaryJson(s);
    j["device"] = device;
    j["tokenizer"] = m.tokenizer ? m.tokenizer->kind() : "";
    j["peak_rss_mib"] = peakRssMiB();
    printJson(j);
  } else {
    printSummary(s, std::cout);
    std::cout << "\ntokenizer    " << (m.tokenizer ? m.tokenizer->kind() : std::string("none"))
              << "\ndevice       " << device << "\n";
  }
  return 0;
}

// --- tokenize ------------------------------------------------------------------------------

CLI::App* addTokenize(CLI::App& app, TokenizeOptions& o) {
  auto* sub = app.add_subcommand("tokenize", commandDescription("tokenize"));
  sub->add_option("--tokenizer", o.tokenizer,
                  "Directory (tokenizer.json, vocab.json+merges.txt, vocab.txt, tokenizer.model) or file "
                  "(.json, .model, .txt, llama2.c .bin)")
      ->required();
  sub->add_option("--text", o.text, "Text to encode")->required();
  sub->add_option("--vocab-size", o.vocabSize,
                  "Vocabulary size for llama2.c tokenizer.bin files (default: read to the end)");
  sub->add_flag("--json", o.asJson, "Print one JSON object on stdout");
  return sub;
}

int runTokenize(const TokenizeOptions& o) {
  if (o.tokenizer.empty()) throw Error("tokenize: --tokenizer PATH is required");
  auto tok = tokenize::loadTokenizer(o.tokenizer, o.vocabSize);
  const auto ids = tok->encode(o.text);
  if (o.asJson) {
    printJson({{"tokenizer", tok->kind()}, {"ids", ids}, {"count", ids.size()}});
  } else {
    for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
    std::cout << "\n";
  }
  return 0;
}

// --- generate ------------------------------------------------------------------------------

CLI::App* addGenerate(CLI::App& app, GenerateOptions& o) {
  auto* sub = app.add_subcommand("generate", commandDescription("generate"));
  sub->add_option("MODEL", o.model, "Model path")->required();
  sub->add_option("--steps", o.steps, "New tokens to generate")->capture_default_str()->check(kPositive);
  sub->add_option("--prompt", o.prompt, "Prompt text");
  sub->add_option("--temperature", o.temperature, "Sampling temperature; 0 = greedy")
      ->capture_default_str()
      ->check(kNonNegative);
  sub->add_option("--seed", o.seed, "Sampling seed")->capture_default_str();
  addModelFlags(sub, o.flags);
  return sub;
}

int runGenerate(const GenerateOptions& o) {
  applyThreads(o.flags);
  auto m = load(o.model, o.flags);
  const auto& tok = requireTokenizer(m);
  models::GenerateOptions g;
  g.steps = o.steps;
  g.temperature = o.temperature;
  g.seed = o.seed;
  const auto start = std::chrono::steady_clock::now();
  auto stream = [&](const std::string& piece) {
    if (!o.flags.asJson) std::cout << piece << std::flush;
    return true;
  };
  auto r = models::generate(*m.model, tok, o.prompt, g, stream);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double perSecond = seconds > 0 ? r.generatedIds.size() / seconds : 0.0;
  if (o.flags.asJson) {
    printJson({{"prompt", o.prompt},
               {"text", r.text},
               {"ids", r.generatedIds},
               {"tokens", r.generatedIds.size()},
               {"seconds", seconds},
               {"tokens_per_second", perSecond}});
  } else {
    std::cout << "\n";
    std::fprintf(stderr, "%zu tokens in %.2f s (%.1f tokens/s)\n", r.generatedIds.size(), seconds, perSecond);
  }
  return 0;
}

// --- eval ----------------------------------------------------------------------------------

namespace {

std::vector<std::string> formatChoices() {
  std::vector<std::string> formats = {"auto"};
  for (const auto& f : data::choiceFormats()) formats.push_back(f);
  return formats;
}

json choiceScoreJson(const eval::ChoiceScore& s) {
  auto number = [](double v) { return std::isfinite(v) ? json(v) : json(); };
  return {{"items", s.items},
          {"acc", s.acc},
          {"acc_stderr", number(s.accStderr)},
          {"acc_norm", s.accNorm},
          {"acc_norm_stderr", number(s.accNormStderr)},
          {"chance", s.chance}};
}

void printChoiceScore(const std::string& name, const eval::ChoiceScore& s) {
  auto pm = [](double v, double se) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(4) << v;
    if (std::isfinite(se)) out << " \u00b1 " << se;
    return out.str();
  };
  std::cout << std::left << std::setw(13) << name << std::right << std::setw(6) << s.items << "  "
            << std::setw(17) << pm(s.acc, s.accStderr) << "  " << std::setw(17)
            << pm(s.accNorm, s.accNormStderr) << "  " << std::fixed << std::setprecision(4) << s.chance
            << "\n";
}

int runChoices(const EvalOptions& o) {
  // The whole set is read and checked before the model loads.
  const auto set = data::readChoices(o.choices, o.format, o.labels, o.maxItems);
  applyThreads(o.flags);
  auto m = load(o.model, o.flags);
  const auto& tok = requireTokenizer(m);
  StderrProgress progress(!o.flags.asJson);
  const auto start = std::chrono::steady_clock::now();
  eval::ChoiceResult r;
  try {
    r = eval::multipleChoice(*m.model, tok, set.items, {}, &progress);
  } catch (const Error& e) {
    throw Error(o.choices + " " + e.what());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (o.flags.asJson) {
    json j = choiceScoreJson(r.all);
    j["model"] = o.model;
    j["choices"] = o.choices;
    j["format"] = set.format;
    j["truncated_requests"] = r.truncated;
    j["seconds"] = seconds;
    if (!r.tasks.empty()) {
      j["tasks"] = json::object();
      for (const auto& [task, score] : r.tasks) j["tasks"][task] = choiceScoreJson(score);
    }
    printJson(j);
    return 0;
  }
  std::cout << "format       " << set.format << "\n"
            << std::left << std::setw(13) << "task" << std::right << std::setw(6) << "items"
            << "  " << std::setw(17) << "acc \u00b1 stderr"
            << "  " << std::setw(17) << "acc_norm \u00b1 stderr"
            << "  chance\n";
  for (const auto& [task, score] : r.tasks) printChoiceScore(task, score);
  printChoiceScore(
      r.tasks.empty() ? (set.items.front().task.empty() ? "all" : set.items.front().task) : "all", r.all);
  if (r.truncated > 0)
    std::cout << r.truncated
              << " request(s) longer than the model's window had their context cut from the left\n";
  std::cout << "time         " << std::fixed << std::setprecision(1) << seconds << " s\n";
  return 0;
}

}  // namespace

CLI::App* addEval(CLI::App& app, EvalOptions& o) {
  auto* sub = app.add_subcommand("eval", commandDescription("eval"));
  sub->add_option("MODEL", o.model, "Model path")->required();
  sub->add_option("--text", o.text, "Text file for perplexity (documents separated by --doc-sep)");
  sub->add_option("--labelled", o.labelled,
                  "Labelled TSV (text<TAB>label) or JSONL file for classification accuracy");
  sub->add_option(
      "--choices", o.choices,
      "Multiple-choice set (JSONL) for zero-shot acc and acc_norm, scored as lm-evaluation-harness "
      "does: RankLab's items or HellaSwag, PIQA, ARC, OpenBookQA, WinoGrande, BoolQ, MathQA files");
  sub->add_option("--format", o.format, "Format of --choices (default: detected from the keys)")
      ->check(CLI::IsMember(formatChoices()));
  sub->add_option("--labels", o.labels, "PIQA's labels file (default: <name>-labels.lst next to --choices)");
  sub->add_option("--max-items", o.maxItems, "Score the first N items of --choices (0: all)")
      ->check(kNonNegative);
  sub->add_option("--doc-sep", o.docSep, "Document separator")->capture_default_str();
  sub->add_option("--ctx", o.ctx, "Window length in tokens (default: the model context)")
      ->check(kNonNegative);
  sub->add_flag(
      "--truncate", o.truncate,
      "Cut each document to the context (--ctx, BOS included) instead of scoring all of it in windows");
  sub->add_option("--stride", o.stride,
                  "Sliding windows that start this many tokens apart, each scoring only the tokens the "
                  "previous one did not (Hugging Face's perplexity protocol; 0: windows that do not overlap)")
      ->check(kNonNegative);
  sub->add_option("--max-docs", o.maxDocs, "Evaluate at most this many documents (0: all)")
      ->check(kNonNegative);
  sub->add_option("--batch", o.batch, "Windows or examples per forward pass")
      ->capture_default_str()
      ->check(kPositive);
  addModelFlags(sub, o.flags);
  return sub;
}

int runEval(const EvalOptions& o) {
  if (int(!o.text.empty()) + int(!o.labelled.empty()) + int(!o.choices.empty()) != 1)
    throw Error("eval: give exactly one of --text FILE, --labelled FILE or --choices FILE");
  if (o.choices.empty() && (!o.format.empty() || !o.labels.empty() || o.maxItems > 0))
    throw Error("eval: --format, --labels and --max-items go with --choices FILE");
  // Check the data file before the (possibly slow) model load.
  const std::string dataFile = !o.text.empty() ? o.text : !o.labelled.empty() ? o.labelled : o.choices;
  if (!fs::is_regular_file(dataFile)) throw Error(dataFile + ": no such file");
  if (!o.choices.empty()) return runChoices(o);
  applyThreads(o.flags);
  auto m = load(o.model, o.flags);
  const auto& tok = requireTokenizer(m);
  StderrProgress progress(!o.flags.asJson);
  const auto start = std::chrono::steady_clock::now();
  if (!o.text.empty()) {
    eval::PerplexityOptions p;
    p.documentSeparator = o.docSep;
    p.context = o.ctx;
    p.truncate = o.truncate;
    p.stride = o.stride;
    p.maxDocuments = o.maxDocs;
    p.batchSize = o.batch;
    auto r = eval::perplexityOfFile(*m.model, tok, o.text, p, &progress);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (o.flags.asJson) {
      auto j = perplexityJson(r);
      j["model"] = o.model;
      j["text"] = o.text;
      j["seconds"] = seconds;
      j["phases"] = progress.phasesJson();
      j["peak_rss_mib"] = peakRssMiB();
      printJson(j);
    } else {
      std::cout << std::fixed << "documents    " << r.documents << "\ntokens       " << r.tokens
                << "\nmean NLL     " << std::setprecision(4) << r.meanNll << " nats/token\nperplexity   "
                << std::setprecision(3) << r.perplexity << "\nbits/byte    " << std::setprecision(4)
                << r.bitsPerByte << "\ntime         " << std::setprecision(1) << seconds << " s\n";
    }
  } else {
    eval::ClassificationOptions c;
    c.batchSize = o.batch;
    c.maxLength = o.ctx;
    auto r = eval::accuracyOfFile(*m.model, tok, o.labelled, c, &progress);
    if (o.flags.asJson) {
      printJson({{"model", o.model},
                 {"labelled", o.labelled},
                 {"examples", r.examples},
                 {"correct", r.correct},
                 {"accuracy", r.accuracy}});
    } else {
      std::cout << "examples     " << r.examples << "\ncorrect      " << r.correct << "\naccuracy     "
                << std::fixed << std::setprecision(4) << r.accuracy << "\n";
    }
  }
  return 0;
}

// --- synth ---------------------------------------------------------------------------------

CLI::App* addSynth(CLI::App& app, SynthOptions& o) {
  auto* sub = app.add_subcommand("synth", commandDescription("synth"));
  sub->add_option("--preset", o.preset, "Model shape: see --list");
  sub->add_option("--arch", o.arch, "gpt2 | llama: checked against the preset")
      ->check(CLI::IsMember({"gpt2", "llama"}));
  sub->add_option("--dtype", o.dtype, "Stored precision of the weights")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}))
      ->capture_default_str();
  sub->add_option("--seed", o.seed, "Seed of the weights")->capture_default_str();
  sub->add_option("--out", o.out, "Output directory (a Hugging Face directory)");
  sub->add_flag("--list", o.list, "List the presets and exit");
  sub->add_flag("--json", o.asJson, "Print one JSON object on stdout");
  return sub;
}

int runSynth(const SynthOptions& o) {
  if (o.list) {
    json presets = json::array();
    for (const auto& p : models::synthPresets()) {
      auto m = models::createModel(p.config, /*initialise=*/false);
      presets.push_back({{"name", p.name},
                         {"description", p.description},
                         {"architecture", io::architectureName(p.config.arch)},
                         {"params", m->totalParams()},
                         {"compressible_params", m->ops().compressibleParams()}});
      if (!o.asJson)
        std::cout << std::left << std::setw(13) << p.name << std::right << std::setw(15)
                  << withThousands(m->totalParams()) << " parameters  " << p.description << "\n";
    }
    if (o.asJson) printJson({{"presets", presets}});
    return 0;
  }
  if (o.preset.empty() || o.out.empty()) throw Error("synth: give --preset NAME and --out DIR (or --list)");
  const auto& preset = models::synthPreset(o.preset);
  const std::string arch = io::architectureName(preset.config.arch);
  if (!o.arch.empty() && o.arch != arch)
    throw Error("synth: preset '" + o.preset + "' is a " + arch + " model, not " + o.arch);
  const auto dtype = o.dtype == "fp32" ? at::kFloat : o.dtype == "bf16" ? at::kBFloat16 : at::kHalf;
  StderrProgress progress(!o.asJson);
  const auto start = std::chrono::steady_clock::now();
  models::writeSyntheticModel(preset.config, dtype, o.seed, o.out, &progress);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto bytes = fs::file_size(fs::path(o.out) / "model.safetensors");
  if (o.asJson) {
    printJson({{"preset", o.preset},
               {"architecture", arch},
               {"dtype", o.dtype},
               {"seed", o.seed},
               {"out", o.out},
               {"weights_bytes", bytes},
               {"seconds", seconds}});
  } else {
    std::cout << "wrote " << o.out << ": " << preset.description << ", " << o.dtype << ", "
              << withThousands(static_cast<int64_t>(bytes)) << " bytes of weights in " << std::fixed
              << std::setprecision(1) << seconds << " s (random weights, seed " << o.seed << ")\n";
  }
  return 0;
}

// --- convert -------------------------------------------------------------------------------

CLI::App* addConvert(CLI::App& app, ConvertOptions& o) {
  auto* sub = app.add_subcommand("convert", commandDescription("convert"));
  sub->add_option("MODEL", o.model, "Model path")->required();
  sub->add_option("OUTPUT", o.output, "Output directory (hf) or .gguf file")->required();
  sub->add_option("--format", o.format, "hf | gguf (default: from OUTPUT's extension)");
  sub->add_option("--dtype", o.dtype, "Stored precision of the written weights")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}))
      ->capture_default_str();
  addModelFlags(sub, o.flags);
  return sub;
}

int runConvert(const ConvertOptions& o) {
  applyThreads(o.flags);
  ModelFlags cpu = o.flags;
  cpu.device = "cpu";
  auto m = load(o.model, cpu);
  std::string fmt = o.format;
  if (fmt.empty()) fmt = fs::path(o.output).extension() == ".gguf" ? "gguf" : "hf";
  const auto dtype = o.dtype == "fp16" ? at::kHalf : o.dtype == "bf16" ? at::kBFloat16 : at::kFloat;
  if (fmt == "gguf") {
    models::saveGguf(m, o.output, dtype);
  } else if (fmt == "hf") {
    models::saveHfDirectory(m, o.output, dtype);
  } else {
    throw Error("convert: --format must be hf or gguf, got '" + fmt + "'");
  }
  if (o.flags.asJson)
    printJson({{"model", o.model}, {"output", o.output}, {"format", fmt}, {"dtype", o.dtype}});
  else
    std::cout << "wrote " << o.output << " (" << fmt << ", " << o.dtype << ")\n";
  return 0;
}

// --- bpe-train -----------------------------------------------------------------------------

CLI::App* addBpeTrain(CLI::App& app, BpeTrainOptions& o) {
  auto& b = o.bpe;
  auto* sub = app.add_subcommand("bpe-train", commandDescription("bpe-train"));
  sub->add_option("TEXT", o.inputs, "Training text files (documents separated by --doc-sep)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--out", o.out, "Output directory")->required();
  sub->add_option("--vocab-size", b.vocabSize,
                  "Total vocabulary: 256 bytes + merges + <|endoftext|> + extra specials")
      ->capture_default_str();
  sub->add_option("--min-frequency", b.minFrequency, "Pairs seen fewer times are not merged")
      ->capture_default_str();
  sub->add_option("--pad-token", b.padToken, "Add a padding token (e.g. '<pad>') for encoders");
  sub->add_option("--mask-token", b.maskToken, "Add a mask token (e.g. '<mask>') for masked-LM pretraining");
  sub->add_option("--doc-sep", b.documentSeparator, "Document separator (never part of a token)")
      ->capture_default_str();
  sub->add_flag("--json", o.asJson, "Print one JSON object on stdout");
  return sub;
}

int runBpeTrain(const BpeTrainOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> texts;
  int64_t bytes = 0;
  for (const auto& f : o.inputs) {
    texts.push_back(data::readTextFile(f));
    bytes += static_cast<int64_t>(texts.back().size());
  }
  StderrProgress progress(!o.asJson);
  CancelToken cancel;
  const auto v = tokenize::trainByteLevelBpe(texts, o.bpe, &progress, &cancel);
  tokenize::writeGpt2VocabMerges(v, o.out);
  // Read the files back through the encoder: what the models will use, and its compression.
  const auto tok = tokenize::loadTokenizer(o.out);
  int64_t tokens = 0;
  for (const auto& t : texts)
    for (const auto& doc : data::splitDocuments(t, o.bpe.documentSeparator))
      tokens += static_cast<int64_t>(tok->encode(doc).size());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double perToken = tokens > 0 ? static_cast<double>(bytes) / static_cast<double>(tokens) : 0.0;
  if (o.asJson) {
    printJson({{"out", o.out},
               {"vocab_size", v.idToToken.size()},
               {"merges", v.merges.size()},
               {"end_of_text_id", v.endOfTextId},
               {"pad_id", v.padId},
               {"mask_id", v.maskId},
               {"pieces", v.pieces},
               {"distinct_pieces", v.distinctPieces},
               {"bytes", bytes},
               {"tokens", tokens},
               {"bytes_per_token", perToken},
               {"seconds", seconds}});
  } else {
    std::cout << "wrote        " << (fs::path(o.out) / "vocab.json").string() << " and merges.txt\n"
              << "vocabulary   " << v.idToToken.size() << " (256 bytes, " << v.merges.size()
              << " merges, <|endoftext|> = " << v.endOfTextId
              << (v.padId >= 0 ? ", " + o.bpe.padToken + " = " + std::to_string(v.padId) : std::string())
              << (v.maskId >= 0 ? ", " + o.bpe.maskToken + " = " + std::to_string(v.maskId) : std::string())
              << ")\n"
              << "training     " << withThousands(bytes) << " bytes, " << withThousands(v.pieces)
              << " pre-tokens (" << withThousands(v.distinctPieces) << " distinct)\n"
              << std::fixed << std::setprecision(2) << "compression  " << perToken
              << " bytes per token on the training text\n"
              << std::setprecision(1) << "finished in " << seconds << " s\n";
  }
  return 0;
}

}  // namespace ranklab::cli
