#include "models/inspect.h"

#include "models/loader.h"

namespace ranklab::models {

api::ModelSummary inspectModel(const std::string& path, const std::string& tokenizerPath) {
  LoadOptions options;
  options.device = "cpu";
  options.tokenizerPath = tokenizerPath;
  return loadModel(path, options).summary();
}

}  // namespace ranklab::models
