// What the journal does when the disk is full or the file is damaged: a clear error, nothing
// partial, nothing overwritten or deleted.
#include <doctest/doctest.h>

#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <vector>

#include "storage/files.hpp"
#include "storage/journal.hpp"
#include "storage/journal_check.hpp"
#include "tests/storage/fixtures.hpp"
#include "tests/storage/small_disk.hpp"

using namespace loyalty::storage;
using loyalty::storage::testing::kNow;
using loyalty::storage::testing::sale;
using loyalty::storage::testing::SmallDisk;
using loyalty::storage::testing::TempDir;

namespace {

EntryDraft big_sale(int i) {
  EntryDraft draft = sale("F" + std::to_string(i), "M1", 10, 0);
  draft.payload.assign(64 * 1024, static_cast<char>('a' + i % 26));
  return draft;
}

void overwrite(const std::filesystem::path& path, std::int64_t offset, const std::string& bytes) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(file.good());
  file.seekp(offset);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(file.good());
}

// Appends until the disk is full; returns the error. Fails the test if the disk never fills.
Error fill(Journal& journal, int& next) {
  for (int attempts = 0; attempts < 2000; ++attempts) {
    try {
      journal.append(big_sale(next), kNow);
      ++next;
    } catch (const Error& error) {
      return error;
    }
  }
  FAIL("the disk never filled");
  throw std::logic_error("unreachable");
}

void check_full_and_recovery(Journal& journal, int& next, const std::function<void()>& free_space) {
  const Error error = fill(journal, next);
  CHECK(error.disk_full());
  CHECK(std::string(error.what()).find("append journal entry for receipt 'F" + std::to_string(next) + "'") == 0);
  CHECK(std::string(error.what()).find("full") != std::string::npos);
  const std::int64_t head = journal.head().seq;
  CHECK(head == next - 1);
  CHECK_FALSE(journal.find_receipt("F" + std::to_string(next)));
  // The failed append can be retried as often as the POS likes while the disk stays full.
  CHECK_THROWS_AS(journal.append(big_sale(next), kNow), Error);
  CHECK(journal.head().seq == head);

  free_space();
  const auto appended = journal.append(big_sale(next), kNow);
  CHECK(appended.outcome == Appended::new_entry);
  CHECK(appended.entry.seq == head + 1);
  CHECK(journal.sign_pending() == head + 1);
  const auto report = verify_journal(journal.database(), std::nullopt, SignatureCheck::every);
  CHECK(report.ok());
  CHECK(report.unsigned_entries == 0);
}

// Opens the journal at `path` expecting a refusal for damage, checks that the file is still
// there with the same bytes, and returns the error's message.
std::string refused_as_damaged(const std::filesystem::path& path) {
  const std::string before = read_file(path);
  std::string message;
  try {
    Journal journal(path, "lane-1", PrivateKey::generate());
    FAIL("a damaged journal was opened");
  } catch (const Error& error) {
    CHECK(error.damaged());
    message = error.what();
  }
  CHECK(message.find("left untouched") != std::string::npos);
  CHECK(std::filesystem::exists(path));
  CHECK(read_file(path) == before);
  return message;
}

}  // namespace

TEST_CASE("on a full database the append fails clearly, writes nothing, and works once space returns") {
  TempDir dir;
  Journal journal(dir / "journal.db", "lane-1", PrivateKey::generate());
  int next = 1;
  journal.append(big_sale(next++), kNow);
  const std::int64_t pages = journal.database().query_integer("PRAGMA page_count").value_or(0);
  journal.database().exec("PRAGMA max_page_count=" + std::to_string(pages + 100), "limit the database");
  check_full_and_recovery(journal, next,
                          [&] { journal.database().exec("PRAGMA max_page_count=1000000", "give space back"); });
}

TEST_CASE("on a full filesystem the append fails clearly, writes nothing, and works once space returns") {
  TempDir dir;
  SmallDisk disk(dir / "small", 4);
  Journal journal(disk.path() / "journal.db", "lane-1", PrivateKey::generate());
  int next = 1;
  journal.append(big_sale(next++), kNow);
  // Leave about 1 MiB free so that the journal's log, not the first write, hits the limit.
  disk.fill(1 << 20);
  check_full_and_recovery(journal, next, [&] { disk.make_room(); });
}

// The files in `dir`, by name.
std::vector<std::string> listing(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST_CASE("a journal opened without writing reads every committed entry and writes nothing") {
  TempDir dir;
  const auto path = dir / "journal.db";
  const PrivateKey key = PrivateKey::generate();
  SUBCASE("from the file alone, after a clean close") {
    { Journal(path, "lane-1", key).append(sale("R1", "M1", 10, 0), kNow); }
    REQUIRE_FALSE(std::filesystem::exists(dir / "journal.db-wal"));
    const auto before = listing(dir.path());
    Journal journal(path, "lane-1", key, Creation::no_writes);
    CHECK(journal.head().seq == 1);
    CHECK(journal.find_receipt("R1"));
    // A write is refused, and the refusal names the append.
    try {
      journal.append(sale("R2", "M1", 10, 0), kNow);
      FAIL("a journal opened without writing took an append");
    } catch (const Error& error) {
      CHECK(error.primary_code() == 8);  // SQLITE_READONLY
      CHECK(std::string(error.what()).find("append journal entry for receipt 'R2'") == 0);
    }
    CHECK(listing(dir.path()) == before);
  }
  SUBCASE("with committed entries still in the write-ahead log, as a killed process leaves it") {
    TempDir crashed;
    {
      Journal journal(path, "lane-1", key);
      journal.append(sale("R1", "M1", 10, 0), kNow);
      journal.append(sale("R2", "M1", 20, 0), kNow);
      // The files as they are at this moment, before the close checkpoints the log: what a
      // SIGKILL leaves on disk, without a shared-memory file.
      for (const char* name : {"journal.db", "journal.db-wal"}) std::filesystem::copy_file(dir / name, crashed / name);
    }
    REQUIRE(std::filesystem::file_size(crashed / "journal.db-wal") > 0);
    Journal journal(crashed / "journal.db", "lane-1", key, Creation::no_writes);
    CHECK(journal.head().seq == 2);  // the file alone would say 0: both entries are in the log
    CHECK(journal.find_receipt("R2"));
    CHECK(journal.pending_count() == 2);
    CHECK(listing(crashed.path()) == std::vector<std::string>{"journal.db", "journal.db-shm", "journal.db-wal"});
    CHECK(std::filesystem::file_size(crashed / "journal.db-shm") == 0);
  }
  SUBCASE("a journal that was never written is refused") {
    open_journal_database(path, Creation::create_if_missing);  // migrated, no identity
    CHECK_THROWS_WITH_AS(Journal(path, "lane-1", key, Creation::no_writes),
                         doctest::Contains("has no terminal identity yet"), Error);
  }
}

TEST_CASE("a full disk and a read-only filesystem are told apart from other failures by a probe") {
  TempDir dir;
  CHECK(probe_space(dir.path(), 1 << 20) == 0);
  CHECK(probe_space(dir / "missing", 1 << 20) == ENOENT);
  SmallDisk disk(dir / "small", 4);
  CHECK(probe_space(disk.path(), 1 << 20) == 0);
  CHECK(listing(disk.path()).empty());  // the probe leaves nothing behind
  disk.fill(512 * 1024);
  CHECK(probe_space(disk.path(), 1 << 20) == ENOSPC);
  CHECK(probe_space(disk.path(), 64 * 1024) == 0);
  CHECK(space_problem(ENOSPC) == "the disk is full");
  disk.make_room();
  CHECK(probe_space(disk.path(), 1 << 20) == 0);
  REQUIRE(::mount(nullptr, disk.path().c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
  CHECK(probe_space(disk.path(), 1 << 20) == EROFS);
  CHECK(space_problem(EROFS) == "the filesystem is mounted read-only");
}

TEST_CASE("a file that is not a database is refused at open and left untouched") {
  TempDir dir;
  const auto path = dir / "journal.db";
  { Journal(path, "lane-1", PrivateKey::generate()).append(sale("R1", "M1", 1, 0), kNow); }
  overwrite(path, 0, std::string(100, '\x5a'));
  CHECK(refused_as_damaged(path).find("open " + path.string()) == 0);
}

TEST_CASE("a damaged page inside the journal is detected at open and the file is left untouched") {
  TempDir dir;
  const auto path = dir / "journal.db";
  std::int64_t page_size = 0;
  {
    Journal journal(path, "lane-1", PrivateKey::generate());
    for (int i = 1; i <= 200; ++i) journal.append(sale("R" + std::to_string(i), "M1", i, 0), kNow);
    page_size = journal.database().query_integer("PRAGMA page_size").value_or(4096);
  }
  REQUIRE(std::filesystem::file_size(path) > static_cast<std::uintmax_t>(8 * page_size));
  // Page 5 is inside the journal table's b-tree; scribble over its header and cells.
  overwrite(path, 4 * page_size, std::string(static_cast<std::size_t>(page_size / 2), '\xff'));
  CHECK(refused_as_damaged(path).find("damaged") != std::string::npos);
}
