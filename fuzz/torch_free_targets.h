// Fuzz targets that run without LibTorch in the process (see fuzz/CMakeLists.txt): targets.cpp lists
// them with the others, and each also gets a libFuzzer executable of its own that links no torch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ranklab::fuzz {

// A SentencePiece .model file (a serialised ModelProto), loaded through RankLab's bridge module and
// libsentencepiece, then used to encode and decode text.
std::string sentencePiece(const uint8_t* data, size_t size);

}  // namespace ranklab::fuzz
