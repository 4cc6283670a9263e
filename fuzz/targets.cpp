#include "fuzz/targets.h"

#include <c10/util/Exception.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/corpus.h"
#include "io/gguf.h"
#include "io/llama2c.h"
#include "io/model_config.h"
#include "io/safetensors.h"
#include "jobs/job_spec.h"
#include "tokenize/tokenizer.h"

namespace fs = std::filesystem;

namespace ranklab::fuzz {

namespace {

// The readers take paths: each input is written to a file of the name its format expects, in a
// folder of this process's own.
const fs::path& scratch() {
  static const fs::path dir = [] {
    const auto d = fs::temp_directory_path() / ("ranklab-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

fs::path writeInput(const std::string& name, const uint8_t* data, size_t size) {
  const fs::path file = scratch() / name;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return file;
}

// Runs `read`; "" when it returned or threw ranklab::Error, else what escaped.
template <class F>
std::string guarded(F&& read) {
  try {
    read();
    return "";
  } catch (const Error& e) {
    // RANKLAB_FUZZ_VERBOSE=1 shows the refusals (a seed should be read, not refused).
    if (std::getenv("RANKLAB_FUZZ_VERBOSE")) std::fprintf(stderr, "refused: %s\n", e.what());
    return "";
  } catch (const c10::Error& e) {
    return std::string("LibTorch error escaped: ") + e.what_without_backtrace();
  } catch (const nlohmann::json::exception& e) {
    return std::string("JSON library error escaped: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("exception escaped: ") + e.what();
  }
}

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

std::string labelled(const uint8_t* d, size_t n) {
  const auto file = writeInput("train.tsv", d, n);
  return guarded([&] { data::readLabelled(file, {}); });
}

}  // namespace

const std::vector<NamedTarget>& targets() {
  static const std::vector<NamedTarget> all{
      {"safetensors", safetensors}, {"gguf", gguf},
      {"llama2c", llama2c},         {"llama2c-tokenizer", llama2cTokenizer},
      {"config", config},           {"tokenizer-json", tokenizerJson},
      {"gpt2-bpe", gpt2Bpe},        {"wordpiece", wordpiece},
      {"job-spec", jobSpec},        {"labelled", labelled}};
  return all;
}

Target findTarget(const std::string& name) {
  for (const auto& t : targets())
    if (name == t.name) return t.run;
  return nullptr;
}

}  // namespace ranklab::fuzz
