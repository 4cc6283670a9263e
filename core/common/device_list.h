// The compute devices a job may name, for callers that must not see LibTorch (the GUI). Torch-free
// header; implemented with the device helpers (common/device.h) in ranklab_device.
#pragma once

#include <string>
#include <vector>

namespace ranklab {

// The device specs a job may name here: "auto", "cpu", then "cuda:0" ... for each CUDA device this
// LibTorch build sees. Cheap; thread-safe.
std::vector<std::string> availableDevices();
// What "auto" (or any spec) resolves to, for the status bar: "cpu" or "cuda:0". A malformed or
// unavailable spec gives the error message instead of throwing.
std::string resolveDevice(const std::string& spec);

}  // namespace ranklab
