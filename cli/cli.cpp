// ranklab-cli's commands: the headless front end. Every command prints a human-readable report, or
// one JSON object on stdout with --json (printJson). Foreseeable mistakes (unknown flags, missing
// files, unsupported formats) print one line on stderr and exit with code 2.
#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_jobs.h"
#include "cli/cli_train.h"
#include "cli/cli_util.h"
#include "common/allocator.h"
#include "common/compat.h"
#include "common/device.h"
#include "common/error.h"
#include "common/progress.h"
#include "data/corpus.h"
#include "eval/classification.h"
#include "eval/perplexity.h"
#include "models/generate.h"
#include "models/loader.h"
#include "tokenize/bpe_trainer.h"
#include "tokenize/tokenizer.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace ranklab;
using ranklab::cli::detail::perplexityJson;
using ranklab::cli::detail::printJson;
using ranklab::cli::detail::StderrProgress;
using ranklab::cli::detail::withThousands;

namespace {

constexpr int kUsageError = 2;

struct Common {
  bool asJson = false;
  std::string device = "auto";
  std::string tokenizer;
  int threads = 0;
};

void applyThreads(const Common& c) {
  if (c.threads > 0) at::set_num_threads(c.threads);
}

models::LoadedModel load(const std::string& path, const Common& c) {
  models::LoadOptions options;
  options.device = c.device;
  options.tokenizerPath = c.tokenizer;
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
    ops.push_back({{"name", op.name}, {"layer", op.layer}, {"kind", op.kind}, {"in", op.inFeatures},
                   {"out", op.outFeatures}, {"params", op.params()}, {"bias", op.hasBias}});
  return {{"architecture", s.architecture}, {"source", s.source}, {"format", s.format},
          {"total_params", s.totalParams}, {"compressible_params", s.compressibleParams},
          {"layers", s.layers}, {"hidden", s.hidden}, {"heads", s.heads}, {"kv_heads", s.kvHeads},
          {"vocab", s.vocab}, {"context", s.context}, {"num_labels", s.numLabels}, {"ops", ops}};
}

void printSummary(const api::ModelSummary& s, std::ostream& out) {
  out << "model        " << s.source << " (" << s.format << ")\n"
      << "architecture " << s.architecture << ": " << s.layers << " layers, hidden " << s.hidden << ", " << s.heads
      << " heads (" << s.kvHeads << " kv), vocab " << s.vocab << ", context " << s.context << "\n"
      << "parameters   " << withThousands(s.totalParams) << " total, " << withThousands(s.compressibleParams)
      << " in " << s.ops.size() << " compressible linear ops ("
      << std::fixed << std::setprecision(1)
      << (s.totalParams ? 100.0 * static_cast<double>(s.compressibleParams) / static_cast<double>(s.totalParams) : 0.0)
      << "%)\n";
  if (s.numLabels > 0) out << "classifier   " << s.numLabels << " labels\n";
  out << "\n" << std::left << std::setw(24) << "op" << std::right << std::setw(8) << "in (M)" << std::setw(9)
      << "out (N)" << std::setw(12) << "params" << "  bias\n";
  for (const auto& op : s.ops)
    out << std::left << std::setw(24) << op.name << std::right << std::setw(8) << op.inFeatures << std::setw(9)
        << op.outFeatures << std::setw(12) << withThousands(op.params()) << "  " << (op.hasBias ? "yes" : "no") << "\n";
}

// --- commands ------------------------------------------------------------------------------

int cmdInfo(const std::string& model, const Common& c) {
  auto m = load(model, c);
  auto s = m.summary();
  if (c.asJson) {
    auto j = summaryJson(s);
    j["device"] = deviceName(m.model->device());
    j["tokenizer"] = m.tokenizer ? m.tokenizer->kind() : "";
    printJson(j);
  } else {
    printSummary(s, std::cout);
    std::cout << "\ntokenizer    " << (m.tokenizer ? m.tokenizer->kind() : std::string("none")) << "\ndevice       "
              << deviceName(m.model->device()) << "\n";
  }
  return 0;
}

int cmdTokenize(const std::string& tokenizerPath, const std::string& text, int64_t vocabHint, const Common& c) {
  if (tokenizerPath.empty()) throw Error("tokenize: --tokenizer PATH is required");
  auto tok = tokenize::loadTokenizer(tokenizerPath, vocabHint);
  const auto ids = tok->encode(text);
  if (c.asJson) {
    printJson(json{{"tokenizer", tok->kind()}, {"ids", ids}, {"count", ids.size()}});
  } else {
    for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
    std::cout << "\n";
  }
  return 0;
}

int cmdGenerate(const std::string& model, int64_t steps, const std::string& prompt, double temperature, uint64_t seed,
                const Common& c) {
  auto m = load(model, c);
  const auto& tok = requireTokenizer(m);
  models::GenerateOptions o;
  o.steps = steps;
  o.temperature = temperature;
  o.seed = seed;
  const auto start = std::chrono::steady_clock::now();
  auto stream = [&](const std::string& piece) {
    if (!c.asJson) std::cout << piece << std::flush;
    return true;
  };
  auto r = models::generate(*m.model, tok, prompt, o, stream);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (c.asJson) {
    printJson(json{{"prompt", prompt}, {"text", r.text}, {"ids", r.generatedIds}, {"tokens", r.generatedIds.size()},
                      {"seconds", seconds}, {"tokens_per_second", seconds > 0 ? r.generatedIds.size() / seconds : 0.0}});
  } else {
    std::cout << "\n";
    std::fprintf(stderr, "%zu tokens in %.2f s (%.1f tokens/s)\n", r.generatedIds.size(), seconds,
                 seconds > 0 ? r.generatedIds.size() / seconds : 0.0);
  }
  return 0;
}

int cmdEval(const std::string& model, const std::string& textFile, const std::string& labelled, const std::string& docSep,
            int64_t ctx, bool truncate, int64_t batch, const Common& c) {
  if (textFile.empty() == labelled.empty()) throw Error("eval: give exactly one of --text FILE or --labelled FILE");
  // Check the data file before the (possibly slow) model load.
  const std::string dataFile = textFile.empty() ? labelled : textFile;
  if (!fs::is_regular_file(dataFile)) throw Error(dataFile + ": no such file");
  auto m = load(model, c);
  const auto& tok = requireTokenizer(m);
  StderrProgress progress(!c.asJson);
  const auto start = std::chrono::steady_clock::now();
  if (!textFile.empty()) {
    eval::PerplexityOptions o;
    o.documentSeparator = docSep;
    o.context = ctx;
    o.truncate = truncate;
    o.batchSize = batch;
    auto r = eval::perplexityOfFile(*m.model, tok, textFile, o, &progress);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (c.asJson) {
      auto j = perplexityJson(r);
      j["model"] = model;
      j["text"] = textFile;
      j["seconds"] = seconds;
      printJson(j);
    } else {
      std::cout << std::fixed << "documents    " << r.documents << "\ntokens       " << r.tokens
                << "\nmean NLL     " << std::setprecision(4) << r.meanNll << " nats/token\nperplexity   "
                << std::setprecision(3) << r.perplexity << "\nbits/byte    " << std::setprecision(4) << r.bitsPerByte
                << "\ntime         " << std::setprecision(1) << seconds << " s\n";
    }
  } else {
    eval::ClassificationOptions o;
    o.batchSize = batch;
    o.maxLength = ctx;
    auto r = eval::accuracyOfFile(*m.model, tok, labelled, o, &progress);
    if (c.asJson) {
      printJson(json{{"model", model}, {"labelled", labelled}, {"examples", r.examples}, {"correct", r.correct},
                        {"accuracy", r.accuracy}});
    } else {
      std::cout << "examples     " << r.examples << "\ncorrect      " << r.correct << "\naccuracy     " << std::fixed
                << std::setprecision(4) << r.accuracy << "\n";
    }
  }
  return 0;
}

int cmdConvert(const std::string& model, const std::string& output, const std::string& format, const Common& c) {
  Common cpu = c;
  cpu.device = "cpu";
  auto m = load(model, cpu);
  std::string fmt = format;
  if (fmt.empty()) fmt = fs::path(output).extension() == ".gguf" ? "gguf" : "hf";
  if (fmt == "gguf") {
    models::saveGguf(m, output);
  } else if (fmt == "hf") {
    models::saveHfDirectory(m, output);
  } else {
    throw Error("convert: --format must be hf or gguf, got '" + fmt + "'");
  }
  if (c.asJson) printJson(json{{"model", model}, {"output", output}, {"format", fmt}});
  else std::cout << "wrote " << output << " (" << fmt << ")\n";
  return 0;
}

int cmdBpeTrain(const std::vector<std::string>& inputs, const std::string& out, tokenize::BpeTrainOptions o,
                const Common& c) {
  const std::string docSep = o.documentSeparator;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> texts;
  int64_t bytes = 0;
  for (const auto& f : inputs) {
    texts.push_back(data::readTextFile(f));
    bytes += static_cast<int64_t>(texts.back().size());
  }
  StderrProgress progress(!c.asJson);
  CancelToken cancel;
  const auto v = tokenize::trainByteLevelBpe(texts, o, &progress, &cancel);
  tokenize::writeGpt2VocabMerges(v, out);
  // Read the files back through the encoder: what the models will use, and its compression.
  const auto tok = tokenize::loadTokenizer(out);
  int64_t tokens = 0;
  for (const auto& t : texts)
    for (const auto& doc : data::splitDocuments(t, docSep)) tokens += static_cast<int64_t>(tok->encode(doc).size());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double perToken = tokens > 0 ? static_cast<double>(bytes) / static_cast<double>(tokens) : 0.0;
  if (c.asJson) {
    printJson(json{{"out", out}, {"vocab_size", v.idToToken.size()}, {"merges", v.merges.size()},
                      {"end_of_text_id", v.endOfTextId}, {"pad_id", v.padId}, {"mask_id", v.maskId}, {"pieces", v.pieces}, {"distinct_pieces", v.distinctPieces},
                      {"bytes", bytes}, {"tokens", tokens}, {"bytes_per_token", perToken}, {"seconds", seconds}});
  } else {
    std::cout << "wrote        " << (fs::path(out) / "vocab.json").string() << " and merges.txt\n"
              << "vocabulary   " << v.idToToken.size() << " (256 bytes, " << v.merges.size()
              << " merges, <|endoftext|> = " << v.endOfTextId
              << (v.padId >= 0 ? ", " + o.padToken + " = " + std::to_string(v.padId) : std::string())
              << (v.maskId >= 0 ? ", " + o.maskToken + " = " + std::to_string(v.maskId) : std::string()) << ")\n"
              << "training     " << withThousands(bytes) << " bytes, " << withThousands(v.pieces) << " pre-tokens ("
              << withThousands(v.distinctPieces) << " distinct)\n"
              << std::fixed << std::setprecision(2) << "compression  " << perToken << " bytes per token on the training text\n"
              << std::setprecision(1) << "finished in " << seconds << " s\n";
  }
  return 0;
}

}  // namespace

namespace ranklab::cli {

int run(int argc, char** argv) {
  tuneAllocator();
  CLI::App app{"RankLab command-line interface: inspect, run and evaluate language models for low-rank compression"};
  app.set_version_flag("--version", std::string("ranklab-cli ") + RANKLAB_VERSION + " (LibTorch " + compat::torchVersion() + ")");
  app.require_subcommand(1);
  Common common;
  auto addCommon = [&](CLI::App* sub, bool withTokenizer) {
    sub->add_flag("--json", common.asJson, "Print one JSON object on stdout");
    sub->add_option("--device", common.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
    sub->add_option("--threads", common.threads, "CPU threads for LibTorch (default: LibTorch's choice)");
    if (withTokenizer)
      sub->add_option("--tokenizer", common.tokenizer, "Tokenizer file or directory (overrides the model's own)");
  };

  std::string model, text, labelled, output, format, prompt, docSep = "<|endoftext|>", tokText;
  int64_t steps = 256, ctx = 0, batch = 8, vocabHint = -1;
  double temperature = 0.0;
  uint64_t seed = 0;
  bool truncate = false;

  auto* info = app.add_subcommand("info", "Architecture, parameter counts and the table of compressible ops");
  info->add_option("MODEL", model, "Hugging Face directory, .gguf file or llama2.c .bin")->required();
  addCommon(info, true);

  auto* tok = app.add_subcommand("tokenize", "Print the token ids of a text");
  tok->add_option("--tokenizer", common.tokenizer,
                  "Directory (tokenizer.json, vocab.json+merges.txt, vocab.txt, tokenizer.model) or file (.json, .model, .txt, llama2.c .bin)")
      ->required();
  tok->add_option("--text", tokText, "Text to encode")->required();
  tok->add_option("--vocab-size", vocabHint, "Vocabulary size for llama2.c tokenizer.bin files (default: read to the end)");
  tok->add_flag("--json", common.asJson, "Print one JSON object on stdout");

  auto* gen = app.add_subcommand("generate", "Generate text (greedy at temperature 0)");
  gen->add_option("MODEL", model, "Model path")->required();
  gen->add_option("--steps", steps, "New tokens to generate")->capture_default_str()->check(CLI::PositiveNumber);
  gen->add_option("--prompt", prompt, "Prompt text");
  gen->add_option("--temperature", temperature, "Sampling temperature; 0 = greedy")->capture_default_str()->check(CLI::NonNegativeNumber);
  gen->add_option("--seed", seed, "Sampling seed")->capture_default_str();
  addCommon(gen, true);

  auto* ev = app.add_subcommand("eval", "Perplexity over a text file, or accuracy over a labelled file");
  ev->add_option("MODEL", model, "Model path")->required();
  ev->add_option("--text", text, "Text file for perplexity (documents separated by --doc-sep)");
  ev->add_option("--labelled", labelled, "Labelled TSV (text<TAB>label) or JSONL file for classification accuracy");
  ev->add_option("--doc-sep", docSep, "Document separator")->capture_default_str();
  ev->add_option("--ctx", ctx, "Window length in tokens (default: the model context)")->check(CLI::NonNegativeNumber);
  ev->add_flag("--truncate", truncate, "Cut each document to the context (--ctx, BOS included) instead of scoring all of it in windows");
  ev->add_option("--batch", batch, "Windows or examples per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  addCommon(ev, true);

  auto* conv = app.add_subcommand("convert", "Convert a model to a Hugging Face directory or a GGUF file");
  conv->add_option("MODEL", model, "Model path")->required();
  conv->add_option("OUTPUT", output, "Output directory (hf) or .gguf file")->required();
  conv->add_option("--format", format, "hf | gguf (default: from OUTPUT's extension)");
  addCommon(conv, true);

  std::vector<std::string> bpeInputs;
  std::string bpeOut;
  tokenize::BpeTrainOptions bpeOptions;
  auto* bpe = app.add_subcommand("bpe-train", "Train a GPT-2-format byte-level BPE tokenizer (vocab.json + merges.txt)");
  bpe->add_option("TEXT", bpeInputs, "Training text files (documents separated by --doc-sep)")->required()->check(CLI::ExistingFile);
  bpe->add_option("--out", bpeOut, "Output directory")->required();
  bpe->add_option("--vocab-size", bpeOptions.vocabSize, "Total vocabulary: 256 bytes + merges + <|endoftext|> + extra specials")->capture_default_str();
  bpe->add_option("--min-frequency", bpeOptions.minFrequency, "Pairs seen fewer times are not merged")->capture_default_str();
  bpe->add_option("--pad-token", bpeOptions.padToken, "Add a padding token (e.g. '<pad>') for encoders");
  bpe->add_option("--mask-token", bpeOptions.maskToken, "Add a mask token (e.g. '<mask>') for masked-LM pretraining");
  bpe->add_option("--doc-sep", docSep, "Document separator (never part of a token)")->capture_default_str();
  bpe->add_flag("--json", common.asJson, "Print one JSON object on stdout");

  auto jobCommands = detail::addJobCommands(app);
  auto trainCommands = detail::addTrainCommands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "ranklab-cli: " << e.what() << " (see ranklab-cli --help)\n";
    return kUsageError;
  }

  try {
    applyThreads(common);
    if (info->parsed()) return cmdInfo(model, common);
    if (tok->parsed()) return cmdTokenize(common.tokenizer, tokText, vocabHint, common);
    if (gen->parsed()) return cmdGenerate(model, steps, prompt, temperature, seed, common);
    if (ev->parsed()) return cmdEval(model, text, labelled, docSep, ctx, truncate, batch, common);
    if (conv->parsed()) return cmdConvert(model, output, format, common);
    if (bpe->parsed()) {
      bpeOptions.documentSeparator = docSep;
      return cmdBpeTrain(bpeInputs, bpeOut, bpeOptions, common);
    }
    if (const int rc = detail::runJobCommands(*jobCommands); rc >= 0) return rc;
    std::string commandLine = "ranklab-cli";
    for (int i = 1; i < argc; ++i) commandLine += std::string(" ") + argv[i];
    if (const int rc = detail::runTrainCommands(*trainCommands, commandLine); rc >= 0) return rc;
  } catch (const ranklab::Error& e) {
    std::cerr << "ranklab-cli: " << e.what() << "\n";
    return kUsageError;
  } catch (const c10::Error& e) {
    // A LibTorch check failed on input we did not validate well enough: report it in one line.
    std::cerr << "ranklab-cli: " << e.what_without_backtrace() << "\n";
    return kUsageError;
  } catch (const std::exception& e) {
    std::cerr << "ranklab-cli: " << e.what() << "\n";
    return 1;
  }
  return kUsageError;
}

}  // namespace ranklab::cli
