// `loyalty-agent journal verify|export|sign|stats`, in process, against real journal files.
#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/cli.hpp"
#include "storage/files.hpp"
#include "storage/journal.hpp"
#include "storage/journal_check.hpp"

using namespace loyalty;

namespace {

struct JournalRun {
  int status;
  std::string out;
  std::string err;
};

JournalRun journal(std::vector<std::string> args) {
  args.insert(args.begin(), "journal");
  std::vector<std::string_view> views(args.begin(), args.end());
  std::ostringstream out, err;
  const int status = agent::run_cli(views, out, err);
  return {status, out.str(), err.str()};
}

// A journal of `count` signed sales in a temporary directory, the first `acknowledged`
// acknowledged, then `unsigned_tail` sales not signed yet (as a crash between append and
// signing leaves them).
struct JournalFiles {
  std::filesystem::path dir;
  std::string path;
  storage::PrivateKey key = storage::PrivateKey::generate();

  JournalFiles(int count, int acknowledged, int unsigned_tail = 0) {
    char pattern[] = "/tmp/loyalty-journal-cli-XXXXXX";
    dir = ::mkdtemp(pattern);
    path = (dir / "journal.db").string();
    storage::Journal j(path, "store-3-lane-1", key);
    auto append = [&](int i) {
      storage::EntryDraft draft;
      draft.receipt_id = "R" + std::to_string(i);
      draft.member_id = "M1";
      draft.points_earned = 10;
      draft.payload = "{}";
      j.append(draft, 1'795'000'000'000 + i);
    };
    for (int i = 1; i <= count; ++i) append(i);
    j.sign_pending();
    if (acknowledged > 0) j.acknowledge(1, acknowledged, 1);
    for (int i = count + 1; i <= count + unsigned_tail; ++i) append(i);
  }
  ~JournalFiles() { std::filesystem::remove_all(dir); }
  std::string file(const char* name) const { return (dir / name).string(); }
};

}  // namespace

TEST_CASE("journal verify passes a sound journal and names the first changed entry") {
  JournalFiles files(8, 0);
  auto run = journal({"verify", "--journal", files.path});
  CHECK(run.status == 0);
  CHECK(run.out.find("ok, 8 entries 1..8") != std::string::npos);
  {
    storage::Database db(files.path);
    db.exec("UPDATE journal SET points_earned = 1000 WHERE seq = 6", "tamper");
  }
  run = journal({"verify", "--journal", files.path});
  CHECK(run.status == 1);
  CHECK(run.out.find("FAILED at entry 6: entry 6 does not match its hash") != std::string::npos);
}

TEST_CASE("journal verify checks against an enrolled public key when given one") {
  JournalFiles files(3, 0);
  storage::write_file_atomically(files.file("enrolled.pem"), files.key.public_key().pem(), 0644);
  storage::write_file_atomically(files.file("other.pem"), storage::PrivateKey::generate().public_key().pem(), 0644);
  CHECK(journal({"verify", "--journal", files.path, "--public-key", files.file("enrolled.pem")}).status == 0);
  const auto run = journal({"verify", "--journal", files.path, "--public-key", files.file("other.pem"), "--quick"});
  CHECK(run.status == 1);
  CHECK(run.out.find("FAILED at entry 3") != std::string::npos);
  CHECK(journal({"verify", "--journal", files.path, "--public-key", files.path}).err.find("not an Ed25519") !=
        std::string::npos);
}

TEST_CASE("journal export writes the pending entries to a file that verifies on its own") {
  JournalFiles files(10, 6);
  auto run = journal({"export", "--journal", files.path, "--out", files.file("pending.db"), "--pending"});
  REQUIRE(run.status == 0);
  CHECK(run.out.find("4 entries 7..10") != std::string::npos);
  CHECK(journal({"verify", "--journal", files.file("pending.db")}).status == 0);
  run = journal({"export", "--journal", files.path, "--out", files.file("range.db"), "--from", "2", "--to", "3"});
  CHECK(run.out.find("2 entries 2..3") != std::string::npos);
  // The existing export is never replaced.
  run = journal({"export", "--journal", files.path, "--out", files.file("range.db"), "--pending"});
  CHECK(run.status == 1);
  CHECK(run.err.find("File exists") != std::string::npos);
}

TEST_CASE("journal export leaves out an unsigned tail and journal sign signs it with the terminal key") {
  JournalFiles files(4, 0, 2);
  auto run = journal({"verify", "--journal", files.path});
  CHECK(run.status == 0);
  CHECK(run.out.find("ok, 6 entries 1..6") != std::string::npos);
  CHECK(run.out.find("the newest 2 not signed yet") != std::string::npos);
  run = journal({"export", "--journal", files.path, "--out", files.file("first.db"), "--pending"});
  REQUIRE(run.status == 0);
  CHECK(run.out.find("4 entries 1..4") != std::string::npos);
  CHECK(run.out.find("left out 2 newer entries that are not signed yet") != std::string::npos);

  storage::write_file_atomically(files.file("other.key"), storage::PrivateKey::generate().pem(), 0600);
  run = journal({"sign", "--journal", files.path, "--key", files.file("other.key")});
  CHECK(run.status == 1);
  CHECK(run.err.find("signed with another key") != std::string::npos);
  CHECK(journal({"stats", "--journal", files.path, "--json"}).out.find("\"unsigned\": 2") != std::string::npos);

  storage::write_file_atomically(files.file("terminal.key"), files.key.pem(), 0600);
  run = journal({"sign", "--journal", files.path, "--key", files.file("terminal.key")});
  REQUIRE(run.status == 0);
  CHECK(run.out.find("signed 2 entries; every entry through 6 is signed") != std::string::npos);
  run = journal({"export", "--journal", files.path, "--out", files.file("second.db"), "--from", "5"});
  CHECK(run.out == files.file("second.db") + ": 2 entries 5..6\n");
  CHECK(journal({"verify", "--journal", files.file("second.db")}).out.find("every signature verified") !=
        std::string::npos);
  CHECK(journal({"sign", "--journal", files.path}).status == 2);  // --key is required
}

TEST_CASE("journal commands refuse bad options and missing files with a message") {
  JournalFiles files(1, 0);
  CHECK(journal({"export", "--journal", files.path, "--out", files.file("x.db")}).err.find("--pending, or --from") !=
        std::string::npos);
  CHECK(journal({"export", "--journal", files.path, "--out", files.file("x.db"), "--from", "0"})
            .err.find("--from must be a sequence number") != std::string::npos);
  CHECK(journal({"stats", "--journal", files.file("missing.db")}).err.find("no such journal") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(files.file("missing.db")));
  CHECK(journal({"stats"}).status == 2);
  CHECK(journal({"rebuild", "--journal", files.path}).status == 2);
}

TEST_CASE("journal stats reports entries, pending uploads and points") {
  JournalFiles files(5, 2);
  const auto run = journal({"stats", "--journal", files.path, "--json"});
  REQUIRE(run.status == 0);
  const auto stats = nlohmann::json::parse(run.out);
  CHECK(stats["terminal_id"] == "store-3-lane-1");
  CHECK(stats["entries"] == 5);
  CHECK(stats["pending"] == 3);
  CHECK(stats["points_earned"] == 50);
  CHECK(stats["oldest_pending_journaled_at"] == "2026-11-18T11:06:40Z");
  CHECK(stats["schema_version"] == storage::journal_schema().size());
  // The last entry's hash, which with the chain check pins every entry before it.
  const storage::ChainHead head = storage::Journal(files.path, "store-3-lane-1", files.key).head();
  CHECK(head.seq == 5);
  CHECK(stats["head_hash"] == storage::to_hex(head.hash));
  CHECK(journal({"stats", "--journal", files.path}).out.find("pending upload    3") != std::string::npos);
}
