#include "jobs/sweep.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "api/protocol.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "common/hash.h"
#include "jobs/job.h"
#include "jobs/job_runner.h"
#include "jobs/job_spec.h"
#include "store/run_store.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace ranklab::jobs {

namespace {

// Keys that name where a run goes rather than what it is: one value for the whole sweep.
const std::set<std::string> kFixedKeys{"db", "store", "export", "sweep_id"};
// Axes that decide the decomposition (its cache key) go outermost, so that points sharing one run
// back to back.
const std::vector<std::string> kSharingOrder{"model",     "tokenizer",     "decomposition",
                                             "calib",     "calib_samples", "calib_length",
                                             "separator", "seed",          "randomized_svd"};

bool isAxis(const json& value, const json& defaultValue) {
  if (!value.is_array()) return false;
  if (defaultValue.is_array())
    return !value.empty() &&
           std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_array(); });
  return true;
}

bool validSweepId(const std::string& id) {
  return !id.empty() && id.size() <= 100 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

SweepGrid expandSweep(const json& gridIn, const std::string& context) {
  if (!gridIn.is_object())
    throw Error(context + ": a sweep grid must be a JSON object (a job spec with lists in place of values)");
  json grid = gridIn;
  grid.erase("_details");
  const json defaults = toJson(api::JobSpec{});
  json base = json::object();
  std::vector<std::pair<std::string, json>> axes;
  for (const auto& item : grid.items()) {
    const std::string& key = item.key();
    if (!defaults.contains(key)) throw Error(context + ": unknown job spec key '" + key + "'");
    if (isAxis(item.value(), defaults[key])) {
      if (kFixedKeys.count(key))
        throw Error(context + ": '" + key + "' is one value for the whole sweep, not a list");
      if (item.value().empty())
        throw Error(context + ": '" + key + "' is an empty list: the sweep would have no points");
      axes.emplace_back(key, item.value());
    } else {
      base[key] = item.value();
    }
  }
  if (base.contains("export") && base["export"].is_string() && !base["export"].get<std::string>().empty())
    throw Error(context +
                ": 'export' would make every point of the sweep write the same directory; export single runs "
                "instead");
  std::stable_sort(axes.begin(), axes.end(), [](const auto& a, const auto& b) {
    auto rank = [](const std::string& k) {
      const auto it = std::find(kSharingOrder.begin(), kSharingOrder.end(), k);
      return static_cast<size_t>(it - kSharingOrder.begin());
    };
    return rank(a.first) < rank(b.first);
  });

  // Every point is expanded and validated before the first one runs: a grid too large to run (a list
  // pasted into the wrong key, one axis too many) is refused before it takes minutes to expand.
  double combinations = 1.0;
  std::string product;
  for (const auto& a : axes) {
    combinations *= static_cast<double>(a.second.size());
    product += (product.empty() ? "" : " x ") + a.first + " " + std::to_string(a.second.size());
  }
  if (combinations > static_cast<double>(kMaxSweepPoints)) {
    std::ostringstream count;
    count.precision(0);
    count << std::fixed << combinations;
    throw Error(context + ": the grid has " + count.str() + " points (" + product +
                "); a sweep runs at most " + std::to_string(kMaxSweepPoints) +
                ": split it into several grids");
  }

  SweepGrid out;
  for (const auto& a : axes) out.axes.push_back(a.first);
  std::vector<size_t> at(axes.size(), 0);
  std::set<std::string> seen;
  std::string hashes;
  for (size_t n = 0;; ++n) {
    json point = base;
    for (size_t i = 0; i < axes.size(); ++i) point[axes[i].first] = axes[i].second[at[i]];
    std::ostringstream where;
    where << context << ", point " << n;
    for (size_t i = 0; i < axes.size(); ++i)
      where << (i ? ", " : " (") << axes[i].first << " = " << axes[i].second[at[i]].dump()
            << (i + 1 == axes.size() ? ")" : "");
    auto spec = jobSpecFromJson(point, where.str());
    // Every point is checked before the first one runs: a bad value stops the sweep with nothing stored.
    try {
      validateSpec(spec);
    } catch (const Error& e) {
      throw Error(where.str() + ": " + e.what());
    }
    const std::string h = specHash(spec);
    if (seen.insert(h).second) {
      out.points.push_back(std::move(spec));
      hashes += h;
    }
    // Odometer: the last axis turns fastest; a carry out of the first axis ends the grid.
    bool carry = true;
    for (size_t i = axes.size(); carry && i > 0; --i) {
      carry = ++at[i - 1] == axes[i - 1].second.size();
      if (carry) at[i - 1] = 0;
    }
    if (carry) break;
  }

  const std::string given =
      base.contains("sweep_id") && base["sweep_id"].is_string() ? base["sweep_id"].get<std::string>() : "";
  if (!given.empty() && !validSweepId(given))
    throw Error(context + ": sweep_id '" + given +
                "' may use only letters, digits, '-', '_' and '.' (at most 100)");
  out.id = !given.empty() ? given : "sweep-" + sha256Hex(hashes).substr(0, 12);
  for (auto& p : out.points) p.sweepId = out.id;
  return out;
}

SweepGrid loadSweep(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(file.string() + ": cannot read the sweep grid (" + std::strerror(errno) + ")");
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    throw Error(file.string() + ": not valid JSON (" + e.what() + ")");
  }
  return expandSweep(j, file.string());
}

SweepPlan planSweep(const SweepGrid& grid, const store::RunStore& db) {
  store::RunFilter filter;
  filter.sweepId = grid.id;
  std::multimap<std::string, api::RunRecord> byHash;
  for (auto& r : db.listRuns(filter))
    if (r.sweepId == grid.id) byHash.emplace(r.specHash, std::move(r));
  SweepPlan plan;
  for (size_t i = 0; i < grid.points.size(); ++i) {
    const auto range = byHash.equal_range(specHash(grid.points[i]));
    const auto done = std::find_if(range.first, range.second,
                                   [](const auto& kv) { return kv.second.status == "succeeded"; });
    if (done != range.second) {
      plan.finished.push_back(i);
      plan.finishedRuns.push_back(done->second);
      continue;
    }
    plan.pending.push_back(i);
    for (auto it = range.first; it != range.second; ++it) plan.staleRuns.push_back(it->second.id);
  }
  return plan;
}

SweepPlan resumeSweep(const SweepGrid& grid, store::RunStore& db) {
  auto plan = planSweep(grid, db);
  for (int64_t id : plan.staleRuns) db.discardRun(id);
  return plan;
}

std::string sweepDatabase(const SweepGrid& grid, const std::string& override) {
  if (!override.empty()) return override;
  if (!grid.points.empty() && !grid.points.front().db.empty()) return grid.points.front().db;
  return store::RunStore::defaultPath().string();
}

SweepLock::SweepLock(const fs::path& database, const std::string& sweepId) {
  m_file = database;
  m_file += ".sweep-" + (validSweepId(sweepId) ? sweepId : sha256Hex(sweepId).substr(0, 12)) + ".lock";
  m_fd = ::open(m_file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (m_fd < 0)
    throw Error(m_file.string() + ": cannot create the sweep's lock file (" + std::strerror(errno) + ")");
  if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(m_fd);
    m_fd = -1;
    if (err == EWOULDBLOCK)
      throw Error(database.string() + ": sweep " + sweepId +
                  " is already running in another process (it holds " + m_file.string() + ")");
    throw Error(m_file.string() + ": cannot lock (" + std::strerror(err) + ")");
  }
}

SweepLock::~SweepLock() {
  if (m_fd >= 0) ::close(m_fd);  // releases the flock; the file stays (removing it would race a new holder)
}

SweepReport runSweep(const SweepGrid& grid, const SweepOptions& options, ProgressSink& progress,
                     CancelToken& cancel) {
  const auto started = std::chrono::steady_clock::now();
  SweepReport report;
  report.id = grid.id;
  report.points = grid.points.size();
  report.db = sweepDatabase(grid, options.db);
  if (report.db == ":memory:") throw Error("a sweep needs a database file to resume from, not :memory:");
  for (const auto& p : grid.points)
    if (!p.store)
      throw Error("sweep " + grid.id +
                  ": every point must be stored (\"store\": false leaves nothing to resume from)");

  store::RunStore db(report.db);
  SweepLock lock(report.db, grid.id);
  const auto plan = resumeSweep(grid, db);
  report.staleRunsRemoved = static_cast<int64_t>(plan.staleRuns.size());
  report.results.resize(grid.points.size());
  for (size_t i = 0; i < grid.points.size(); ++i) report.results[i].index = i;

  for (size_t f = 0; f < plan.finished.size(); ++f) {
    const api::RunRecord& run = plan.finishedRuns[f];
    auto& res = report.results[plan.finished[f]];
    res.status = "skipped";
    res.runId = run.id;
    res.name = run.name;
    res.seconds = run.seconds;
    res.metric = run.metric;
    res.metricAfter = run.metricAfter;
    res.keptFraction = run.keptFraction;
    if (!run.metric.empty()) {
      res.comparisonGroup = api::comparisonGroup(run);
      res.evaluatedOn = api::groupLabel(run);
    }
    ++report.skipped;
    if (options.onPoint) options.onPoint(res, report);
  }

  JobRunner runner;
  for (size_t i : plan.pending) {
    if (cancel.isCancelled()) {
      report.cancelled = true;
      break;
    }
    api::JobSpec spec = grid.points[i];
    spec.db = report.db;
    const auto outcome = runner.run(spec, progress, cancel);
    auto& res = report.results[i];
    res.status = outcome.status;
    res.runId = outcome.data.run.id;
    res.name = outcome.data.run.name;
    res.error = outcome.error;
    res.seconds = outcome.data.run.seconds;
    res.metric = outcome.data.run.metric;
    res.metricAfter = outcome.data.run.metricAfter;
    res.keptFraction = outcome.data.run.keptFraction;
    if (!outcome.data.run.metric.empty()) {
      res.comparisonGroup = api::comparisonGroup(outcome.data.run);
      res.evaluatedOn = api::groupLabel(outcome.data.run);
    }
    res.decompositionFromCache = outcome.decompositionFromCache;
    res.beforeFromEarlierJob = outcome.beforeFromEarlierJob;
    if (outcome.status == "cancelled") {
      report.cancelled = true;
      if (options.onPoint) options.onPoint(res, report);
      break;
    }
    if (outcome.status == "succeeded") {
      ++report.succeeded;
      if (!outcome.decompositionFromCache) ++report.decompositionsComputed;
      if (outcome.beforeFromEarlierJob) ++report.evaluationsShared;
    } else {
      ++report.failed;
    }
    if (options.onPoint) options.onPoint(res, report);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

namespace {

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string absoluteOrEmpty(const std::string& p) {
  if (p.empty()) return p;
  std::error_code ec;
  const auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

}  // namespace

size_t emitSlurm(const SweepGrid& grid, const fs::path& dirIn, const SlurmOptions& options) {
  if (grid.points.empty()) throw Error("sweep " + grid.id + " has no points to emit");
  if (options.cli.empty()) throw Error("emitSlurm: the ranklab-cli path is missing");
  if (options.gpusPerTask < 0 || options.cpusPerTask < 0)
    throw Error("--gpus-per-task and --cpus-per-task must not be negative");
  const fs::path dir = fs::absolute(dirIn).lexically_normal();
  std::error_code ec;
  fs::create_directories(dir / "logs", ec);
  if (ec) throw Error(dir.string() + ": cannot create the Slurm directory (" + ec.message() + ")");

  for (size_t i = 0; i < grid.points.size(); ++i) {
    api::JobSpec spec = grid.points[i];
    // Tasks run wherever Slurm starts them: absolute paths, one shared decomposition cache.
    spec.model = absoluteOrEmpty(spec.model);
    spec.tokenizer = absoluteOrEmpty(spec.tokenizer);
    spec.calib = absoluteOrEmpty(spec.calib);
    spec.train = absoluteOrEmpty(spec.train);
    spec.evalText = absoluteOrEmpty(spec.evalText);
    spec.evalLabelled = absoluteOrEmpty(spec.evalLabelled);
    spec.evalChoices = absoluteOrEmpty(spec.evalChoices);
    spec.cacheDir = spec.cacheDir.empty() ? (dir / "cache").string() : absoluteOrEmpty(spec.cacheDir);
    spec.db.clear();  // each task writes its own shard (--db)
    writeFileAtomically(dir / ("task-" + std::to_string(i) + ".json"), toJson(spec).dump(2) + "\n");
  }

  const size_t n = grid.points.size();
  std::ostringstream sb;
  sb << "#!/bin/bash\n"
     << "# RankLab sweep " << grid.id << ": " << n
     << " points, one array task each. Written by ranklab-cli sweep --emit-slurm.\n"
     << "#SBATCH --job-name=ranklab-" << grid.id << "\n"
     << "#SBATCH --array=0-" << n - 1 << "\n"
     << "#SBATCH --ntasks=1\n"
     << "#SBATCH --output=" << (dir / "logs" / "task-%a.out").string() << "\n";
  if (!options.partition.empty()) sb << "#SBATCH --partition=" << options.partition << "\n";
  if (options.gpusPerTask > 0) sb << "#SBATCH --gpus-per-task=" << options.gpusPerTask << "\n";
  if (options.cpusPerTask > 0) sb << "#SBATCH --cpus-per-task=" << options.cpusPerTask << "\n";
  if (!options.time.empty()) sb << "#SBATCH --time=" << options.time << "\n";
  sb << "set -euo pipefail\n"
     << "dir=" << shellQuote(dir.string()) << "\n"
     << "i=${SLURM_ARRAY_TASK_ID:?run this script with sbatch (or set SLURM_ARRAY_TASK_ID)}\n"
     << "exec " << shellQuote(options.cli)
     << " run \"$dir/task-$i.json\" --db \"$dir/shard-$i.db\" --skip-finished\n";
  writeFileAtomically(dir / "sweep.sbatch", sb.str());
  fs::permissions(dir / "sweep.sbatch",
                  fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add, ec);

  std::ostringstream rd;
  rd << "RankLab sweep " << grid.id << " (" << n << " tasks)\n\n"
     << "Submit:   sbatch " << shellQuote((dir / "sweep.sbatch").string()) << "\n"
     << "Merge:    " << shellQuote(options.cli) << " merge " << shellQuote(dir.string())
     << "/shard-*.db --db RUNS.db\n"
     << "Resubmit: sbatch again re-runs only the tasks whose shard has no finished run (--skip-finished).\n\n"
     << "task-I.json is point I's job spec; shard-I.db its run database; logs/task-I.out its output.\n";
  writeFileAtomically(dir / "README.txt", rd.str());
  return n;
}

}  // namespace ranklab::jobs
