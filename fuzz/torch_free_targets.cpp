#include "fuzz/torch_free_targets.h"

#include <algorithm>
#include <vector>

#include "fuzz/fuzz_io.h"
#include "tokenize/tokenizer.h"

namespace ranklab::fuzz {

std::string sentencePiece(const uint8_t* d, size_t n) {
  const auto file = writeInput("tokenizer.model", d, n);
  return guarded([&] {
    const auto tok = tokenize::loadTokenizer(file);
    const auto ids = tok->encode("Once upon a time, 3 cats\tsaw \xc3\xa9t\xc3\xa9  <unk> <s>\n");
    tok->decode(ids);
    std::vector<int64_t> every;  // each piece of the vocabulary, as the spectra views' labels do
    for (int64_t id = 0; id < std::min<int64_t>(tok->vocabSize(), 4096); ++id) every.push_back(id);
    tok->decode(every);
    int64_t previous = -1;
    for (const int64_t id : ids) {
      tok->decodeNext(previous, id);
      previous = id;
    }
  });
}

}  // namespace ranklab::fuzz
