// Where the shipped resources are found: $RANKLAB_RESOURCES alone when set, then ../share/ranklab
// beside the executable, then the source tree only for a binary inside its build tree. (The
// installed and relocated cases run real binaries: tests/cli/test_cli_resources.cpp and the package
// test, tests/packaging/deb_install_test.sh.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "common/error.h"
#include "common/resources.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;
using ::testing::HasSubstr;

namespace {

// Sets $RANKLAB_RESOURCES for one scope and restores the previous value.
class ScopedResourcesEnv {
 public:
  explicit ScopedResourcesEnv(const char* value) {
    if (const char* old = std::getenv("RANKLAB_RESOURCES")) m_previous = old, m_had = true;
    if (value)
      ::setenv("RANKLAB_RESOURCES", value, 1);
    else
      ::unsetenv("RANKLAB_RESOURCES");
  }
  ~ScopedResourcesEnv() {
    if (m_had)
      ::setenv("RANKLAB_RESOURCES", m_previous.c_str(), 1);
    else
      ::unsetenv("RANKLAB_RESOURCES");
  }

 private:
  std::string m_previous;
  bool m_had = false;
};

fs::path scratch(const std::string& name) {
  const auto dir =
      fs::temp_directory_path() / ("ranklab_resources_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string messageOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Resources, ATestBinaryRunsFromItsBuildTreeAndFindsTheSourceTree) {
  ScopedResourcesEnv env(nullptr);
  EXPECT_TRUE(runsFromBuildTree());
  const auto candidates = resourceCandidates();
  ASSERT_EQ(candidates.size(), 2u);
  // First the installed layout beside the executable, then the source tree.
  EXPECT_EQ(candidates[0].filename(), "ranklab");
  EXPECT_EQ(candidates[0].parent_path().filename(), "share");
  EXPECT_EQ(fs::weakly_canonical(candidates[1]),
            fs::weakly_canonical(fs::path(RANKLAB_SOURCE_DIR) / "resources"));
  ASSERT_TRUE(findResourcesDir().has_value());
  EXPECT_EQ(fs::weakly_canonical(resourcesDir()),
            fs::weakly_canonical(fs::path(RANKLAB_SOURCE_DIR) / "resources"));
  EXPECT_TRUE(fs::is_regular_file(resourcePath("data/lm/test.txt")));
  EXPECT_TRUE(fs::is_regular_file(shippedModel("gpt-mini") / "config.json"));
}

TEST(Resources, TheEnvironmentVariableIsTheOnlyFolderSearchedWhenSet) {
  const fs::path dir = scratch("env");
  ScopedResourcesEnv env(dir.c_str());
  EXPECT_EQ(resourceCandidates(), std::vector<fs::path>{dir});
  EXPECT_EQ(resourcesDir(), dir);  // even without models/: the user named it
  const std::string missing = messageOf([] { resourcePath("data/lm/test.txt"); });
  EXPECT_THAT(missing, HasSubstr((dir / "data/lm/test.txt").string()));
  EXPECT_THAT(missing, HasSubstr("$RANKLAB_RESOURCES = " + dir.string()));
  // Not the source tree, which this binary could otherwise use.
  EXPECT_THAT(missing, ::testing::Not(HasSubstr(std::string(RANKLAB_SOURCE_DIR) + "/resources")));
  const std::string model = messageOf([] { shippedModel("gpt-mini"); });
  EXPECT_THAT(model, HasSubstr("the shipped model 'gpt-mini' is missing"));
  EXPECT_THAT(model, HasSubstr("$RANKLAB_RESOURCES = " + dir.string()));
  fs::remove_all(dir);
}

TEST(Resources, AnEnvironmentVariableNamingNoFolderIsAnError) {
  const fs::path dir = fs::temp_directory_path() / ("ranklab_resources_none_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ScopedResourcesEnv env(dir.c_str());
  EXPECT_FALSE(findResourcesDir().has_value());
  const std::string message = messageOf([] { resourcesDir(); });
  EXPECT_THAT(message, HasSubstr("were not found; looked in $RANKLAB_RESOURCES = " + dir.string()));
}
