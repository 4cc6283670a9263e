#include "api/inspect.h"

#include "models/loader.h"

namespace ranklab::api {

ModelSummary inspectModel(const std::string& path, const std::string& tokenizerPath) {
  models::LoadOptions options;
  options.device = "cpu";
  options.tokenizerPath = tokenizerPath;
  return models::loadModel(path, options).summary();
}

}  // namespace ranklab::api
