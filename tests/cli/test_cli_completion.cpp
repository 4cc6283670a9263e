// `ranklab-cli completion bash`: the generated script, sourced into a real bash, completes
// subcommands, nested subcommands, options and the values of options with a fixed set of choices.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli_runner.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

class CliCompletion : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto r = ranklab::test::runCli("completion bash");
    ASSERT_EQ(r.code, 0) << r.err;
    script() = fs::temp_directory_path() / ("ranklab_completion_" + std::to_string(::getpid()) + ".bash");
    std::ofstream(script()) << r.out;
  }
  static void TearDownTestSuite() { fs::remove(script()); }
  static fs::path& script() {
    static fs::path path;
    return path;
  }

  // The completions bash offers for `words` (the last one, possibly empty, is completed).
  static std::string complete(const std::vector<std::string>& words) {
    std::string args =
        "-c 'source \"$0\"; COMP_WORDS=(\"$@\"); COMP_WORDS=(ranklab-cli \"${COMP_WORDS[@]}\"); "
        "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _ranklab_cli; echo \"${COMPREPLY[*]}\"' " +
        script().string();
    for (const auto& w : words) args += " '" + w + "'";
    const auto r = ranklab::test::runBinary("bash", args);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
};

}  // namespace

TEST_F(CliCompletion, CompletesSubcommandsOptionsAndChoices) {
  EXPECT_EQ(complete({"com"}), "compress completion");
  EXPECT_EQ(complete({"runs", "l"}), "list");
  EXPECT_EQ(complete({"compress", "--decomp", "w"}), "whiten");
  EXPECT_EQ(complete({"compress", "--select", "a"}), "ars");
  EXPECT_EQ(complete({"eval", "model", "--device", "c"}), "cpu cuda");
  EXPECT_EQ(complete({"compress", "model", "--ars-s"}), "--ars-steps");
  // A value that is a file name: nothing of ours, so bash's default file completion takes over.
  EXPECT_EQ(complete({"compress", "model", "--calib", ""}), "");
}

TEST_F(CliCompletion, OffersEveryCommandTheHelpLists) {
  const auto help = ranklab::test::runCli("--help");
  ASSERT_EQ(help.code, 0);
  std::istringstream lines(help.out.substr(help.out.find("Subcommands:")));
  std::string line;
  std::getline(lines, line);
  int commands = 0;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string command;
    if (!(words >> command)) continue;
    ++commands;
    EXPECT_THAT(complete({command.substr(0, 2)}), HasSubstr(command));
  }
  EXPECT_GE(commands, 16);
}
