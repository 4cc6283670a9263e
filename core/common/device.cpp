#include "common/device.h"

#include <torch/cuda.h>

#include "common/device_list.h"
#include "common/error.h"

namespace ranklab {

bool cudaAvailable() { return torch::cuda::is_available(); }

c10::Device parseDevice(const std::string& spec) {
  if (spec.empty() || spec == "auto")
    return cudaAvailable() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (spec == "cpu") return c10::Device(c10::kCPU);
  if (spec.rfind("cuda", 0) == 0) {
    int index = 0;
    if (spec.size() > 4) {
      if (spec[4] != ':' || spec.size() == 5) throw Error("device '" + spec + "': expected cuda or cuda:N");
      try {
        size_t used = 0;
        index = std::stoi(spec.substr(5), &used);
        if (used != spec.size() - 5 || index < 0) throw std::invalid_argument("bad index");
      } catch (const std::exception&) {
        throw Error("device '" + spec + "': expected cuda or cuda:N with N a device index");
      }
    }
    if (!cudaAvailable())
      throw Error("device '" + spec +
                  "': this LibTorch build or machine has no CUDA device; use --device cpu or auto");
    const int count = static_cast<int>(torch::cuda::device_count());
    if (index >= count)
      throw Error("device '" + spec + "': only " + std::to_string(count) + " CUDA device(s) present");
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Error("device '" + spec + "': expected auto, cpu, cuda or cuda:N");
}

std::string deviceName(const c10::Device& device) { return device.str(); }

std::vector<std::string> availableDevices() {
  std::vector<std::string> devices{"auto", "cpu"};
  if (cudaAvailable())
    for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i)
      devices.push_back("cuda:" + std::to_string(i));
  return devices;
}

std::string resolveDevice(const std::string& spec) {
  try {
    return deviceName(parseDevice(spec));
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace ranklab
