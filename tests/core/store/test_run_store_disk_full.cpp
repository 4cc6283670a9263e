// A full disk, simulated by an SQLite VFS that forwards to the real one but answers SQLITE_FULL once a
// byte budget is spent: the store says so clearly, writes nothing of the failed call, and keeps
// working once space is back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "store/run_store.h"
#include "store_test_support.h"

using namespace ranklab;
using namespace ranklab::store;
using namespace ranklab::store::testing;
using ::testing::HasSubstr;

namespace {

// Bytes writes may still use; negative means unlimited.
int64_t gWriteBudget = -1;
sqlite3_vfs* gRealVfs = nullptr;

struct ShimFile {
  sqlite3_file base;
  sqlite3_file* real;  // the real VFS's file, placed right after this struct
};

sqlite3_file* realOf(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f)->real; }

int shimClose(sqlite3_file* f) { return realOf(f)->pMethods->xClose(realOf(f)); }
int shimRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return realOf(f)->pMethods->xRead(realOf(f), buf, n, off);
}
int shimWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (gWriteBudget >= 0) {
    if (n > gWriteBudget) return SQLITE_FULL;
    gWriteBudget -= n;
  }
  return realOf(f)->pMethods->xWrite(realOf(f), buf, n, off);
}
int shimTruncate(sqlite3_file* f, sqlite3_int64 size) {
  return realOf(f)->pMethods->xTruncate(realOf(f), size);
}
int shimSync(sqlite3_file* f, int flags) { return realOf(f)->pMethods->xSync(realOf(f), flags); }
int shimFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return realOf(f)->pMethods->xFileSize(realOf(f), size);
}
int shimLock(sqlite3_file* f, int lock) { return realOf(f)->pMethods->xLock(realOf(f), lock); }
int shimUnlock(sqlite3_file* f, int lock) { return realOf(f)->pMethods->xUnlock(realOf(f), lock); }
int shimCheckReservedLock(sqlite3_file* f, int* out) {
  return realOf(f)->pMethods->xCheckReservedLock(realOf(f), out);
}
int shimFileControl(sqlite3_file* f, int op, void* arg) {
  return realOf(f)->pMethods->xFileControl(realOf(f), op, arg);
}
int shimSectorSize(sqlite3_file* f) { return realOf(f)->pMethods->xSectorSize(realOf(f)); }
int shimDeviceCharacteristics(sqlite3_file* f) {
  return realOf(f)->pMethods->xDeviceCharacteristics(realOf(f));
}
int shimShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return realOf(f)->pMethods->xShmMap(realOf(f), region, size, extend, out);
}
int shimShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return realOf(f)->pMethods->xShmLock(realOf(f), offset, n, flags);
}
void shimShmBarrier(sqlite3_file* f) { realOf(f)->pMethods->xShmBarrier(realOf(f)); }
int shimShmUnmap(sqlite3_file* f, int deleteFlag) {
  return realOf(f)->pMethods->xShmUnmap(realOf(f), deleteFlag);
}

// Version 2 methods: WAL needs the shared-memory calls; memory-mapped I/O (version 3) stays off.
const sqlite3_io_methods kShimMethods = {2,
                                         shimClose,
                                         shimRead,
                                         shimWrite,
                                         shimTruncate,
                                         shimSync,
                                         shimFileSize,
                                         shimLock,
                                         shimUnlock,
                                         shimCheckReservedLock,
                                         shimFileControl,
                                         shimSectorSize,
                                         shimDeviceCharacteristics,
                                         shimShmMap,
                                         shimShmLock,
                                         shimShmBarrier,
                                         shimShmUnmap,
                                         nullptr,
                                         nullptr};

int shimOpen(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* outFlags) {
  auto* shim = reinterpret_cast<ShimFile*>(file);
  shim->real = reinterpret_cast<sqlite3_file*>(shim + 1);
  const int rc = gRealVfs->xOpen(gRealVfs, name, shim->real, flags, outFlags);
  shim->base.pMethods = shim->real->pMethods ? &kShimMethods : nullptr;
  return rc;
}
int shimDelete(sqlite3_vfs*, const char* name, int syncDir) {
  return gRealVfs->xDelete(gRealVfs, name, syncDir);
}
int shimAccess(sqlite3_vfs*, const char* name, int flags, int* out) {
  return gRealVfs->xAccess(gRealVfs, name, flags, out);
}
int shimFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return gRealVfs->xFullPathname(gRealVfs, name, n, out);
}

// Makes the budgeted VFS the default while alive.
class FullDiskVfs {
 public:
  FullDiskVfs() {
    gRealVfs = sqlite3_vfs_find(nullptr);
    m_vfs = *gRealVfs;
    m_vfs.iVersion = 2;
    m_vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + gRealVfs->szOsFile;
    m_vfs.zName = "ranklab-test-full-disk";
    m_vfs.pNext = nullptr;
    m_vfs.xOpen = shimOpen;
    m_vfs.xDelete = shimDelete;
    m_vfs.xAccess = shimAccess;
    m_vfs.xFullPathname = shimFullPathname;
    sqlite3_vfs_register(&m_vfs, 1);
  }
  ~FullDiskVfs() {
    sqlite3_vfs_unregister(&m_vfs);
    gWriteBudget = -1;
  }
  void fillDiskAfter(int64_t bytes) { gWriteBudget = bytes; }
  void freeSpace() { gWriteBudget = -1; }

 private:
  sqlite3_vfs m_vfs{};
};

TEST(RunStoreDiskFull, FailedWritesSayDiskFullAndLeaveTheDatabaseIntact) {
  TempDir dir;
  const auto file = dir / "runs.db";
  FullDiskVfs vfs;
  {
    RunStore store(file);
    const int64_t id = store.beginRun(sampleRecord("job"));
    store.appendFrames(id, {sampleFrame(0, 100, 96), sampleFrame(1, 100, 96)});
    store.setNotes(id, "before");

    // A batch far larger than the page cache: the failure comes while the rows are being written.
    std::vector<api::MaskFrame> batch;
    for (int64_t step = 2; step < 600; ++step) batch.push_back(sampleFrame(step, 100, 96));
    vfs.fillDiskAfter(64 * 1024);
    try {
      store.appendFrames(id, batch);
      FAIL() << "wrote 6 MB into 64 KiB";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("run database " + file.string()));
      EXPECT_THAT(e.what(), HasSubstr("disk is full"));
    }
    // A small change that only fails when COMMIT writes the log.
    vfs.fillDiskAfter(0);
    try {
      store.setNotes(id, "after");
      FAIL() << "committed with no space";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("disk is full"));
    }

    vfs.freeSpace();
    EXPECT_EQ(store.frames(id).size(), 2u);
    EXPECT_EQ(store.findRun(id)->notes, "before");
    store.appendFrames(id, {sampleFrame(2, 100, 96)});
    EXPECT_EQ(store.frames(id).size(), 3u);
  }
  RawDb raw(file);
  EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(raw.integer("SELECT count(*) FROM mask_frames"), 3);
}

TEST(RunStoreDiskFull, ANewDatabaseThatCannotBeCreatedSaysSo) {
  TempDir dir;
  FullDiskVfs vfs;
  vfs.fillDiskAfter(0);
  try {
    RunStore store(dir / "runs.db");
    FAIL() << "created a database with no space";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("disk is full"));
  }
  vfs.freeSpace();
  RunStore store(dir / "runs.db");  // a half-made file must not be left behind as a trap
  EXPECT_EQ(store.schemaVersion(), RunStore::kSchemaVersion);
}

}  // namespace
