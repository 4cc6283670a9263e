#include "fuzz/targets.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/choices.h"
#include "data/corpus.h"
#include "fuzz/fuzz_io.h"
#include "fuzz/torch_free_targets.h"
#include "io/gguf.h"
#include "io/llama2c.h"
#include "io/model_config.h"
#include "io/safetensors.h"
#include "jobs/job_spec.h"
#include "jobs/sweep.h"
#include "models/language_model.h"
#include "models/loader.h"
#include "store/run_store.h"
#include "tokenize/tokenizer.h"

namespace fs = std::filesystem;

namespace ranklab::fuzz {

namespace {

std::string safetensors(const uint8_t* d, size_t n) {
  const auto file = writeInput("model.safetensors", d, n);
  return guarded([&] { io::readSafetensors(file, at::kFloat); });
}

std::string gguf(const uint8_t* d, size_t n) {
  const auto file = writeInput("model.gguf", d, n);
  return guarded([&] { io::readGguf(file); });
}

std::string llama2c(const uint8_t* d, size_t n) {
  const auto file = writeInput("model.bin", d, n);
  return guarded([&] { io::readLlama2c(file); });
}

std::string llama2cTokenizer(const uint8_t* d, size_t n) {
  const auto file = writeInput("tokenizer.bin", d, n);
  return guarded([&] { io::readLlama2cTokenizer(file, 512); });
}

std::string config(const uint8_t* d, size_t n) {
  const auto file = writeInput("config.json", d, n);
  return guarded([&] { io::parseHfConfig(file); });
}

// A tokenizer is loaded, then used: the tables it built must encode and decode text.
std::string useTokenizer(const fs::path& path) {
  return guarded([&] {
    const auto tok = tokenize::loadTokenizer(path, 512);
    const auto ids = tok->encode("Once upon a time, 3 cats\tsaw \xc3\xa9t\xc3\xa9 <|endoftext|>");
    tok->decode(ids);
  });
}

std::string tokenizerJson(const uint8_t* d, size_t n) {
  return useTokenizer(writeInput("tokenizer.json", d, n));
}

// vocab.json and merges.txt in one input, split at the first NUL byte.
std::string gpt2Bpe(const uint8_t* d, size_t n) {
  size_t split = 0;
  while (split < n && d[split] != 0) ++split;
  const auto vocab = writeInput("vocab.json", d, split);
  writeInput("merges.txt", d + std::min(split + 1, n), n - std::min(split + 1, n));
  return useTokenizer(vocab);
}

std::string wordpiece(const uint8_t* d, size_t n) { return useTokenizer(writeInput("vocab.txt", d, n)); }

std::string jobSpec(const uint8_t* d, size_t n) {
  const auto j = nlohmann::json::parse(d, d + n, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return "";  // not JSON: the CLI says "not valid JSON" before this parser runs
  return guarded([&] { jobs::jobSpecFromJson(j, "spec.json"); });
}

// A sweep grid, read and expanded as `ranklab-cli sweep` does before any point runs: every point
// parsed and validated.
std::string sweepGrid(const uint8_t* d, size_t n) {
  const auto file = writeInput("grid.json", d, n);
  return guarded([&] { jobs::loadSweep(file); });
}

std::string labelled(const uint8_t* d, size_t n) {
  const auto file = writeInput("train.tsv", d, n);
  return guarded([&] { data::readLabelled(file, {}); });
}

// A multiple-choice set in any of its formats (detected from the keys, as `eval --choices` does).
std::string choices(const uint8_t* d, size_t n) {
  const auto file = writeInput("choices.jsonl", d, n);
  return guarded([&] { data::readChoices(file); });
}

// A run database with arbitrary contents: the input is SQL (seeds: the frozen schema fixtures), run
// into a new file with SQLite's own errors ignored, so that the fuzzer reaches databases whose tables,
// types, JSON columns and version stamps are wrong in every way a damaged or foreign file can be,
// not only bytes SQLite refuses outright. Then RankLab opens it (migrating when the stamp is old),
// lists the runs and loads each one, as `runs list`, `runs show` and the GUI do.
std::string runDatabase(const uint8_t* d, size_t n) {
  const fs::path file = scratch() / "runs.db";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(file.string() + suffix);
  {
    sqlite3* raw = nullptr;
    if (sqlite3_open(file.c_str(), &raw) != SQLITE_OK) {
      sqlite3_close(raw);
      return "";
    }
    // No other files (ATTACH), no unbounded statements (recursive CTEs, huge blobs).
    sqlite3_set_authorizer(
        raw,
        [](void*, int action, const char*, const char*, const char*, const char*) {
          return action == SQLITE_ATTACH || action == SQLITE_DETACH ? SQLITE_DENY : SQLITE_OK;
        },
        nullptr);
    sqlite3_limit(raw, SQLITE_LIMIT_LENGTH, 1 << 20);
    static int budget = 0;
    budget = 200000;
    sqlite3_progress_handler(
        raw, 1000, [](void*) { return (budget -= 1000) < 0 ? 1 : 0; }, nullptr);
    const std::string sql(reinterpret_cast<const char*>(d), n);
    sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(raw);
  }
  return guarded([&] {
    store::RunStore db(file);
    for (const auto& run : db.listRuns()) db.loadRun(run.id);
  });
}

// ranklab.json against a fixed factorized directory (a tiny LLaMA of one layer, saved once per
// process): the manifest is the file an export's user may edit or damage; config.json and
// factors.safetensors have targets of their own. RANKLAB_FUZZ_WRITE_SEED=FILE writes the manifest
// that directory came with (packaging/make-fuzz-seeds.py carries a copy).
const fs::path& factorizedModel() {
  static const fs::path dir = [] {
    io::ModelConfig c;
    c.arch = io::Architecture::Llama;
    c.modelType = "llama";
    c.vocabSize = 32;
    c.hiddenSize = 8;
    c.numLayers = 1;
    c.numHeads = 2;
    c.numKvHeads = 2;
    c.intermediateSize = 16;
    c.maxPositions = 16;
    models::LoadedModel m;
    m.model = models::createModel(c);
    m.source = "fuzz-tiny-llama";
    const fs::path d = scratch() / "factorized";
    models::saveFactorizedDirectory(m, d, nlohmann::json::object());
    if (const char* seed = std::getenv("RANKLAB_FUZZ_WRITE_SEED")) fs::copy_file(d / "ranklab.json", seed);
    return d;
  }();
  return dir;
}

std::string manifest(const uint8_t* d, size_t n) {
  const fs::path dir = factorizedModel();
  std::ofstream(dir / "ranklab.json", std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(d), static_cast<std::streamsize>(n));
  return guarded([&] { models::loadModel(dir); });
}

}  // namespace

const std::vector<NamedTarget>& targets() {
  static const std::vector<NamedTarget> all{{"safetensors", safetensors},
                                            {"gguf", gguf},
                                            {"llama2c", llama2c},
                                            {"llama2c-tokenizer", llama2cTokenizer},
                                            {"config", config},
                                            {"tokenizer-json", tokenizerJson},
                                            {"gpt2-bpe", gpt2Bpe},
                                            {"wordpiece", wordpiece},
                                            {"job-spec", jobSpec},
                                            {"labelled", labelled},
                                            {"run-db", runDatabase},
                                            {"manifest", manifest},
                                            {"choices", choices},
                                            {"sweep-grid", sweepGrid},
                                            {"sentencepiece", sentencePiece}};
  return all;
}

Target findTarget(const std::string& name) {
  for (const auto& t : targets())
    if (name == t.name) return t.run;
  return nullptr;
}

}  // namespace ranklab::fuzz
