// Runs the real ranklab-cli binary from tests and captures exit code, stdout and stderr
// (header-only; POSIX popen), and parses what --json printed.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "test_paths.h"

namespace ranklab::test {

struct CliRun {
  int code = -1;
  std::string out, err;
};

// Runs `binary args` through the shell (args are shell words).
inline CliRun runBinary(const std::string& binary, const std::string& args) {
  static std::atomic<int> counter{0};
  const auto errFile = std::filesystem::temp_directory_path() /
                       ("ranklab_cli_err_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  const std::string cmd = binary + " " + args + " 2>" + errFile.string();
  CliRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(errFile);
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  std::filesystem::remove(errFile);
  return r;
}

// Parses stdout as the one JSON object --json promises; a failure (exit code or text) is a test
// failure that names the command's stderr, and the result an empty object.
inline nlohmann::json parse(const CliRun& r) {
  EXPECT_EQ(r.code, 0) << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const nlohmann::json::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "): " << r.out << "\nstderr: " << r.err;
    return nlohmann::json::object();
  }
}

// Runs the build tree's ranklab-cli.
inline CliRun runCli(const std::string& args) {
  return runBinary(std::string(RANKLAB_BINARY_DIR) + "/app/ranklab-cli", args);
}

}  // namespace ranklab::test
