#include "common/error.h"

namespace ranklab {

std::string errorIn(const std::string& context, const std::string& message) {
  return context + ": " + message;
}

}  // namespace ranklab
