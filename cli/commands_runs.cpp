// ranklab-cli runs: browse and edit the run database (list, show, delete, merge, tag, note).
#include "cli/commands_runs.h"

#include <cmath>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "api/protocol.h"
#include "cli/command_table.h"
#include "cli/reports.h"
#include "cli/terminal.h"
#include "common/error.h"
#include "store/run_store.h"

namespace ranklab::cli {

using nlohmann::json;

namespace {

// --db and --json, after each subcommand's own arguments.
void addDbFlags(CLI::App* sub, RunsDbFlags& f) {
  sub->add_option("--db", f.db, "Run database");
  sub->add_flag("--json", f.asJson, "Print one JSON object on stdout");
}

std::string dbPath(const RunsDbFlags& f) {
  return f.db.empty() ? store::RunStore::defaultPath().string() : f.db;
}

void requireRun(store::RunStore& db, int64_t id) {
  if (!db.findRun(id)) throw Error(db.file().string() + ": no run with id " + std::to_string(id));
}

}  // namespace

CLI::App* addRuns(CLI::App& app, std::initializer_list<RunsDbFlags*> subcommands) {
  auto* runs = app.add_subcommand("runs", commandDescription("runs"));
  runs->require_subcommand(1);
  const std::vector<RunsDbFlags*> targets(subcommands);
  runs->add_option_function<std::string>(
      "--db",
      [targets](const std::string& db) {
        for (auto* f : targets) f->db = db;
      },
      "Run database (default: $RANKLAB_DB or ~/.local/share/ranklab/runs.db)");
  runs->add_flag_callback(
      "--json",
      [targets] {
        for (auto* f : targets) f->asJson = true;
      },
      "Print one JSON object on stdout");
  return runs;
}

// --- runs list -----------------------------------------------------------------------------

CLI::App* addRunsList(CLI::App& runs, RunsListOptions& o) {
  auto* sub = runs.add_subcommand("list", "Stored runs, newest first");
  sub->add_option("--filter", o.filter, "Substring of name, model, method, tags or notes");
  sub->add_option("--status", o.status, "running | succeeded | failed | interrupted");
  sub->add_option("--sweep", o.sweep, "Sweep id");
  sub->add_option("--tag", o.tag, "Tag");
  addDbFlags(sub, o.flags);
  return sub;
}

int runRunsList(const RunsListOptions& o) {
  store::RunStore db(dbPath(o.flags));
  store::RunFilter f;
  f.text = o.filter;
  f.status = o.status;
  f.sweepId = o.sweep;
  f.tag = o.tag;
  const auto runs = db.listRuns(f);
  if (o.flags.asJson) {
    json a = json::array();
    for (const auto& r : runs) a.push_back(runJson(r));
    printJson({{"db", db.file().string()}, {"runs", a}});
    return 0;
  }
  // One section per comparison group (base model and evaluation protocol, api/protocol.h): metrics
  // in one section are comparable, metrics in different sections are not. Sections in the order of
  // their newest run; runs without a metric last.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const api::RunRecord*>> sections;
  for (const auto& r : runs) {
    const std::string key = r.metric.empty() ? std::string() : api::comparisonGroup(r);
    auto& section = sections[key];
    if (section.empty() && !key.empty()) order.push_back(key);
    section.push_back(&r);
  }
  if (sections.count("")) order.push_back("");
  if (!runs.empty())
    std::cout << std::left << std::setw(6) << "id" << std::setw(13) << "status" << std::setw(21) << "created"
              << std::setw(8) << "decomp" << std::setw(12) << "selector" << std::right << std::setw(8) << "p"
              << std::setw(12) << "before" << std::setw(12) << "after"
              << "  model\n";
  for (const auto& key : order) {
    const auto& section = sections[key];
    const std::string count = std::to_string(section.size()) + (section.size() == 1 ? " run" : " runs");
    std::cout << "\n"
              << (key.empty() ? "not evaluated"
                              : section.front()->metric + " on " + api::groupLabel(*section.front()))
              << " (" << count << ")\n";
    for (const auto* r : section) {
      const bool kept = r->keptFraction > 0.0 && std::isfinite(r->keptFraction);
      std::ostringstream p;
      if (kept)
        p << std::fixed << std::setprecision(4) << r->keptFraction;
      else
        p << "-";
      std::cout << std::left << std::setw(6) << r->id << std::setw(13) << r->status << std::setw(21)
                << r->createdAt << std::setw(8) << r->decomposition << std::setw(12) << r->selector
                << std::right << std::setw(8) << p.str() << std::setw(12)
                << metricText(r->metric, r->metricBefore) << std::setw(12)
                << metricText(r->metric, r->metricAfter) << "  " << r->modelPath << "\n";
    }
  }
  if (runs.empty()) std::cout << "(no runs in " << db.file().string() << ")\n";
  return 0;
}

// --- runs show -----------------------------------------------------------------------------

CLI::App* addRunsShow(CLI::App& runs, RunsShowOptions& o) {
  auto* sub = runs.add_subcommand("show", "One run: capsule, metrics, per-op ranks");
  sub->add_option("ID", o.id, "Run id")->required();
  sub->add_flag("--spectra", o.spectra, "Include the singular spectra (JSON)");
  addDbFlags(sub, o.flags);
  return sub;
}

int runRunsShow(const RunsShowOptions& o) {
  store::RunStore db(dbPath(o.flags));
  const auto data = db.loadRun(o.id);
  if (o.flags.asJson) {
    json ev = json::array();
    for (const auto& e : data.evals)
      ev.push_back({{"stage", e.stage},
                    {"dataset", e.dataset},
                    {"metric", e.metric},
                    {"kept_fraction", e.keptFraction},
                    {"value", numberOrNull(e.value)},
                    {"count", e.count},
                    {"protocol", protocolJson(e.protocol)}});
    json series = json::array();
    for (const auto& p : data.series)
      series.push_back({{"step", p.step}, {"name", p.name}, {"value", p.value}});
    printJson({{"run", runJson(data.run)},
               {"ops", opsJson(data.ops, o.spectra)},
               {"evals", ev},
               {"series", series},
               {"mask_frames", data.frames.size()}});
    return 0;
  }
  const auto& r = data.run;
  std::cout << "run       " << r.id << " (" << r.uuid << "), " << r.status << "\n"
            << "name      " << r.name << "\n"
            << "created   " << r.createdAt << ", finished " << r.finishedAt << " (" << std::fixed
            << std::setprecision(1) << r.seconds << " s)\n"
            << "model     " << r.modelPath << " (" << r.architecture << ", sha256 "
            << r.modelHash.substr(0, 16) << "...)\n"
            << "method    " << r.decomposition << " + " << r.selector << std::setprecision(4) << ", target p "
            << r.keepTarget << ", achieved p " << r.keptFraction << "\n"
            << "calib     " << (r.calibPath.empty() ? "-" : r.calibPath) << "\n"
            << "eval      " << (r.evalPath.empty() ? "-" : r.evalPath) << "\n"
            << "device    " << r.device << ", seed " << r.seed << "\n";
  for (const auto& e : data.evals)
    std::cout << std::left << std::setw(10) << e.stage << e.metric << " " << metricText(e.metric, e.value)
              << " on " << api::protocolLabel(e.protocol) << "\n";
  if (!r.error.empty()) std::cout << "error     " << r.error << "\n";
  if (!r.tags.empty()) {
    std::cout << "tags     ";
    for (const auto& t : r.tags) std::cout << " " << t;
    std::cout << "\n";
  }
  if (!r.notes.empty()) std::cout << "notes     " << r.notes << "\n";
  std::cout << "\n";
  if (!data.ops.empty()) printOps(data.ops);
  return 0;
}

// --- runs delete ---------------------------------------------------------------------------

CLI::App* addRunsDelete(CLI::App& runs, RunsDeleteOptions& o) {
  auto* sub = runs.add_subcommand("delete", "Delete a run and everything recorded with it");
  sub->add_option("ID", o.id, "Run id")->required();
  sub->add_flag("--force", o.force, "Delete it even while the job that writes it is still running");
  addDbFlags(sub, o.flags);
  return sub;
}

int runRunsDelete(const RunsDeleteOptions& o) {
  store::RunStore db(dbPath(o.flags));
  if (const auto owner = db.liveOwner(o.id); !owner.empty() && !o.force)
    throw Error("run " + std::to_string(o.id) + " is still being written by its job (" + owner +
                "); wait for it to end, or pass --force to delete it anyway (the job then fails)");
  db.deleteRun(o.id);
  if (o.flags.asJson)
    printJson({{"deleted", o.id}});
  else
    std::cout << "deleted run " << o.id << " from " << db.file().string() << "\n";
  return 0;
}

// --- runs merge ----------------------------------------------------------------------------

CLI::App* addRunsMerge(CLI::App& runs, RunsMergeOptions& o) {
  auto* sub = runs.add_subcommand("merge", "Fold the runs of another database into this one (idempotent)");
  sub->add_option("OTHER", o.other, "Database to merge from")->required()->check(CLI::ExistingFile);
  addDbFlags(sub, o.flags);
  return sub;
}

int runRunsMerge(const RunsMergeOptions& o) {
  store::RunStore db(dbPath(o.flags));
  const auto report = db.merge(o.other);
  if (o.flags.asJson)
    printJson({{"runs_added", report.runsAdded},
               {"runs_skipped", report.runsSkipped},
               {"sensitivity_added", report.sensitivityAdded},
               {"db", db.file().string()}});
  else
    std::cout << "merged " << o.other << " into " << db.file().string() << ": " << report.runsAdded
              << " runs added, " << report.runsSkipped << " already present, " << report.sensitivityAdded
              << " sensitivity tables added\n";
  return 0;
}

// --- runs tag ------------------------------------------------------------------------------

CLI::App* addRunsTag(CLI::App& runs, RunsTagOptions& o) {
  auto* sub = runs.add_subcommand("tag", "Set a run's tags");
  sub->add_option("ID", o.id, "Run id")->required();
  sub->add_option("TAGS", o.tags, "Tags (none: clear)");
  addDbFlags(sub, o.flags);
  return sub;
}

int runRunsTag(const RunsTagOptions& o) {
  store::RunStore db(dbPath(o.flags));
  requireRun(db, o.id);
  db.setTags(o.id, o.tags);
  if (o.flags.asJson) printJson({{"id", o.id}, {"tags", o.tags}});
  return 0;
}

// --- runs note -----------------------------------------------------------------------------

CLI::App* addRunsNote(CLI::App& runs, RunsNoteOptions& o) {
  auto* sub = runs.add_subcommand("note", "Set a run's notes");
  sub->add_option("ID", o.id, "Run id")->required();
  sub->add_option("TEXT", o.text, "Notes")->required();
  addDbFlags(sub, o.flags);
  return sub;
}

int runRunsNote(const RunsNoteOptions& o) {
  store::RunStore db(dbPath(o.flags));
  requireRun(db, o.id);
  db.setNotes(o.id, o.text);
  if (o.flags.asJson) printJson({{"id", o.id}, {"notes", o.text}});
  return 0;
}

void addRunsCommands(CLI::App& app, RunsCommandsOptions& o,
                     const std::function<void(CLI::App*, std::function<int()>)>& add) {
  CLI::App& runs = *addRuns(
      app, {&o.list.flags, &o.show.flags, &o.remove.flags, &o.merge.flags, &o.tag.flags, &o.note.flags});
  add(addRunsList(runs, o.list), [&o] { return runRunsList(o.list); });
  add(addRunsShow(runs, o.show), [&o] { return runRunsShow(o.show); });
  add(addRunsDelete(runs, o.remove), [&o] { return runRunsDelete(o.remove); });
  add(addRunsMerge(runs, o.merge), [&o] { return runRunsMerge(o.merge); });
  add(addRunsTag(runs, o.tag), [&o] { return runRunsTag(o.tag); });
  add(addRunsNote(runs, o.note), [&o] { return runRunsNote(o.note); });
}

}  // namespace ranklab::cli
