// SentencePiece .model via libsentencepiece (internal to core/tokenize; use loadTokenizer).
// libsentencepiece is reached through the dlopen()ed ranklab_spm_bridge module (see spm_bridge.h).
// encode = EncodeAsIds, decode = DecodeIds (control pieces such as BOS/EOS/PAD decode to nothing).
// bos/eos/unk/pad ids are the processor's (-1 when the model has none).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tokenize/tokenizer.h"

namespace ranklab::tokenize {

// Throws ranklab::Error naming the file when libsentencepiece cannot load it.
std::unique_ptr<Tokenizer> loadSentencePieceModel(const std::filesystem::path& modelFile);

// SentencePieceTrainer::Train with its flag string ("--input=F --model_prefix=P --vocab_size=N ...");
// for tests and tools. Throws ranklab::Error.
void trainSentencePiece(const std::string& flags);

namespace detail {

// The output callbacks handed to the bridge. They run inside libsentencepiece's call frames in the
// dlmopen()ed module, where a C++ exception must not pass, so they never throw: a failure to store
// the output (bad_alloc, length_error) sets `failed` (and `requested`), and the caller throws
// ranklab::Error after the bridge has returned.
struct SpmIdSinkContext {
  std::vector<int64_t> ids;
  size_t requested = 0;
  bool failed = false;
};
struct SpmTextSinkContext {
  std::string text;
  size_t requested = 0;
  bool failed = false;
};
void spmIdSink(void* ctx, const int* ids, size_t count) noexcept;
void spmTextSink(void* ctx, const char* text, size_t size) noexcept;

}  // namespace detail

}  // namespace ranklab::tokenize
