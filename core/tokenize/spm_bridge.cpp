// ranklab_spm_bridge: see spm_bridge.h for why this module exists. Nothing here may throw across
// the C boundary.
#include "tokenize/spm_bridge.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

int fail(const std::string& message, char* err, size_t errSize) {
  if (err && errSize > 0) {
    const size_t n = std::min(message.size(), errSize - 1);
    std::memcpy(err, message.data(), n);
    err[n] = '\0';
  }
  return 1;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int rl_spm_load(const char* path, void** handle, char* err,
                                                       size_t errSize) {
  try {
    // Owned until it has loaded: Load() may throw (darts_clone does on a zero-length piece), and the
    // processor must not leak then.
    auto p = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = p->Load(path);
    if (!status.ok()) return fail(status.ToString(), err, errSize);
    *handle = p.release();
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what(), err, errSize);
  }
}

__attribute__((visibility("default"))) void rl_spm_free(void* handle) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(handle);
}

__attribute__((visibility("default"))) int rl_spm_encode(void* handle, const char* text, size_t size,
                                                         RlSpmIdSink sink, void* ctx, char* err,
                                                         size_t errSize) {
  try {
    std::vector<int> ids;
    const auto status =
        static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Encode(std::string(text, size), &ids);
    if (!status.ok()) return fail(status.ToString(), err, errSize);
    sink(ctx, ids.data(), ids.size());
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what(), err, errSize);
  }
}

__attribute__((visibility("default"))) int rl_spm_decode(void* handle, const int* ids, size_t count,
                                                         RlSpmTextSink sink, void* ctx, char* err,
                                                         size_t errSize) {
  try {
    std::string text;
    const auto status = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Decode(
        std::vector<int>(ids, ids + count), &text);
    if (!status.ok()) return fail(status.ToString(), err, errSize);
    sink(ctx, text.data(), text.size());
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what(), err, errSize);
  }
}

__attribute__((visibility("default"))) int rl_spm_info(void* handle, int* vocabSize, int* bos, int* eos,
                                                       int* unk, int* pad) {
  const auto* p = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  *vocabSize = p->GetPieceSize();
  *bos = p->bos_id();
  *eos = p->eos_id();
  *unk = p->unk_id();
  *pad = p->pad_id();
  return 0;
}

__attribute__((visibility("default"))) int rl_spm_train(const char* args, char* err, size_t errSize) {
  try {
    const auto status = sentencepiece::SentencePieceTrainer::Train(args);
    if (!status.ok()) return fail(status.ToString(), err, errSize);
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what(), err, errSize);
  }
}
}
