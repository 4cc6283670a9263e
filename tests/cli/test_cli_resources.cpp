// A ranklab-cli outside its build tree (a relocated or installed copy) finds the shipped resources in
// ../share/ranklab beside itself and never in the source tree whose path is compiled into it; when
// they are missing, the message names every folder searched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/cli_runner.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// <tmp>/bin/ranklab-cli, a copy of the build tree's binary.
fs::path relocatedTree() {
  const auto root = fs::temp_directory_path() / ("ranklab_relocated_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "bin");
  fs::copy_file(fs::path(RANKLAB_BINARY_DIR) / "app" / "ranklab-cli", root / "bin" / "ranklab-cli");
  return root;
}

ranklab::test::CliRun runRelocated(const fs::path& root, const std::string& args) {
  return ranklab::test::runBinary("env -u RANKLAB_RESOURCES " + (root / "bin" / "ranklab-cli").string(),
                                  args);
}

}  // namespace

TEST(CliResources, ARelocatedBinaryUsesShareBesideItAndNeverTheSourceTree) {
  const fs::path root = relocatedTree();
  const std::string source = std::string(RANKLAB_SOURCE_DIR) + "/resources";

  auto r = runRelocated(root, "demo --device cpu --no-store --max-docs 1");
  EXPECT_NE(r.code, 0) << r.err;
  EXPECT_THAT(r.err,
              HasSubstr("looked in $RANKLAB_RESOURCES (unset), " + (root / "share" / "ranklab").string()));
  EXPECT_THAT(r.err, Not(HasSubstr(source))) << "an installed binary must not fall back to the source tree";

  fs::create_directories(root / "share");
  fs::create_directory_symlink(source, root / "share" / "ranklab");
  r = runRelocated(root, "demo --device cpu --no-store --max-docs 1");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(
      r.out, HasSubstr("RankLab demo job: " + (root / "share" / "ranklab" / "models" / "gpt-mini").string()));
  fs::remove_all(root);
}
