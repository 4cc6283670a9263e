#include "common/resources.h"

#include <cstdlib>

#include "common/error.h"

// Both are set for this file only (core/common/CMakeLists.txt), so the shared PCH stays valid.
#ifndef RANKLAB_BUILD_RESOURCES_DIR
#define RANKLAB_BUILD_RESOURCES_DIR ""
#endif
#ifndef RANKLAB_BUILD_DIR
#define RANKLAB_BUILD_DIR ""
#endif

namespace ranklab {
namespace fs = std::filesystem;

namespace {

constexpr const char* kEnv = "RANKLAB_RESOURCES";

fs::path executablePath() {
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe;
}

// `inner` lies in (or is) `outer`, compared component by component after resolving both.
bool isInside(const fs::path& inner, const fs::path& outer) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(inner, ec);
  if (ec) return false;
  const fs::path b = fs::weakly_canonical(outer, ec);
  if (ec || b.empty()) return false;
  auto ai = a.begin();
  for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
    if (bi->empty()) continue;  // a trailing separator
    if (ai == a.end() || *ai != *bi) return false;
  }
  return true;
}

std::string searchedText() {
  std::string out;
  if (const char* env = std::getenv(kEnv); env && *env) return std::string("$") + kEnv + " = " + env;
  out = std::string("$") + kEnv + " (unset)";
  for (const auto& c : resourceCandidates()) out += ", " + c.string();
  return out;
}

}  // namespace

bool runsFromBuildTree() {
  const std::string build = RANKLAB_BUILD_DIR;
  if (build.empty()) return false;
  const fs::path exe = executablePath();
  return !exe.empty() && isInside(exe, build);
}

std::vector<fs::path> resourceCandidates() {
  if (const char* env = std::getenv(kEnv); env && *env) return {fs::path(env)};
  std::vector<fs::path> out;
  if (const auto exe = executablePath(); !exe.empty()) {
    const fs::path dir = exe.parent_path();
    // A private program in <prefix>/lib/ranklab (ranklab-cli-torch) shares <prefix>/share/ranklab.
    if (dir.filename() == "ranklab" && dir.parent_path().filename() == "lib")
      out.push_back((dir / ".." / ".." / "share" / "ranklab").lexically_normal());
    else
      out.push_back((dir / ".." / "share" / "ranklab").lexically_normal());
  }
  if (runsFromBuildTree() && *RANKLAB_BUILD_RESOURCES_DIR) out.emplace_back(RANKLAB_BUILD_RESOURCES_DIR);
  return out;
}

std::optional<fs::path> findResourcesDir() {
  std::error_code ec;
  if (const char* env = std::getenv(kEnv); env && *env) {
    if (fs::is_directory(env, ec)) return fs::path(env);
    return std::nullopt;
  }
  for (const auto& c : resourceCandidates())
    if (fs::is_directory(c / "models", ec) || fs::is_directory(c / "data", ec)) return c;
  return std::nullopt;
}

fs::path resourcesDir() {
  if (auto dir = findResourcesDir()) return *dir;
  throw Error("RankLab's shipped resources (models/, data/, tokenizers/) were not found; looked in " +
              searchedText() + ". Set " + kEnv + " to the folder that holds them.");
}

fs::path resourcePath(const fs::path& relative) {
  const fs::path path = resourcesDir() / relative;
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(path.string() + ": the shipped resource '" + relative.generic_string() +
                "' is missing (looked in " + searchedText() + ")");
  return path;
}

fs::path shippedModel(const std::string& name) {
  const fs::path dir = resourcesDir() / "models" / name;
  std::error_code ec;
  if (!fs::is_regular_file(dir / "config.json", ec))
    throw Error(dir.string() + ": the shipped model '" + name + "' is missing (looked in " + searchedText() +
                "; set " + kEnv + ", or rebuild it with packaging/train-demo-models.sh)");
  return dir;
}

}  // namespace ranklab
