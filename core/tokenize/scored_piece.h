// llama2.c / SentencePiece-style scored-piece tokenizer (internal to core/tokenize; use loadTokenizer
// or makeScoredPieceTokenizer from tokenizer.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "tokenize/tokenizer.h"

namespace ranklab::tokenize {

// Reads a llama2.c tokenizer.bin. `vocabSize` pieces are read; -1 reads pieces until the end of the
// file. ids 0, 1, 2 are <unk>, BOS, EOS as in llama2.c. Throws ranklab::Error naming the file on a
// truncated or malformed file.
std::unique_ptr<Tokenizer> loadLlama2cTokenizer(const std::filesystem::path& path, int64_t vocabSize);

}  // namespace ranklab::tokenize
