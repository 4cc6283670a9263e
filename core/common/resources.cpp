#include "common/resources.h"

#include <cstdlib>
#include <vector>

#include "common/error.h"

#ifndef RANKLAB_BUILD_RESOURCES_DIR
#define RANKLAB_BUILD_RESOURCES_DIR "resources"
#endif

namespace ranklab {
namespace fs = std::filesystem;

namespace {

fs::path executableDir() {
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

}  // namespace

fs::path resourcesDir() {
  if (const char* env = std::getenv("RANKLAB_RESOURCES"); env && *env) return env;
  std::vector<fs::path> candidates;
  if (const auto exe = executableDir(); !exe.empty()) {
    candidates.push_back(exe.parent_path() / "resources");
    candidates.push_back(exe.parent_path() / "share" / "ranklab" / "resources");
  }
  candidates.push_back(RANKLAB_BUILD_RESOURCES_DIR);
  std::error_code ec;
  for (const auto& c : candidates)
    if (fs::is_directory(c / "models", ec) || fs::is_directory(c / "data", ec)) return c;
  return candidates.back();
}

fs::path shippedModel(const std::string& name) {
  const auto dir = resourcesDir() / "models" / name;
  std::error_code ec;
  if (!fs::is_regular_file(dir / "config.json", ec))
    throw Error(dir.string() + ": the shipped model '" + name +
                "' is missing (set RANKLAB_RESOURCES, or rebuild it with packaging/train-demo-models.sh)");
  return dir;
}

}  // namespace ranklab
