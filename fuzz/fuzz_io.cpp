#include "fuzz/fuzz_io.h"

#include <unistd.h>

#include <fstream>

namespace fs = std::filesystem;

namespace ranklab::fuzz {

const fs::path& scratch() {
  // Removed when the process exits normally (libFuzzer's time limit, the end of a replay).
  struct Folder {
    fs::path path = fs::temp_directory_path() / ("ranklab-fuzz-" + std::to_string(::getpid()));
    Folder() { fs::create_directories(path); }
    ~Folder() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static const Folder folder;
  return folder.path;
}

fs::path writeInput(const std::string& name, const uint8_t* data, size_t size) {
  const fs::path file = scratch() / name;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return file;
}

std::string firstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace ranklab::fuzz
