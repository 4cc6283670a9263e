#include "app/teach_session.h"

#include <QDir>
#include <QFileInfo>
#include <QImage>
#include <QTimer>
#include <cmath>
#include <optional>
#include <vector>

#include "api/protocol.h"
#include "app/full_rank_ops.h"
#include "app/job_controller.h"
#include "app/run_repository.h"
#include "app/worker_thread.h"
#include "common/error.h"
#include "common/progress.h"
#include "common/resources.h"
#include "models/inspect.h"
#include "teach/teach.h"
#include "widgets/teach_geometry_view.h"
#include "widgets/teach_image_view.h"
#include "widgets/teach_layer_view.h"
#include "widgets/teach_live_view.h"
#include "widgets/teach_model_view.h"
#include "widgets/teach_replay_view.h"
#include "widgets/teach_window.h"

namespace ranklab::app {
namespace {

constexpr int64_t kCalibWindows = 8;
constexpr int64_t kCalibLength = 128;
constexpr int kMaxPairs = 8;

// A shipped resource's path; when no resources folder is found, the path in the first folder searched,
// so the message of whatever then fails to open it names a place the user can check.
QString resource(const QString& relative) {
  std::optional<std::filesystem::path> dir = findResourcesDir();
  if (!dir) {
    const auto candidates = resourceCandidates();
    dir = candidates.empty() ? std::filesystem::path("resources") : candidates.front();
  }
  return QDir(QString::fromStdString(dir->string())).filePath(relative);
}

// Shipped model directories (those with a config.json), gpt-mini first.
void shippedModels(QStringList* names, QStringList* paths) {
  QDir dir(resource(QStringLiteral("models")));
  QStringList entries = dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
  entries.removeAll(QStringLiteral("gpt-mini"));
  entries.prepend(QStringLiteral("gpt-mini"));
  for (const QString& name : entries) {
    if (!QFileInfo::exists(dir.filePath(name + QStringLiteral("/config.json")))) continue;
    names->append(name);
    paths->append(QFileInfo(dir.filePath(name)).canonicalFilePath());
  }
}

// A fair pair: one base model, one decomposition, one budget, and perplexities measured the same way
// (api/protocol.h: same file, documents, tokens, context...).
bool sameBudget(const api::RunRecord& a, const api::RunRecord& b) {
  return a.decomposition == b.decomposition && std::abs(a.keepTarget - b.keepTarget) < 1e-9 &&
         !a.evalHash.empty() && api::comparable(a, b);
}

QString describe(const api::RunRecord& run) {
  if (run.metric == "perplexity")
    return QObject::tr("Perplexity %1 before, %2 after; achieved p = %3.")
        .arg(run.metricBefore, 0, 'f', 2)
        .arg(run.metricAfter, 0, 'f', 2)
        .arg(run.keptFraction, 0, 'f', 3);
  return QObject::tr("Achieved p = %1.").arg(run.keptFraction, 0, 'f', 3);
}

}  // namespace

api::JobSpec TeachSession::liveArsSpec() {
  api::JobSpec spec;
  spec.model = resource(QStringLiteral("models/gpt-mini")).toStdString();
  spec.device = "cpu";
  spec.decomposition = "svd";
  spec.selector = "ars";
  spec.keep = 0.5;
  spec.calib = resource(QStringLiteral("data/lm/valid.txt")).toStdString();
  spec.calibSamples = 8;
  spec.calibLength = 64;
  spec.batchSize = 2;
  spec.arsSteps = 100;
  spec.arsLearningRate = 1e-2;
  spec.arsEarlyStop = false;
  spec.logEvery = 2;
  spec.evalText = resource(QStringLiteral("data/lm/test.txt")).toStdString();
  spec.maxEvalDocuments = 1;
  spec.name = "teach: live ARS";
  spec.tags = {"teach"};
  return spec;
}

api::JobSpec TeachSession::uniformPairSpec() {
  api::JobSpec spec = liveArsSpec();
  spec.selector = "uniform";
  spec.name = "teach: uniform";
  return spec;
}

api::JobSpec TeachSession::shortRankDynaSpec() {
  api::JobSpec spec = liveArsSpec();
  spec.selector = "rankdyna";
  spec.finetuneSteps = 80;
  spec.reallocEvery = 4;
  spec.learningRate = 2e-4;
  spec.name = "teach: short RankDyna";
  return spec;
}

QString TeachSession::imagePath() { return resource(QStringLiteral("data/teach/astronaut-gray-256.png")); }

TeachSession::TeachSession(const QString& databasePath, QObject* parent) : QObject(parent) {
  m_runs = std::make_unique<RunRepository>();
  m_jobs = new JobController(this);
  m_worker = std::make_unique<WorkerThread>(QStringLiteral("teach worker"));
  buildChapters();
  wireJobs();
  if (!m_runs->open(databasePath)) {
    const QString message = tr("The run database could not be opened: %1").arg(m_runs->lastError());
    m_model->setBusy(false, message);
    m_replay->setBusy(false, message);
  }
}

TeachSession::~TeachSession() {
  if (m_spectraCancel) m_spectraCancel->cancel();
  // The job controller goes first, while the views its signals feed still exist.
  QObject::disconnect(m_jobs, nullptr, this, nullptr);
  delete m_jobs;
  m_worker.reset();  // joins; what it had not delivered yet is dropped
  // The window goes while every member its chapters' signals reach is still alive.
  m_window.reset();
}

void TeachSession::buildChapters() {
  m_window = std::make_unique<widgets::TeachWindow>();
  m_geometry = new widgets::TeachGeometryView;
  m_image = new widgets::TeachImageView;
  m_layer = new widgets::TeachLayerView;
  m_model = new widgets::TeachModelView;
  m_live = new widgets::TeachLiveView;
  m_replay = new widgets::TeachReplayView;
  for (widgets::TeachChapter* c :
       std::initializer_list<widgets::TeachChapter*>{m_geometry, m_image, m_layer, m_model, m_live, m_replay})
    m_window->addChapter(c);

  QStringList names, paths;
  shippedModels(&names, &paths);
  m_layer->setModels(names, paths);
  connect(m_layer, &widgets::TeachLayerView::modelChosen, this, &TeachSession::loadSpectra);
  connect(m_model, &widgets::TeachModelView::runPairRequested, this, &TeachSession::startPairRuns);
  connect(m_live, &widgets::TeachLiveView::startRequested, this, &TeachSession::startLiveRun);
  connect(m_live, &widgets::TeachLiveView::cancelRequested, this, [this] {
    for (auto it = m_purpose.cbegin(); it != m_purpose.cend(); ++it)
      if (it.value() == QLatin1String("live")) m_jobs->cancel(it.key());
  });
  connect(m_replay, &widgets::TeachReplayView::runChosen, this, &TeachSession::loadReplayRun);
  connect(m_replay, &widgets::TeachReplayView::shortRunRequested, this, &TeachSession::startShortRankDyna);
  const api::JobSpec live = liveArsSpec();
  m_live->setConfig(
      tr("ARS on the shipped gpt-mini (4 layers, 24 ops), budget p = %1: %2 steps of %3 windows of %4 "
         "tokens from lm/valid.txt, hypernetwork rate %5, a frame every %6 steps; perplexity on one "
         "test document before and after. Time budget %7 s.")
          .arg(live.keep)
          .arg(live.arsSteps)
          .arg(live.batchSize)
          .arg(live.calibLength)
          .arg(live.arsLearningRate)
          .arg(live.logEvery)
          .arg(kLiveBudgetSeconds),
      kLiveBudgetSeconds);
}

void TeachSession::wireJobs() {
  connect(m_jobs, &JobController::jobStarted, this, [this](qint64 ticket, const api::JobSpec&) {
    m_clock.start();
    if (m_purpose.value(ticket) != QLatin1String("live")) return;
    m_live->jobStarted(fullRankOps(m_liveModel.ops), liveArsSpec().keep);
  });
  connect(m_jobs, &JobController::progress, this, [this](qint64 ticket, const JobProgress& p) {
    const QString purpose = m_purpose.value(ticket);
    const QString text = tr("%1 %2%3 \u00b7 %4 s")
                             .arg(p.phase)
                             .arg(p.done)
                             .arg(p.total > 0 ? QStringLiteral("/%1").arg(p.total) : QString())
                             .arg(p.elapsedSeconds, 0, 'f', 1);
    if (purpose == QLatin1String("live"))
      m_live->setProgress(p.phase, p.done, p.total, m_clock.elapsed() / 1000.0);
    else if (purpose == QLatin1String("pair"))
      m_model->setBusy(true, tr("Making the pair (%1 left): %2").arg(m_pairPending).arg(text));
    else if (purpose == QLatin1String("rankdyna"))
      m_replay->setBusy(true, tr("Short RankDyna run: %1").arg(text));
  });
  connect(m_jobs, &JobController::seriesPoints, this,
          [this](qint64 ticket, const std::vector<api::SeriesPoint>& points) {
            if (m_purpose.value(ticket) == QLatin1String("live")) m_live->appendSeries(points);
          });
  connect(m_jobs, &JobController::maskFrames, this,
          [this](qint64 ticket, const std::vector<api::MaskFrame>& frames) {
            if (m_purpose.value(ticket) == QLatin1String("live")) m_live->appendFrames(frames);
          });
  connect(m_jobs, &JobController::finished, this, [this](qint64 ticket, const api::JobOutcome& outcome) {
    onJobEnded(ticket, QStringLiteral("succeeded"), describe(outcome.data.run), m_clock.elapsed() / 1000.0);
  });
  connect(m_jobs, &JobController::cancelled, this, [this](qint64 ticket) {
    onJobEnded(ticket, QStringLiteral("cancelled"), QString(), m_clock.elapsed() / 1000.0);
  });
  connect(m_jobs, &JobController::failed, this, [this](qint64 ticket, const QString& message) {
    onJobEnded(ticket, QStringLiteral("failed"), message, m_clock.elapsed() / 1000.0);
  });
}

void TeachSession::showWindow() {
  m_window->show();
  m_window->raise();
  m_window->activateWindow();
}

void TeachSession::start() {
  loadImage();
  const std::string liveModel = liveArsSpec().model;
  m_worker->post([liveModel] { return models::inspectModel(liveModel); },
                 [this](const api::ModelSummary& summary) { m_liveModel = summary; },
                 [this](const QString& message) { m_live->setConfig(message, kLiveBudgetSeconds); });
  if (!m_layer->currentModelPath().isEmpty()) {
    loadSpectra(m_layer->currentModelPath());
  } else {
    m_layer->showProblem(tr("No shipped models found under %1.").arg(resource(QStringLiteral("models"))));
  }
  refreshRuns();
  // Runs written elsewhere (the workbench, ranklab-cli) appear in chapters 4 and 6 by themselves.
  auto* watch = new QTimer(this);
  watch->setInterval(1000);
  connect(watch, &QTimer::timeout, this, [this] {
    if (m_runs->pollRuns()) refreshRuns();
  });
  watch->start();
}

void TeachSession::loadImage() {
  struct Loaded {
    std::vector<float> pixels;  // rows x cols, row-major, gray levels in [0, 1]
    api::MatrixSvd svd;
  };
  const QString path = imagePath();
  m_worker->post(
      [path] {
        QImage image(path);
        if (image.isNull())
          throw Error(path.toStdString() +
                      ": cannot read the teaching image (missing or not a PNG; it ships in "
                      "resources/data/teach)");
        image = image.convertToFormat(QImage::Format_Grayscale8);
        Loaded loaded;
        loaded.pixels.reserve(size_t(image.width()) * size_t(image.height()));
        for (int y = 0; y < image.height(); ++y) {
          const uchar* line = image.constScanLine(y);
          for (int x = 0; x < image.width(); ++x) loaded.pixels.push_back(float(line[x]) / 255.0f);
        }
        loaded.svd = teach::matrixSvd(loaded.pixels, image.height(), image.width());
        return loaded;
      },
      [this, path](const Loaded& loaded) {
        m_image->setImage(loaded.pixels, loaded.svd,
                          tr("%1: Eileen Collins, NASA astronaut (NASA, public domain; via scikit-image), "
                             "grayscale, %2 x %3.")
                              .arg(QFileInfo(path).fileName())
                              .arg(loaded.svd.rows)
                              .arg(loaded.svd.cols));
        emit imageLoaded(true);
      },
      [this](const QString& error) {
        m_image->showProblem(error);
        emit imageLoaded(false);
      });
}

void TeachSession::loadSpectra(const QString& modelPath) {
  const quint64 request = ++m_spectraRequest;
  if (m_spectraCancel) m_spectraCancel->cancel();
  auto cancel = std::make_shared<CancelToken>();
  m_spectraCancel = cancel;
  if (const auto cached = m_spectraCache.constFind(modelPath); cached != m_spectraCache.constEnd()) {
    m_layer->setSpectra(cached->spectra);
    m_layer->setStatus(cached->status);
    emit spectraLoaded(true, cached->weighted);
    return;
  }
  m_layer->setStatus(tr("Reading %1 and computing its spectra\u2026").arg(QFileInfo(modelPath).fileName()));
  const std::string path = modelPath.toStdString();
  const std::string calib = resource(QStringLiteral("data/lm/train.txt")).toStdString();
  // On the GUI thread: shows one result for this request (a stale one is only cached). `last`: nothing
  // more will come for this model, so the result is kept for the next visit.
  auto show = [this, request, modelPath](const std::optional<api::ModelSpectra>& spectra,
                                         const QString& status, bool weighted, bool last) {
    if (spectra && last) m_spectraCache.insert(modelPath, {*spectra, status, weighted});
    if (request != m_spectraRequest) return;
    if (spectra)
      m_layer->setSpectra(*spectra);
    else
      m_layer->showProblem(status);
    m_layer->setStatus(status);
    emit spectraLoaded(spectra.has_value(), weighted);
  };
  m_worker->post(
      [worker = m_worker.get(), show, cancel, path, calib] {
        auto deliver = [worker, show](const api::ModelSpectra& spectra, const QString& status, bool weighted,
                                      bool last) {
          worker->deliver([show, spectra, status, weighted, last] { show(spectra, status, weighted, last); });
        };
        try {
          if (cancel->isCancelled()) return;
          api::ModelSpectra plain = teach::modelSpectra(path, {}, 0, 0, 0, cancel.get());
          if (plain.summary.architecture == "bert") {
            deliver(plain,
                    tr("%1 is an encoder: the weighted spectra here need a causal language model and "
                       "calibration text, so only W's own spectrum is shown.")
                        .arg(QString::fromStdString(path)),
                    false, true);
            return;
          }
          deliver(
              plain,
              tr("Plain spectra ready; calibrating on %1 windows of %2 tokens for the weighted ones\u2026")
                  .arg(kCalibWindows)
                  .arg(kCalibLength),
              false, false);
          api::ModelSpectra weighted =
              teach::modelSpectra(path, calib, kCalibWindows, kCalibLength, 0, cancel.get());
          deliver(weighted,
                  tr("Weighted spectra from %1 windows (%2 tokens) of lm/train.txt.")
                      .arg(weighted.calibSamples)
                      .arg(weighted.calibTokens),
                  true, true);
        } catch (const Cancelled&) {
          // A newer model was chosen; cancel is not an error, and nothing is shown for this one.
        }
      },
      [show](const QString& error) { show(std::nullopt, error, false, true); });
}

void TeachSession::refreshRuns() {
  std::vector<api::RunRecord> all = m_runs->isOpen() ? m_runs->listRuns() : std::vector<api::RunRecord>{};
  std::vector<widgets::TeachModelView::Pair> pairs;
  std::vector<api::RunRecord> rankdyna;
  for (const auto& ars : all) {
    if (ars.status != "succeeded") continue;
    if (ars.selector == "rankdyna") rankdyna.push_back(ars);
    if (ars.selector != "ars" || int(pairs.size()) >= kMaxPairs) continue;
    for (const auto& uniform : all) {
      if (uniform.status != "succeeded" || uniform.selector != "uniform" || !sameBudget(ars, uniform))
        continue;
      auto a = m_runs->loadRun(ars.id);
      auto u = m_runs->loadRun(uniform.id);
      if (a && u) pairs.push_back({*u, *a});
      break;
    }
  }
  m_model->setPairs(pairs);
  m_replay->setRuns(rankdyna);
}

void TeachSession::loadReplayRun(qint64 runId) {
  if (auto run = m_runs->loadRun(runId))
    m_replay->setRun(*run);
  else
    m_replay->setBusy(false, tr("Run %1 could not be read: %2").arg(runId).arg(m_runs->lastError()));
}

qint64 TeachSession::submit(const api::JobSpec& spec, const QString& purpose) {
  api::JobSpec job = spec;
  job.db = m_runs->path().toStdString();
  // Known before submit(): an idle controller starts the job, and emits jobStarted, inside submit().
  const qint64 ticket = m_jobs->nextTicket();
  m_purpose.insert(ticket, purpose);
  const qint64 submitted = m_jobs->submit(job);
  Q_ASSERT(submitted == ticket);
  return submitted;
}

void TeachSession::startLiveRun() {
  if (m_live->isRunning() || m_purpose.key(QStringLiteral("live"))) return;
  m_live->jobStarted({}, liveArsSpec().keep);
  submit(liveArsSpec(), QStringLiteral("live"));
}

void TeachSession::startPairRuns() {
  if (m_pairPending > 0) return;
  m_pairPending = 2;
  m_pairFailed = false;
  m_model->setBusy(true, tr("Making the pair: waiting for the worker\u2026"));
  api::JobSpec ars = liveArsSpec();
  ars.name = "teach: ARS (pair)";
  submit(uniformPairSpec(), QStringLiteral("pair"));
  submit(ars, QStringLiteral("pair"));
}

void TeachSession::startShortRankDyna() {
  if (m_purpose.key(QStringLiteral("rankdyna"))) return;
  m_replay->setBusy(true, tr("Short RankDyna run: waiting for the worker\u2026"));
  submit(shortRankDynaSpec(), QStringLiteral("rankdyna"));
}

void TeachSession::onJobEnded(qint64 ticket, const QString& status, const QString& message, double seconds) {
  const QString purpose = m_purpose.take(ticket);
  if (purpose == QLatin1String("live")) {
    m_live->jobEnded(status, seconds, message);
    refreshRuns();
    emit jobEnded(purpose, status);
  } else if (purpose == QLatin1String("pair")) {
    m_pairFailed = m_pairFailed || status != QLatin1String("succeeded");
    if (--m_pairPending > 0) return;
    m_model->setBusy(
        false, m_pairFailed ? tr("Making the pair did not succeed: %1 %2").arg(status, message) : QString());
    refreshRuns();
    emit jobEnded(purpose, m_pairFailed ? QStringLiteral("failed") : QStringLiteral("succeeded"));
  } else if (purpose == QLatin1String("rankdyna")) {
    m_replay->setBusy(false, status == QLatin1String("succeeded")
                                 ? QString()
                                 : tr("The RankDyna run %1: %2").arg(status, message));
    refreshRuns();
    emit jobEnded(purpose, status);
  }
}

}  // namespace ranklab::app
