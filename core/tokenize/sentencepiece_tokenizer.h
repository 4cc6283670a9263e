// SentencePiece .model via libsentencepiece (internal to core/tokenize; use loadTokenizer).
// libsentencepiece is reached through the dlopen()ed ranklab_spm_bridge module (see spm_bridge.h).
// encode = EncodeAsIds, decode = DecodeIds (control pieces such as BOS/EOS/PAD decode to nothing).
// bos/eos/unk/pad ids are the processor's (-1 when the model has none).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "tokenize/tokenizer.h"

namespace ranklab::tokenize {

// Throws ranklab::Error naming the file when libsentencepiece cannot load it.
std::unique_ptr<Tokenizer> loadSentencePieceModel(const std::filesystem::path& modelFile);

// SentencePieceTrainer::Train with its flag string ("--input=F --model_prefix=P --vocab_size=N ...");
// for tests and tools. Throws ranklab::Error.
void trainSentencePiece(const std::string& flags);

}  // namespace ranklab::tokenize
