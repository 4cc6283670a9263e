// The C interface of ranklab_spm_bridge, a small shared module that wraps libsentencepiece.
//
// Why a bridge: Debian's libsentencepiece embeds its own protobuf 3.14 and exports those symbols,
// while LibTorch loads the system libprotobuf 3.21. A process that links both crashes during
// start-up (libprotobuf's initialisers bind to sentencepiece's copies). RankLab therefore never
// links libsentencepiece into a process: the bridge is loaded with dlmopen(LM_ID_NEWLM) into a link
// namespace of its own, where sentencepiece binds to its own protobuf and nothing else sees it.
// (dlopen with RTLD_DEEPBIND was tried: it breaks libstdc++'s copy-relocated globals such as
// std::cerr.) Only C types cross the boundary, and memory never changes hands: results are
// copied out through the caller's sink callbacks.
#pragma once

#include <stddef.h>
#include <stdint.h>

extern "C" {

// Receives output produced by the bridge; `ctx` is the caller's.
typedef void (*RlSpmIdSink)(void* ctx, const int* ids, size_t count);
typedef void (*RlSpmTextSink)(void* ctx, const char* text, size_t size);

// All functions return 0 on success; on failure they write a message to err (NUL-terminated,
// at most errSize bytes) and return non-zero.
int rl_spm_load(const char* path, void** handle, char* err, size_t errSize);
void rl_spm_free(void* handle);
int rl_spm_encode(void* handle, const char* text, size_t size, RlSpmIdSink sink, void* ctx, char* err,
                  size_t errSize);
int rl_spm_decode(void* handle, const int* ids, size_t count, RlSpmTextSink sink, void* ctx, char* err,
                  size_t errSize);
// Special ids (-1 when absent) and the vocabulary size.
int rl_spm_info(void* handle, int* vocabSize, int* bos, int* eos, int* unk, int* pad);
// SentencePieceTrainer::Train with a flag string ("--input=... --model_prefix=..."), for tests and tools.
int rl_spm_train(const char* args, char* err, size_t errSize);
}
