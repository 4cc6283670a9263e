// Where RankLab's shipped resources (demo models, data, tokenizers) are found. Torch-free.
#pragma once

#include <filesystem>
#include <string>

namespace ranklab {

// The resources directory: $RANKLAB_RESOURCES when set; else `resources` next to the executable's
// parent directory (an installed or relocated tree: <prefix>/bin/ranklab-cli -> <prefix>/resources,
// also <prefix>/share/ranklab/resources); else the source tree this binary was built from. The first
// candidate that exists wins; when none does, the source-tree path is returned (callers name it in
// their error).
std::filesystem::path resourcesDir();

// resourcesDir()/models/<name>; throws ranklab::Error naming the path and how to rebuild the shipped
// models when the directory lacks a config.json.
std::filesystem::path shippedModel(const std::string& name);

}  // namespace ranklab
