// What the journal does when the disk is full or the file is damaged: a clear error, nothing
// partial, nothing overwritten or deleted.
#include <doctest/doctest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>

#include "storage/files.hpp"
#include "storage/journal.hpp"
#include "storage/journal_check.hpp"
#include "tests/storage/fixtures.hpp"

using namespace loyalty::storage;
using loyalty::storage::testing::kNow;
using loyalty::storage::testing::sale;
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
  const auto mount_point = dir / "small";
  std::filesystem::create_directory(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=4m") != 0) {
    // Needs root with CAP_SYS_ADMIN; the max_page_count case above covers the same path in
    // SQLite without it.
    MESSAGE("cannot mount a small tmpfs here (" << std::strerror(errno) << "); filesystem case not run");
    return;
  }
  struct Unmount {
    std::filesystem::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point};
  {
    Journal journal(mount_point / "journal.db", "lane-1", PrivateKey::generate());
    int next = 1;
    journal.append(big_sale(next++), kNow);
    // Leave about 1 MiB free so that the journal, not the filler, hits the limit.
    {
      std::ofstream filler(mount_point / "filler", std::ios::binary);
      const std::string block(64 * 1024, 'x');
      for (int i = 0; i < 40; ++i) filler.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
    check_full_and_recovery(journal, next, [&] { std::filesystem::remove(mount_point / "filler"); });
  }
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
