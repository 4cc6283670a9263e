#include "api/inspect.h"

#include <torch/cuda.h>

#include "common/device.h"
#include "models/loader.h"

namespace ranklab::api {

ModelSummary inspectModel(const std::string& path, const std::string& tokenizerPath) {
  models::LoadOptions options;
  options.device = "cpu";
  options.tokenizerPath = tokenizerPath;
  return models::loadModel(path, options).summary();
}

std::vector<std::string> availableDevices() {
  std::vector<std::string> devices{"auto", "cpu"};
  if (cudaAvailable())
    for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i) devices.push_back("cuda:" + std::to_string(i));
  return devices;
}

std::string resolveDevice(const std::string& spec) {
  try {
    return deviceName(parseDevice(spec));
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace ranklab::api
