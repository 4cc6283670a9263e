// A ranklab-cli outside its build tree (a relocated or installed copy) finds its LibTorch half in
// ../lib/ranklab and the shipped resources in ../share/ranklab, never in the source tree whose path
// is compiled into it; when they are missing, the message names every folder searched. Its torch-free
// launcher answers --help and the run store's commands without the LibTorch half.
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

// <tmp>/bin/ranklab-cli and <tmp>/lib/ranklab/ranklab-cli-torch: copies of the build tree's two
// programs in the layout `cmake --install` and the package give them.
fs::path relocatedTree() {
  const auto root = fs::temp_directory_path() / ("ranklab_relocated_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "bin");
  fs::create_directories(root / "lib" / "ranklab");
  const fs::path app = fs::path(RANKLAB_BINARY_DIR) / "app";
  fs::copy_file(app / "ranklab-cli", root / "bin" / "ranklab-cli");
  fs::copy_file(app / "ranklab-cli-torch", root / "lib" / "ranklab" / "ranklab-cli-torch");
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

TEST(CliResources, TheLauncherAnswersHelpAndRunsWithoutItsLibTorchHalf) {
  const fs::path root = relocatedTree();
  fs::remove(root / "lib" / "ranklab" / "ranklab-cli-torch");
  const std::string db = (root / "runs.db").string();

  auto r = runRelocated(root, "--help");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("compress"));
  r = runRelocated(root, "runs list --db " + db);
  EXPECT_EQ(r.code, 0) << r.err;
  r = runRelocated(root, "runs show 7 --db " + db);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("no run with id 7"));

  // A command that needs LibTorch says which program is missing and where it looked.
  r = runRelocated(root, "info model");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot start the LibTorch half of ranklab-cli, ranklab-cli-torch; tried " +
                               (root / "bin" / "ranklab-cli-torch").string()));
  EXPECT_THAT(r.err, HasSubstr((root / "lib" / "ranklab" / "ranklab-cli-torch").string()));
  fs::remove_all(root);
}
