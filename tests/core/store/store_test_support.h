// Helpers shared by the run store tests: a scratch folder, a raw SQLite connection for looking
// behind the store's back, sample runs that fill every field, and field-by-field comparisons.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "api/run.h"
#include "store/run_store.h"

namespace ranklab::store::testing {

namespace fs = std::filesystem;

// A fresh folder per test, removed with everything in it afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_path = fs::temp_directory_path() / ("ranklab_store_" + std::to_string(::getpid()) + "_" +
                                          info->test_suite_name() + "_" + info->name());
    fs::remove_all(m_path);
    fs::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path operator/(const std::string& name) const { return m_path / name; }
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

// A plain connection for building fixtures and checking what the store wrote.
class RawDb {
 public:
  explicit RawDb(const fs::path& file) {
    if (sqlite3_open(file.c_str(), &m_db) != SQLITE_OK) ADD_FAILURE() << "cannot open " << file;
  }
  ~RawDb() { sqlite3_close(m_db); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      ADD_FAILURE() << "sqlite: " << (message ? message : "?") << " in: " << sql;
      sqlite3_free(message);
    }
  }
  // First column of the first row as text ("" when there is no row).
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "sqlite: " << sqlite3_errmsg(m_db) << " in: " << sql;
      return out;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return out;
  }
  int64_t integer(const std::string& sql) { return std::stoll(text(sql)); }
  // Every row, columns joined by '|', rows by '\n'.
  std::string rows(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "sqlite: " << sqlite3_errmsg(m_db) << " in: " << sql;
      return out;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const auto* t = sqlite3_column_text(stmt, c);
        out += (c ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      out += "\n";
    }
    sqlite3_finalize(stmt);
    return out;
  }
  sqlite3* handle() const { return m_db; }

 private:
  sqlite3* m_db = nullptr;
};

inline std::string readText(const fs::path& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  std::string out;
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

// Every field set to something other than its default, so a dropped column shows up.
inline RunFilter filter(const std::string& text, const std::string& status = "",
                        const std::string& sweepId = "", const std::string& tag = "") {
  RunFilter f;
  f.text = text;
  f.status = status;
  f.sweepId = sweepId;
  f.tag = tag;
  return f;
}

// A protocol with every field away from its default.
inline api::EvalProtocol sampleProtocol(int64_t counted = 78021) {
  api::EvalProtocol p;
  p.known = true;
  p.metric = "perplexity";
  p.file = "test.txt";
  p.fileHash = "e7a1";
  p.separator = "\n\n";
  p.context = 128;
  p.stride = 64;
  p.truncate = true;
  p.maxDocuments = 6;
  p.counted = counted;
  p.documents = 6;
  p.tokenizerHash = "70c3";
  return p;
}

inline void expectSameProtocol(const api::EvalProtocol& a, const api::EvalProtocol& b) {
  EXPECT_EQ(a.known, b.known);
  EXPECT_EQ(a.metric, b.metric);
  EXPECT_EQ(a.file, b.file);
  EXPECT_EQ(a.fileHash, b.fileHash);
  EXPECT_EQ(a.separator, b.separator);
  EXPECT_EQ(a.context, b.context);
  EXPECT_EQ(a.stride, b.stride);
  EXPECT_EQ(a.truncate, b.truncate);
  EXPECT_EQ(a.maxDocuments, b.maxDocuments);
  EXPECT_EQ(a.counted, b.counted);
  EXPECT_EQ(a.documents, b.documents);
  EXPECT_EQ(a.tokenizerHash, b.tokenizerHash);
}

inline api::RunRecord sampleRecord(const std::string& name) {
  api::RunRecord r;
  r.name = name;
  r.finishedAt = "";
  r.seconds = 12.25;
  r.modelPath = "/models/" + name + "/model.safetensors";
  r.modelHash = "ab12" + name;
  r.architecture = "gpt2";
  r.decomposition = "fwsvd";
  r.selector = "ars";
  r.keepTarget = 0.5;
  r.keptFraction = 0.4987;
  r.compressibleBefore = 7077888;
  r.compressibleAfter = 3529728;
  r.totalBefore = 124439808;
  r.totalAfter = 120891648;
  r.calibPath = "/data/calib.txt";
  r.calibHash = "ca11";
  r.evalPath = "/data/eval.txt";
  r.evalHash = "e7a1";
  r.seed = -42;
  r.configJson = R"({"selector":"ars","steps":200})";
  r.versionsJson = R"({"ranklab":"0.1.0","sqlite":"3.40.1"})";
  r.device = "cuda:0 (NVIDIA H100 80GB HBM3)";
  r.error = "";
  r.sweepId = "sweep-7";
  r.specHash = "spec-" + name;
  r.notes = "first try, \"quoted\" and\nmultiline";
  r.tags = {"baseline", "gpt2"};
  r.metric = "perplexity";
  r.metricBefore = 29.94;
  r.metricAfter = 41.5;
  r.protocol = sampleProtocol();
  return r;
}

inline api::OpResult sampleOp(int64_t index, const std::string& kind) {
  api::OpResult op;
  op.index = index;
  op.name = "layers." + std::to_string(index / 7) + "." + kind;
  op.layer = static_cast<int>(index / 7);
  op.kind = kind;
  op.inFeatures = 768;
  op.outFeatures = index % 2 ? 3072 : 768;
  op.rank = 100 + index;
  op.fullRank = 768;
  op.factorized = index % 3 != 0;
  op.energyKept = 0.875 + 0.001 * static_cast<double>(index);
  // Extremes a sloppy encoding would mangle: the largest float, a subnormal, negative zero.
  op.spectrum = {3.4028235e38f, 12.5f, 1.0f / 3.0f, 1e-42f, -0.0f};
  op.plainSpectrum = {7.0f, 0.1f};
  return op;
}

inline api::MaskFrame sampleFrame(int64_t step, size_t ops, size_t bytesPerOp) {
  api::MaskFrame f;
  f.step = step;
  for (size_t i = 0; i < ops; ++i) {
    f.ranks.push_back(static_cast<int32_t>((step * 31 + static_cast<int64_t>(i) * 7) % 769) - 1);
    std::vector<uint8_t> bits(bytesPerOp);
    for (size_t b = 0; b < bytesPerOp; ++b) bits[b] = static_cast<uint8_t>(step * 13 + i * 5 + b * 3);
    f.bits.push_back(std::move(bits));
  }
  return f;
}

inline bool sameDouble(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// Bit-exact: the spectra are float32 on disk and must come back identical, sign of zero included.
inline bool sameFloats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

inline void expectSameRecord(const api::RunRecord& a, const api::RunRecord& b, bool compareId = true) {
  if (compareId) {
    EXPECT_EQ(a.id, b.id);
  }
  EXPECT_EQ(a.uuid, b.uuid);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.createdAt, b.createdAt);
  EXPECT_EQ(a.finishedAt, b.finishedAt);
  EXPECT_PRED2(sameDouble, a.seconds, b.seconds);
  EXPECT_EQ(a.modelPath, b.modelPath);
  EXPECT_EQ(a.modelHash, b.modelHash);
  EXPECT_EQ(a.architecture, b.architecture);
  EXPECT_EQ(a.decomposition, b.decomposition);
  EXPECT_EQ(a.selector, b.selector);
  EXPECT_PRED2(sameDouble, a.keepTarget, b.keepTarget);
  EXPECT_PRED2(sameDouble, a.keptFraction, b.keptFraction);
  EXPECT_EQ(a.compressibleBefore, b.compressibleBefore);
  EXPECT_EQ(a.compressibleAfter, b.compressibleAfter);
  EXPECT_EQ(a.totalBefore, b.totalBefore);
  EXPECT_EQ(a.totalAfter, b.totalAfter);
  EXPECT_EQ(a.calibPath, b.calibPath);
  EXPECT_EQ(a.calibHash, b.calibHash);
  EXPECT_EQ(a.evalPath, b.evalPath);
  EXPECT_EQ(a.evalHash, b.evalHash);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.configJson, b.configJson);
  EXPECT_EQ(a.versionsJson, b.versionsJson);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.sweepId, b.sweepId);
  EXPECT_EQ(a.specHash, b.specHash);
  EXPECT_EQ(a.notes, b.notes);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.metric, b.metric);
  EXPECT_PRED2(sameDouble, a.metricBefore, b.metricBefore);
  EXPECT_PRED2(sameDouble, a.metricAfter, b.metricAfter);
  expectSameProtocol(a.protocol, b.protocol);
}

inline void expectSameOps(const std::vector<api::OpResult>& a, const std::vector<api::OpResult>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("op " + std::to_string(i));
    EXPECT_EQ(a[i].index, b[i].index);
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].layer, b[i].layer);
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].inFeatures, b[i].inFeatures);
    EXPECT_EQ(a[i].outFeatures, b[i].outFeatures);
    EXPECT_EQ(a[i].rank, b[i].rank);
    EXPECT_EQ(a[i].fullRank, b[i].fullRank);
    EXPECT_EQ(a[i].factorized, b[i].factorized);
    EXPECT_PRED2(sameDouble, a[i].energyKept, b[i].energyKept);
    EXPECT_PRED2(sameFloats, a[i].spectrum, b[i].spectrum);
    EXPECT_PRED2(sameFloats, a[i].plainSpectrum, b[i].plainSpectrum);
  }
}

inline void expectSameSeries(const std::vector<api::SeriesPoint>& a, const std::vector<api::SeriesPoint>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].step, b[i].step) << "point " << i;
    EXPECT_EQ(a[i].name, b[i].name) << "point " << i;
    EXPECT_PRED2(sameDouble, a[i].value, b[i].value) << "point " << i;
  }
}

inline void expectSameFrames(const std::vector<api::MaskFrame>& a, const std::vector<api::MaskFrame>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].step, b[i].step) << "frame " << i;
    ASSERT_EQ(a[i].ranks, b[i].ranks) << "frame " << i;
    ASSERT_EQ(a[i].bits, b[i].bits) << "frame " << i;
  }
}

inline void expectSameEvals(const std::vector<api::EvalPoint>& a, const std::vector<api::EvalPoint>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].stage, b[i].stage) << "eval " << i;
    EXPECT_EQ(a[i].dataset, b[i].dataset) << "eval " << i;
    EXPECT_EQ(a[i].metric, b[i].metric) << "eval " << i;
    EXPECT_PRED2(sameDouble, a[i].keptFraction, b[i].keptFraction) << "eval " << i;
    EXPECT_PRED2(sameDouble, a[i].value, b[i].value) << "eval " << i;
    EXPECT_EQ(a[i].count, b[i].count) << "eval " << i;
    SCOPED_TRACE("protocol of eval " + std::to_string(i));
    expectSameProtocol(a[i].protocol, b[i].protocol);
  }
}

inline void expectSameData(const api::RunData& a, const api::RunData& b, bool compareId = true) {
  expectSameRecord(a.run, b.run, compareId);
  expectSameOps(a.ops, b.ops);
  expectSameSeries(a.series, b.series);
  expectSameFrames(a.frames, b.frames);
  expectSameEvals(a.evals, b.evals);
}

}  // namespace ranklab::store::testing
