// ranklab-cli sweep / merge: a grid of jobs into one database, resumably, here or as a Slurm array job
// whose shards merge folds back together.
#include "cli/commands_sweep.h"

#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command_table.h"
#include "cli/reports.h"
#include "cli/terminal.h"
#include "common/error.h"
#include "common/progress.h"
#include "jobs/job_spec.h"
#include "store/run_store.h"

namespace ranklab::cli {

using nlohmann::json;

namespace {

json pointJson(const jobs::SweepPointResult& r, size_t total) {
  return {{"point", r.index},
          {"points", total},
          {"status", r.status},
          {"run_id", r.runId},
          {"name", r.name},
          {"seconds", r.seconds},
          {"kept_fraction", r.keptFraction},
          {"metric", r.metric},
          {"metric_after", numberOrNull(r.metricAfter)},
          {"evaluated_on", r.evaluatedOn.empty() ? json() : json(r.evaluatedOn)},
          {"decomposition_from_cache", r.decompositionFromCache},
          {"before_shared", r.beforeFromEarlierJob},
          {"error", r.error}};
}

// --emit-slurm DIR: one task spec per point and the sbatch script, nothing run here.
int emitSlurmJob(const jobs::SweepGrid& grid, const SweepOptions& o) {
  jobs::SlurmOptions slurm = o.slurm;
  // The launcher that started this process (cli/front.h), else this program itself.
  if (const char* front = std::getenv("RANKLAB_CLI_FRONT"); front && *front) {
    slurm.cli = front;
  } else {
    std::error_code ec;
    slurm.cli = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec) throw Error("cannot find this ranklab-cli's own path (/proc/self/exe): " + ec.message());
  }
  const size_t n = jobs::emitSlurm(grid, o.emitSlurmDir, slurm);
  const auto dir = std::filesystem::absolute(o.emitSlurmDir).lexically_normal().string();
  if (o.asJson) {
    printJson({{"sweep_id", grid.id}, {"tasks", n}, {"dir", dir}, {"script", dir + "/sweep.sbatch"}});
  } else {
    std::cout << "sweep " << grid.id << ": " << n << " tasks written to " << dir << "\n"
              << "submit:  sbatch " << dir << "/sweep.sbatch\n"
              << "merge:   " << slurm.cli << " merge " << dir << "/shard-*.db --db RUNS.db\n";
  }
  return 0;
}

// --dry-run: the points and which of them are finished.
int printPlan(const jobs::SweepGrid& grid, const std::string& path, bool asJson) {
  store::RunStore db(path);
  const auto plan = jobs::planSweep(grid, db);
  std::vector<bool> finished(grid.points.size(), false);
  for (size_t i : plan.finished) finished[i] = true;
  if (asJson) {
    json points = json::array();
    for (size_t i = 0; i < grid.points.size(); ++i) {
      json p = jobs::toJson(grid.points[i]);
      p["_finished"] = static_cast<bool>(finished[i]);
      points.push_back(p);
    }
    printJson({{"sweep_id", grid.id},
               {"db", path},
               {"axes", grid.axes},
               {"points", points},
               {"finished", plan.finished.size()},
               {"stale_runs", plan.staleRuns.size()}});
    return 0;
  }
  std::cout << "sweep " << grid.id << " in " << path << ": " << grid.points.size() << " points, "
            << plan.finished.size() << " finished\n";
  for (size_t i = 0; i < grid.points.size(); ++i) {
    const auto& p = grid.points[i];
    std::cout << std::setw(4) << i << "  " << (finished[i] ? "finished" : "pending ") << "  "
              << p.decomposition << "+" << p.selector << " p=" << p.keep << " seed=" << p.seed << "  "
              << p.model << "\n";
  }
  return 0;
}

}  // namespace

// --- sweep ---------------------------------------------------------------------------------

CLI::App* addSweep(CLI::App& app, SweepOptions& o) {
  auto* sw = app.add_subcommand("sweep", commandDescription("sweep"));
  sw->add_option("GRID", o.gridFile, "Sweep grid JSON: job spec keys, any of them a list")
      ->required()
      ->check(CLI::ExistingFile);
  sw->add_option(
      "--db", o.db,
      "Run database (overrides the grid's; default: $RANKLAB_DB or ~/.local/share/ranklab/runs.db)");
  sw->add_flag("--dry-run", o.dryRun, "List the points and which are finished; run nothing");
  sw->add_option("--emit-slurm", o.emitSlurmDir,
                 "Write one task spec per point and an sbatch array script into DIR instead of running");
  sw->add_option("--partition", o.slurm.partition, "Slurm partition (with --emit-slurm)");
  sw->add_option("--gpus-per-task", o.slurm.gpusPerTask, "GPUs per array task (with --emit-slurm)");
  sw->add_option("--cpus-per-task", o.slurm.cpusPerTask, "CPUs per array task (with --emit-slurm)");
  sw->add_option("--time", o.slurm.time, "Time limit per array task, e.g. 02:00:00 (with --emit-slurm)");
  sw->add_flag("--json", o.asJson,
               "One JSON object per point on stdout as it finishes, then the sweep's report");
  return sw;
}

int runSweep(const SweepOptions& o) {
  const auto grid = jobs::loadSweep(o.gridFile);
  if (!o.emitSlurmDir.empty()) return emitSlurmJob(grid, o);
  const std::string path = jobs::sweepDatabase(grid, o.db);
  if (o.dryRun) return printPlan(grid, path, o.asJson);
  CancelToken cancel;
  StderrProgress progress(!o.asJson);
  jobs::SweepOptions options;
  options.db = path;
  options.onPoint = [&](const jobs::SweepPointResult& r, const jobs::SweepReport& report) {
    if (o.asJson) {
      printJson(pointJson(r, report.points));
      return;
    }
    std::cout << "[" << r.index + 1 << "/" << report.points << "] " << std::left << std::setw(26) << r.name
              << std::setw(10) << r.status << std::right << std::fixed << std::setprecision(4)
              << " p=" << r.keptFraction << "  " << r.metric << " " << metricText(r.metric, r.metricAfter)
              << std::setprecision(1) << "  " << r.seconds << " s"
              << (r.status == "succeeded" && !r.decompositionFromCache ? "  (decomposed)" : "")
              << (r.error.empty() ? "" : "  " + r.error) << std::endl;
  };
  const auto report = [&] {
    CancelOnInterrupt interrupts(cancel);
    return jobs::runSweep(grid, options, progress, cancel);
  }();
  if (o.asJson) {
    printJson({{"sweep_id", report.id},
               {"db", report.db},
               {"points", report.points},
               {"skipped", report.skipped},
               {"succeeded", report.succeeded},
               {"failed", report.failed},
               {"cancelled", report.cancelled},
               {"stale_runs_removed", report.staleRunsRemoved},
               {"decompositions_computed", report.decompositionsComputed},
               {"evaluations_shared", report.evaluationsShared},
               {"seconds", report.seconds}});
  } else {
    std::cout << "sweep " << report.id << ": " << report.succeeded << " succeeded, " << report.failed
              << " failed, " << report.skipped << " finished earlier"
              << (report.staleRunsRemoved
                      ? ", " + std::to_string(report.staleRunsRemoved) + " half-done runs re-run"
                      : "")
              << "; " << report.decompositionsComputed << " decomposition(s) computed, "
              << report.evaluationsShared << " dense evaluation(s) reused; " << std::fixed
              << std::setprecision(1) << report.seconds << " s\nruns in " << report.db
              << " (ranklab-cli runs list --sweep " << report.id << ")\n";
    std::map<std::string, std::pair<std::string, int>> groups;  // group -> (label, points)
    for (const auto& r : report.results)
      if (!r.comparisonGroup.empty()) {
        groups[r.comparisonGroup].first = r.evaluatedOn;
        ++groups[r.comparisonGroup].second;
      }
    if (groups.size() > 1) {
      std::cout << "note: the points were evaluated " << groups.size()
                << " different ways; their metrics compare only within one:\n";
      for (const auto& [key, g] : groups)
        std::cout << "  " << g.second << (g.second == 1 ? " point" : " points") << " on " << g.first << "\n";
    }
  }
  if (report.cancelled) {
    std::cerr << "ranklab-cli: sweep cancelled; run it again to resume\n";
    return kInterrupted;
  }
  return report.failed > 0 ? kJobFailed : 0;
}

// --- merge ---------------------------------------------------------------------------------

CLI::App* addMerge(CLI::App& app, MergeOptions& o) {
  auto* mg = app.add_subcommand("merge", commandDescription("merge"));
  mg->add_option("SHARDS", o.shards, "Databases to merge from")->required()->check(CLI::ExistingFile);
  mg->add_option("--db", o.db, "Database to merge into (created when missing)")->required();
  mg->add_flag("--json", o.asJson, "Print one JSON object on stdout");
  return mg;
}

int runMerge(const MergeOptions& o) {
  store::RunStore db(o.db);
  json shards = json::array();
  int64_t added = 0, skipped = 0;
  for (const auto& shard : o.shards) {
    const auto r = db.merge(shard);
    added += r.runsAdded;
    skipped += r.runsSkipped;
    shards.push_back({{"shard", shard},
                      {"runs_added", r.runsAdded},
                      {"runs_skipped", r.runsSkipped},
                      {"sensitivity_added", r.sensitivityAdded}});
    if (!o.asJson)
      std::cout << shard << ": " << r.runsAdded << " runs added, " << r.runsSkipped << " already present\n";
  }
  if (o.asJson)
    printJson(
        {{"db", db.file().string()}, {"runs_added", added}, {"runs_skipped", skipped}, {"shards", shards}});
  else
    std::cout << "merged " << o.shards.size() << " database(s) into " << db.file().string() << ": " << added
              << " runs added, " << skipped << " already present\n";
  return 0;
}

}  // namespace ranklab::cli
