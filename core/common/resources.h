// Where RankLab's shipped resources (demo models, data, tokenizers) are found. Torch-free.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ranklab {

// The folders searched for the resources, in order: $RANKLAB_RESOURCES when set (it alone, so a user
// who names a folder never gets another one); else <executable's folder>/../share/ranklab (an
// installed or relocated tree: /usr/bin/ranklab-cli -> /usr/share/ranklab; a private program in
// <prefix>/lib/ranklab uses <prefix>/share/ranklab); then, only for a binary
// that runs from its build tree, the source tree's resources/ it was built from. An installed binary
// never looks at a path compiled into it.
std::vector<std::filesystem::path> resourceCandidates();

// The first candidate that exists ($RANKLAB_RESOURCES: that folder if it is one; the others: a folder
// holding models/ or data/), or nothing.
std::optional<std::filesystem::path> findResourcesDir();

// findResourcesDir(), or throws ranklab::Error naming every folder searched.
std::filesystem::path resourcesDir();

// resourcesDir() / relative when that exists; else throws ranklab::Error naming the file and every
// folder searched.
std::filesystem::path resourcePath(const std::filesystem::path& relative);

// resourcesDir()/models/<name> (a directory with a config.json); throws ranklab::Error naming the
// folders searched and how to rebuild the shipped models otherwise.
std::filesystem::path shippedModel(const std::string& name);

// True when this process's executable lies inside the build tree it was built in (tests, build/app/*).
// Only such a binary may use paths compiled into it.
bool runsFromBuildTree();

}  // namespace ranklab
