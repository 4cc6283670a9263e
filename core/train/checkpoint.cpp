#include "train/checkpoint.h"

#include <torch/serialize.h>
#include <torch/serialize/archive.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/hash.h"

namespace ranklab::train::detail {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kCheckpointFile = "checkpoint.pt";
// Format tag, version 1 (named when only pretraining wrote checkpoints; fine-tuning uses it too).
constexpr const char* kFormat = "ranklab-pretrain-checkpoint-1";

json seriesJson(const std::vector<api::SeriesPoint>& series) {
  json out = json::array();
  for (const auto& p : series) out.push_back({p.step, p.name, p.value});
  return out;
}

}  // namespace

void saveCheckpoint(const fs::path& dir, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                    int64_t step, const std::string& fingerprint, const std::vector<api::SeriesPoint>& series,
                    const std::vector<double>& running) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create the checkpoint directory: " + ec.message());
  torch::serialize::OutputArchive archive, weights, state;
  model.save(weights);
  optimizer.save(state);
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("fingerprint", c10::IValue(fingerprint));
  archive.write("step", c10::IValue(step));
  archive.write("series", c10::IValue(seriesJson(series).dump()));
  archive.write("running", c10::IValue(json(running).dump()));
  archive.write("model", weights);
  archive.write("optimizer", state);
  std::ostringstream bytes;
  archive.save_to(bytes);
  writeFileAtomically(dir / kCheckpointFile, bytes.str());
}

int64_t loadCheckpoint(const fs::path& dir, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                       const std::string& fingerprint, std::vector<api::SeriesPoint>& series,
                       std::vector<double>& running) {
  const fs::path file = dir / kCheckpointFile;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return 0;
  try {
    torch::serialize::InputArchive archive;
    // Onto the device the module lives on (its first parameter's).
    const auto params = model.parameters();
    archive.load_from(file.string(), params.empty() ? c10::Device(c10::kCPU) : params.front().device());
    c10::IValue value;
    archive.read("format", value);
    if (!value.isString() || value.toStringRef() != kFormat)
      throw Error(file.string() + ": not a RankLab training checkpoint");
    archive.read("fingerprint", value);
    if (value.toStringRef() != fingerprint)
      throw Error(file.string() +
                  ": this checkpoint belongs to a different run (other model, data or options); "
                  "delete it or write to another directory");
    archive.read("step", value);
    const int64_t step = value.toInt();
    archive.read("series", value);
    series.clear();
    for (const auto& p : json::parse(value.toStringRef()))
      series.push_back({p.at(0).get<int64_t>(), p.at(1).get<std::string>(), p.at(2).get<double>()});
    archive.read("running", value);
    running = json::parse(value.toStringRef()).get<std::vector<double>>();
    torch::serialize::InputArchive weights, state;
    archive.read("model", weights);
    archive.read("optimizer", state);
    model.load(weights);
    optimizer.load(state);
    return step;
  } catch (const c10::Error& e) {
    throw Error(file.string() + ": unreadable checkpoint (" + e.what_without_backtrace() + ")");
  } catch (const json::exception& e) {
    throw Error(file.string() + ": corrupt series in the checkpoint (" + e.what() + ")");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(file.string() + ": unreadable checkpoint (" + e.what() + ")");
  }
}

std::string weightsHash(const torch::nn::Module& module) {
  Sha256 h;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    const auto t = item.value().detach().to(at::kCPU).contiguous();
    h.update(item.key());
    h.update(t.data_ptr(), static_cast<size_t>(t.nbytes()));
  }
  return h.hexDigest();
}

}  // namespace ranklab::train::detail

namespace ranklab::train {

void removeCheckpoint(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::remove(dir / detail::kCheckpointFile, ec);
  std::filesystem::remove(dir, ec);  // only when empty
}

}  // namespace ranklab::train
