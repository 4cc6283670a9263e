// Helpers shared by the io tests: scratch directories and "throws ranklab::Error whose message
// contains X" checks.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"

namespace ranklab::io::test {

// A fresh directory under the system temp dir, removed when the object goes out of scope.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string name = std::string("ranklab_io_") + (info ? info->name() : "test") + "_" +
                             std::to_string(::getpid()) + "_" + std::to_string(counter++);
    m_path = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(m_path);
    std::filesystem::create_directories(m_path);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  std::filesystem::path operator/(const std::string& leaf) const { return m_path / leaf; }
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

inline std::vector<char> readBytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void writeBytes(const std::filesystem::path& file, const std::vector<char>& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace ranklab::io::test

// Runs `statement`, which must throw ranklab::Error with a message containing each substring.
#define EXPECT_RANKLAB_ERROR(statement, ...)                                \
  do {                                                                      \
    bool thrown = false;                                                    \
    try {                                                                   \
      statement;                                                            \
    } catch (const ::ranklab::Error& e) {                                   \
      thrown = true;                                                        \
      for (const std::string& part : std::vector<std::string>{__VA_ARGS__}) \
        EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr(part));     \
    }                                                                       \
    EXPECT_TRUE(thrown) << "expected ranklab::Error from: " #statement;     \
  } while (0)
