// Device selection: "auto" | "cpu" | "cuda" | "cuda:N". "auto" picks CUDA device 0 when LibTorch
// was built with CUDA and a device is present, else the CPU. Throws ranklab::Error on a malformed
// spec or a CUDA request on a machine/build without CUDA.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace ranklab {

c10::Device parseDevice(const std::string& spec);
std::string deviceName(const c10::Device& device);
bool cudaAvailable();

}  // namespace ranklab
