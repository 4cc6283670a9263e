// ranklab::Error: the one exception type core throws for foreseeable failures (bad files, wrong
// shapes, unsupported formats). The message says what went wrong and where, e.g.
// "reading model.safetensors: tensor 'h.3.attn.c_attn.weight' ends at byte 9120448, file has 9000000".
// Torch-free; usable from every layer.
#pragma once

#include <stdexcept>
#include <string>

namespace ranklab {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Thrown by long-running calls when their CancelToken is set. Cancel is not an error: callers
// report it as "cancelled", not as a failure.
class Cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "cancelled"; }
};

// Formats "context: message" for errors raised while handling a named file or object.
std::string errorIn(const std::string& context, const std::string& message);

}  // namespace ranklab
