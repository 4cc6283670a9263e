// ranklab: the GUI entry point. Parses the command line, checks that a display is reachable (for the
// xcb/wayland platforms), then shows the main window and opens the model named on the command line,
// if any. --smoke-test and --screenshot run the window briefly and exit, for CI and documentation;
// with a model, --screenshot waits until the model has loaded (or failed).
#include <qcustomplot.h>

#include <QAction>
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QIcon>
#include <QMouseEvent>
#include <QPainter>
#include <QPixmap>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSlider>
#include <QStringList>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolTip>
#include <cstdio>
#include <cstring>
#include <optional>

#include "api/job.h"
#include "app/main_window.h"
#include "app/teach_session.h"
#include "common/allocator.h"
#include "common/resources.h"
#include "widgets/budget_curve_view.h"
#include "widgets/compare_view.h"
#include "widgets/job_panel.h"
#include "widgets/mask_evolution_view.h"
#include "widgets/rank_allocation_view.h"
#include "widgets/run_browser.h"
#include "widgets/run_table_model.h"
#include "widgets/teach_geometry_view.h"
#include "widgets/teach_image_view.h"
#include "widgets/teach_layer_view.h"
#include "widgets/teach_model_view.h"
#include "widgets/teach_replay_view.h"
#include "widgets/teach_window.h"

namespace {

constexpr int kExitUsage = 2;
constexpr int kSmokeTestMs = 300;
constexpr int kScreenshotDelayMs = 600;

// The value of Qt's own "-platform X" / "--platform X" argument, else $QT_QPA_PLATFORM.
QString requestedPlatform(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "-platform") == 0 || std::strcmp(argv[i], "--platform") == 0) {
      return QString::fromLocal8Bit(argv[i + 1]);
    }
  }
  return qEnvironmentVariable("QT_QPA_PLATFORM");
}

// QApplication aborts when the xcb/wayland platform finds no display; say why before that happens.
// Only xcb and wayland need a display; offscreen, minimal, vnc, eglfs etc. do not.
std::optional<QString> displayProblem(int argc, char** argv) {
  QString platform = requestedPlatform(argc, argv);
  QStringList candidates = platform.split(QLatin1Char(';'), Qt::SkipEmptyParts);
  if (candidates.isEmpty()) candidates = {QStringLiteral("xcb"), QStringLiteral("wayland")};  // Qt's defaults
  const bool haveX11 = !qEnvironmentVariableIsEmpty("DISPLAY");
  const bool haveWayland = !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY");
  for (const QString& candidate : candidates) {
    const QString name = candidate.section(QLatin1Char(':'), 0, 0).trimmed();
    if (name == QLatin1String("xcb")) {
      if (haveX11) return std::nullopt;
    } else if (name.startsWith(QLatin1String("wayland"))) {
      if (haveWayland) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  return QStringLiteral(
             "ranklab: no display available (Qt platform '%1' needs DISPLAY or WAYLAND_DISPLAY).\n"
             "  Run it under a desktop session or xvfb-run, set QT_QPA_PLATFORM=offscreen for headless use,\n"
             "  or use ranklab-cli for jobs without a GUI.")
      .arg(platform.isEmpty() ? QStringLiteral("xcb") : platform);
}

bool asksOnlyForInfo(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    for (const char* flag : {"--version", "-v", "--help", "-h", "--help-all", "-?"}) {
      if (std::strcmp(argv[i], flag) == 0) return true;
    }
  }
  return false;
}

struct Options {
  QCommandLineOption version{{QStringLiteral("v"), QStringLiteral("version")},
                             QStringLiteral("Print the RankLab and Qt versions and exit.")};
  QCommandLineOption smokeTest{
      QStringLiteral("smoke-test"),
      QStringLiteral("Open the main window, run the event loop for %1 ms, close it and "
                     "exit 0 (use QT_QPA_PLATFORM=offscreen without a display).")
          .arg(kSmokeTestMs)};
  QCommandLineOption screenshot{
      QStringLiteral("screenshot"),
      QStringLiteral("Open the main window, save an image of it to FILE (PNG) and exit. With a MODEL, the "
                     "image is taken once the model has loaded."),
      QStringLiteral("FILE")};
  QCommandLineOption viewShots{
      QStringLiteral("view-screenshots"),
      QStringLiteral(
          "Run seven real jobs on the shipped gpt-mini (ARS, and uniform ranks over SVD and whitening at "
          "three budgets; into a scratch database "
          "unless --db is given), save a PNG of every view to DIR and exit (packaging/screenshots.sh)."),
      QStringLiteral("DIR")};
  QCommandLineOption teach{
      QStringLiteral("teach"),
      QStringLiteral("Open the teaching mode (six chapters, from the SVD of a 2 x 2 matrix to a live ARS "
                     "run; F5 for presenter mode) instead of the workbench.")};
  QCommandLineOption teachShots{
      QStringLiteral("teach-screenshots"),
      QStringLiteral(
          "Open the teaching mode, make the runs its chapters need (into a scratch database unless --db is "
          "given), save a PNG of every chapter and of presenter mode to DIR and exit "
          "(packaging/screenshots.sh)."),
      QStringLiteral("DIR")};
  QCommandLineOption database{
      QStringLiteral("db"),
      QStringLiteral("Run database to open (default: $RANKLAB_DB, else ~/.local/share/ranklab/runs.db)."),
      QStringLiteral("FILE")};
  QCommandLineOption tokenizer{
      QStringLiteral("tokenizer"),
      QStringLiteral("Tokenizer for a llama2.c .bin MODEL (tokenizer.bin; optional)."),
      QStringLiteral("FILE")};
  // Qt's own -platform NAME, accepted here so that it can sit next to --version and --help.
  QCommandLineOption platform{QStringLiteral("platform"), QStringLiteral("Qt platform plugin."),
                              QStringLiteral("NAME")};
};

void setUp(QCommandLineParser& parser, const Options& options) {
  parser.setApplicationDescription(
      QStringLiteral("RankLab: a workbench for low-rank compression of language models."));
  parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
  parser.addHelpOption();
  parser.addOption(options.version);
  parser.addOption(options.smokeTest);
  parser.addOption(options.screenshot);
  parser.addOption(options.tokenizer);
  parser.addOption(options.database);
  parser.addOption(options.viewShots);
  parser.addOption(options.teach);
  parser.addOption(options.teachShots);
  parser.addPositionalArgument(
      QStringLiteral("MODEL"),
      QStringLiteral("Model to open: a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint."),
      QStringLiteral("[MODEL]"));
  QCommandLineOption platform = options.platform;
  platform.setFlags(QCommandLineOption::HiddenFromHelp);
  parser.addOption(platform);
}

int printVersion() {
  std::printf("ranklab %s (Qt %s)\n", RANKLAB_VERSION, qVersion());
  return 0;
}

// Parses the arguments; returns an exit code when the program should stop now.
std::optional<int> parseArguments(QCommandLineParser& parser, const Options& options,
                                  const QStringList& args) {
  if (!parser.parse(args)) {
    std::fprintf(stderr, "ranklab: %s\nTry 'ranklab --help'.\n", qPrintable(parser.errorText()));
    return kExitUsage;
  }
  if (parser.isSet(options.version)) return printVersion();
  if (parser.isSet(QStringLiteral("help")) || parser.isSet(QStringLiteral("help-all"))) {
    std::printf("%s", qPrintable(parser.helpText()));
    return 0;
  }
  if (parser.positionalArguments().size() > 1) {
    std::fprintf(stderr, "ranklab: unexpected argument '%s' (one MODEL at most)\nTry 'ranklab --help'.\n",
                 qPrintable(parser.positionalArguments().at(1)));
    return kExitUsage;
  }
  if (parser.isSet(options.tokenizer) && parser.positionalArguments().isEmpty()) {
    std::fprintf(stderr, "ranklab: --tokenizer needs a MODEL\nTry 'ranklab --help'.\n");
    return kExitUsage;
  }
  return std::nullopt;
}

// --view-screenshots: eleven real jobs through the window, then every tab, the budget curves of the
// multiple-choice task, a hover read-out and the three tabs of Compare as PNGs.
int viewScreenshots(const QString& dir, const QString& databasePath) {
  QTemporaryDir scratch;
  QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, scratch.path());
  if (!QDir().mkpath(dir)) {
    std::fprintf(stderr, "ranklab: cannot create %s\n", qPrintable(dir));
    return 1;
  }
  ranklab::app::MainWindow window(
      nullptr, databasePath.isEmpty() ? scratch.filePath(QStringLiteral("runs.db")) : databasePath);
  window.resize(1600, 1000);
  window.show();
  const auto found = ranklab::findResourcesDir();
  if (!found) {
    std::fprintf(stderr, "ranklab: the shipped resources were not found (set RANKLAB_RESOURCES)\n");
    return 1;
  }
  const QString resources = QString::fromStdString(found->string());
  ranklab::api::JobSpec spec;
  spec.model = (resources + QStringLiteral("/models/gpt-mini")).toStdString();
  spec.calib = (resources + QStringLiteral("/data/lm/valid.txt")).toStdString();
  spec.evalText = (resources + QStringLiteral("/data/lm/test.txt")).toStdString();
  spec.maxEvalDocuments = 2;
  // The demo multiple-choice task too: the budget curves then offer acc and acc_norm as well.
  spec.evalChoices = (resources + QStringLiteral("/data/lm/next-words.jsonl")).toStdString();
  spec.maxChoiceItems = 200;
  spec.calibSamples = 8;
  spec.calibLength = 128;
  spec.batchSize = 4;
  spec.selector = "ars";
  spec.arsSteps = 200;
  spec.logEvery = 5;
  spec.keep = 0.5;
  spec.device = "cpu";
  window.openModel(QString::fromStdString(spec.model));
  window.jobPanel()->setSpec(spec);
  int jobsDone = 0;
  bool ok = true;
  auto shoot = [&](const QString& name, bool withToolTip = false) {
    // Views queue their replots and layout work; do it now so the image shows the current data.
    QCoreApplication::processEvents();
    for (QCustomPlot* plot : window.findChildren<QCustomPlot*>()) plot->replot();
    const QString file = QDir(dir).filePath(name + QStringLiteral(".png"));
    QPixmap image = window.grab();
    // A hover read-out is a tooltip window of its own, which grab() leaves out: paint it in where
    // it shows on screen.
    for (QWidget* top : QApplication::topLevelWidgets()) {
      if (!withToolTip || !top->isVisible() || !top->inherits("QTipLabel")) continue;
      QPainter painter(&image);
      painter.drawPixmap(top->mapToGlobal(QPoint(0, 0)) - window.mapToGlobal(QPoint(0, 0)), top->grab());
    }
    const bool saved = image.save(file, "PNG");
    std::printf("ranklab: %s %s\n", saved ? "saved" : "could not save", qPrintable(file));
    ok = ok && saved;
  };
  // Every view of the ARS run, then the two runs compared (named here so that the timer below
  // copies a closure whose references point at this function's locals).
  // Every view of the ARS run, then ARS and uniform ranks at the same budget compared (named
  // here so that the timer below copies a closure whose references point at this function's locals).
  auto finish = [&] {
    auto* runs = window.runBrowser()->model();
    qint64 arsRun = 0, ars03Run = 0, uniformRun = 0;
    for (int row = 0; row < runs->rowCount(); ++row) {
      const auto* r = runs->runAt(row);
      if (r->selector == "ars") (r->keepTarget == spec.keep ? arsRun : ars03Run) = r->id;
      if (r->selector == "uniform" && r->decomposition == "svd" && r->keepTarget == spec.keep &&
          r->protocol.maxDocuments == spec.maxEvalDocuments)
        uniformRun = r->id;
    }
    if (!arsRun || !ars03Run || !uniformRun) {
      std::fprintf(stderr, "ranklab: the screenshot runs are missing from the browser\n");
      QCoreApplication::exit(1);
      return;
    }
    window.showRun(arsRun);
    const QStringList names = {QStringLiteral("view-model"), QStringLiteral("view-ranks"),
                               QStringLiteral("view-spectrum"), QStringLiteral("view-masks"),
                               QStringLiteral("view-budget")};
    for (int i = 0; i < names.size(); ++i) {
      window.tabs()->setCurrentIndex(i);
      shoot(names[i]);
    }
    // The same runs' acc_norm on the multiple-choice task: another choice in the Evaluated on box.
    auto* budget = window.budgetView();
    const QString budgetGroup = budget->group();
    for (const QString& key : budget->groupKeys())
      if (budget->groupText(key).contains(QLatin1String("acc_norm"))) budget->setGroup(key);
    shoot(QStringLiteral("view-budget-choices"));
    budget->setGroup(budgetGroup);
    // A hover read-out: the pointer over the sixth op's bar in the Ranks tab.
    window.tabs()->setCurrentIndex(1);
    QCustomPlot* ranks = window.rankView()->plot();
    ranks->replot();
    const QPoint bar(int(ranks->xAxis->coordToPixel(5.0)), window.rankView()->barRect()->bottom() - 12);
    QMouseEvent move(QEvent::MouseMove, QPointF(bar), QPointF(ranks->mapToGlobal(bar)), Qt::NoButton,
                     Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(ranks, &move);
    QCoreApplication::processEvents();
    shoot(QStringLiteral("view-hover"), true);
    QToolTip::hideText();
    window.runBrowser()->selectIds({arsRun, ars03Run, uniformRun});
    window.compareRuns({arsRun, ars03Run, uniformRun});
    shoot(QStringLiteral("view-compare"));
    auto* compare = window.compareView();
    compare->tabs()->setCurrentIndex(1);
    shoot(QStringLiteral("view-compare-ranks"));
    compare->tabs()->setCurrentIndex(2);
    compare->findChild<QSlider*>(QStringLiteral("smoothingSlider"))->setValue(60);
    shoot(QStringLiteral("view-compare-curves"));
    window.close();
    QCoreApplication::exit(ok ? 0 : 1);
  };
  // ARS at p = 0.5, then uniform ranks over plain SVD and over whitening at three budgets (the
  // budget-curve view's data), all queued at once.
  // ARS at p = 0.3 too, so that Compare overlays two training curves.
  auto ars03 = spec;
  ars03.keep = 0.3;
  std::vector<ranklab::api::JobSpec> jobs{spec, ars03};
  for (const char* decomposition : {"svd", "whiten"}) {
    for (double keep : {0.3, 0.5, 0.7}) {
      auto uniform = spec;
      uniform.selector = "uniform";
      uniform.decomposition = decomposition;
      uniform.keep = keep;
      jobs.push_back(uniform);
    }
  }
  // Uniform SVD again, evaluated on one document instead of two: another protocol, which the budget
  // curves keep apart (their Evaluated on box) and the run browser's Evaluated on column names.
  for (double keep : {0.3, 0.5, 0.7}) {
    auto oneDoc = spec;
    oneDoc.selector = "uniform";
    oneDoc.keep = keep;
    oneDoc.maxEvalDocuments = 1;
    jobs.push_back(oneDoc);
  }
  QObject::connect(&window, &ranklab::app::MainWindow::jobEnded, &window, [&](qint64, const QString& status) {
    if (status != QLatin1String("succeeded")) {
      std::fprintf(stderr, "ranklab: screenshot job %s\n", qPrintable(status));
      QCoreApplication::exit(1);
      return;
    }
    if (++jobsDone == int(jobs.size())) QTimer::singleShot(kScreenshotDelayMs, &window, finish);
  });
  QTimer::singleShot(1500, &window, [&] {
    for (const auto& job : jobs) {
      window.jobPanel()->setSpec(job);
      window.jobPanel()->queueButton()->click();
    }
    window.jobPanel()->setSpec(spec);
  });
  return QApplication::exec();
}

// --teach-screenshots: every chapter of the teaching mode with real data, then presenter mode.
int teachScreenshots(const QString& dir, const QString& databasePath) {
  QTemporaryDir scratch;
  QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, scratch.path());
  if (!QDir().mkpath(dir)) {
    std::fprintf(stderr, "ranklab: cannot create %s\n", qPrintable(dir));
    return 1;
  }
  ranklab::app::TeachSession session(databasePath.isEmpty() ? scratch.filePath(QStringLiteral("runs.db"))
                                                            : databasePath);
  ranklab::widgets::TeachWindow* window = session.window();
  window->resize(1600, 1000);
  window->show();
  bool ok = true;
  auto shoot = [&](const QString& name, bool withToolTip = false) {
    for (QCustomPlot* plot : window->findChildren<QCustomPlot*>()) plot->replot();
    const QString file = QDir(dir).filePath(name + QStringLiteral(".png"));
    const bool saved = window->grab().save(file, "PNG");
    std::printf("ranklab: %s %s\n", saved ? "saved" : "could not save", qPrintable(file));
    ok = ok && saved;
  };
  auto finish = [&] {
    session.geometryChapter()->setAnimationDuration(0);
    session.geometryChapter()->setStep(3);
    session.imageChapter()->setStep(2);
    auto* layer = session.layerChapter();
    layer->setCurrentOp(layer->opBox()->findText(QStringLiteral("layers.1.mlp.up")));
    layer->setRank(32);
    session.modelChapter()->setStep(1);
    auto* replay = session.replayChapter();
    replay->maskView()->setCurrentFrame(replay->frameCount() / 2);
    const QStringList names = {QStringLiteral("teach-1-geometry"), QStringLiteral("teach-2-image"),
                               QStringLiteral("teach-3-layer"),    QStringLiteral("teach-4-model"),
                               QStringLiteral("teach-5-live"),     QStringLiteral("teach-6-rankdyna")};
    for (int i = 0; i < names.size(); ++i) {
      window->setCurrentChapter(i);
      shoot(names[i]);
    }
    // Presenter mode fills the screen (set here too: without a window manager full screen is only a
    // request); the shot waits for the new size to be laid out.
    window->setCurrentChapter(1);
    window->setPresenterMode(true);
    window->setGeometry(window->screen()->geometry());
    QTimer::singleShot(kScreenshotDelayMs, window, [&] {
      shoot(QStringLiteral("teach-presenter"));
      window->close();
      QCoreApplication::exit(ok ? 0 : 1);
    });
  };
  // The image and the weighted spectra first, then the runs chapters 4-6 need, one after another.
  int pending = 0;
  bool imageReady = false, spectraReady = false, jobsStarted = false;
  auto maybeStartJobs = [&] {
    if (!imageReady || !spectraReady || jobsStarted) return;
    jobsStarted = true;
    if (session.modelChapter()->pairCount() == 0) {
      ++pending;
      session.startPairRuns();
    }
    ++pending;
    session.startLiveRun();
    if (session.replayChapter()->runCount() == 0) {
      ++pending;
      session.startShortRankDyna();
    }
  };
  QObject::connect(&session, &ranklab::app::TeachSession::imageLoaded, &session, [&](bool loaded) {
    if (!loaded) {
      std::fprintf(stderr, "ranklab: the teaching image did not load\n");
      QCoreApplication::exit(1);
      return;
    }
    imageReady = true;
    maybeStartJobs();
  });
  QObject::connect(&session, &ranklab::app::TeachSession::spectraLoaded, &session,
                   [&](bool loaded, bool weighted) {
                     if (!loaded) {
                       std::fprintf(stderr, "ranklab: the spectra did not load\n");
                       QCoreApplication::exit(1);
                       return;
                     }
                     spectraReady = spectraReady || weighted;
                     maybeStartJobs();
                   });
  QObject::connect(&session, &ranklab::app::TeachSession::jobEnded, &session,
                   [&](const QString& purpose, const QString& status) {
                     if (status != QLatin1String("succeeded")) {
                       std::fprintf(stderr, "ranklab: teaching job %s %s\n", qPrintable(purpose),
                                    qPrintable(status));
                       QCoreApplication::exit(1);
                       return;
                     }
                     if (--pending == 0) QTimer::singleShot(kScreenshotDelayMs, window, finish);
                   });
  session.start();
  return QApplication::exec();
}

}  // namespace

int main(int argc, char** argv) {
  ranklab::tuneAllocator();
  QCoreApplication::setOrganizationName(QStringLiteral("RankLab"));
  QCoreApplication::setApplicationName(QStringLiteral("RankLab"));
  QCoreApplication::setApplicationVersion(QStringLiteral(RANKLAB_VERSION));

  Options options;
  QCommandLineParser parser;
  setUp(parser, options);

  // --version and --help need no display: answer them without starting the GUI.
  if (asksOnlyForInfo(argc, argv)) {
    QCoreApplication app(argc, argv);
    return parseArguments(parser, options, app.arguments()).value_or(0);
  }
  if (auto problem = displayProblem(argc, argv)) {
    std::fprintf(stderr, "%s\n", qPrintable(*problem));
    return kExitUsage;
  }

  QApplication app(argc, argv);
  app.setApplicationDisplayName(QStringLiteral("RankLab"));
  app.setDesktopFileName(QStringLiteral("ranklab"));
  // The installed theme icon where there is one, else the SVG built into the binary.
  app.setWindowIcon(
      QIcon::fromTheme(QStringLiteral("ranklab"), QIcon(QStringLiteral(":/icons/ranklab.svg"))));
  if (auto code = parseArguments(parser, options, app.arguments())) return *code;

  if (parser.isSet(options.viewShots))
    return viewScreenshots(parser.value(options.viewShots), parser.value(options.database));
  if (parser.isSet(options.teachShots))
    return teachScreenshots(parser.value(options.teachShots), parser.value(options.database));
  if (parser.isSet(options.teach)) {
    ranklab::app::TeachSession session(parser.value(options.database));
    session.window()->resize(1500, 950);
    session.window()->show();
    session.start();
    return app.exec();
  }
  const bool smokeTest = parser.isSet(options.smokeTest);
  const QString screenshotPath = parser.value(options.screenshot);
  const QString modelPath = parser.positionalArguments().value(0);
  // Scripted runs keep their hands off the user's saved window layout.
  QTemporaryDir scratchSettings;
  if (smokeTest || !screenshotPath.isEmpty()) {
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, scratchSettings.path());
  }

  ranklab::app::MainWindow window(nullptr, parser.value(options.database));
  window.show();

  if (smokeTest) {
    QTimer::singleShot(kSmokeTestMs, &window, [&window] {
      const bool ok = window.isVisible();
      window.close();
      std::printf("ranklab: smoke test %s (platform %s)\n", ok ? "passed" : "FAILED",
                  qPrintable(QGuiApplication::platformName()));
      QCoreApplication::exit(ok ? 0 : 1);
    });
  } else if (!screenshotPath.isEmpty()) {
    // Exit status 1 when the image could not be saved or the model given could not be opened.
    auto takeScreenshot = [&window, screenshotPath](bool modelOk) {
      QTimer::singleShot(kScreenshotDelayMs, &window, [&window, screenshotPath, modelOk] {
        const bool saved = window.grab().save(screenshotPath, "PNG");
        if (saved) {
          std::printf("ranklab: saved screenshot %s\n", qPrintable(QDir::toNativeSeparators(screenshotPath)));
        } else {
          std::fprintf(stderr, "ranklab: could not save screenshot to %s\n", qPrintable(screenshotPath));
        }
        window.close();
        QCoreApplication::exit(saved && modelOk ? 0 : 1);
      });
    };
    if (modelPath.isEmpty()) {
      takeScreenshot(true);
    } else {
      QObject::connect(&window, &ranklab::app::MainWindow::modelLoadFinished, &window, takeScreenshot,
                       Qt::SingleShotConnection);
    }
  }
  if (!modelPath.isEmpty()) window.openModel(modelPath, parser.value(options.tokenizer));
  return app.exec();
}
