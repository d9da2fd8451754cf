// Shared helpers of the ledger tests: terminals with real journals, and a ledger on a real
// store: a SQLite file, or, when LOYALTY_TEST_STORE=postgres (how CTest runs the cases of test
// suite "store" a second time), a new database on a PostgreSQL server the test process starts
// (tests/postgres_server.hpp).

#ifndef LOYALTY_TESTS_LEDGER_FIXTURES_HPP_
#define LOYALTY_TESTS_LEDGER_FIXTURES_HPP_

#include <latch>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ledger/ledger.hpp"
#include "ledger/open_store.hpp"
#include "ledger/pool.hpp"
#include "storage/journal.hpp"
#include "storage/member_cache.hpp"
#include "sync/journal_wire.hpp"
#include "tests/postgres_server.hpp"
#include "tests/storage/fixtures.hpp"

namespace loyalty::ledger::testing {

using storage::testing::kNow;
using storage::testing::TempDir;

inline constexpr std::int64_t kDayMs = 24LL * 60 * 60 * 1000;

// The chain's member secret, shared by the ledger and its terminals in these tests.
inline const storage::IdentifierHasher& chain_hasher() {
  static const storage::IdentifierHasher hasher("a member secret of the chain, 32b");
  return hasher;
}

// A checkout terminal: its own key and journal.
struct Lane {
  Lane(const TempDir& dir, std::string id_)
      : id(std::move(id_)), key(storage::PrivateKey::generate()), journal(dir / (id + ".db"), id, key) {}

  // Journals one transaction at `at_ms` and signs it, as the agent does.
  std::int64_t record(storage::EntryKind kind, const std::string& member, std::int64_t earned, std::int64_t redeemed,
                      std::int64_t at_ms = kNow) {
    storage::EntryDraft draft;
    draft.kind = kind;
    draft.receipt_id = id + "-R" + std::to_string(++receipts);
    draft.member_id = member;
    draft.recorded_at_ms = at_ms;
    draft.rulebook_version = 1;
    draft.points_earned = earned;
    draft.points_redeemed = redeemed;
    draft.payload = "{}";
    const auto appended = journal.append(draft, at_ms);
    journal.sign_pending();
    return appended.entry.seq;
  }
  std::int64_t sale(const std::string& member, std::int64_t earned, std::int64_t redeemed, std::int64_t at_ms = kNow) {
    return record(storage::EntryKind::sale, member, earned, redeemed, at_ms);
  }

  // Entries first..last as the ledger receives them: through the wire format.
  std::vector<sync::WireEntry> wire(std::int64_t first, std::int64_t last) {
    const auto entries = journal.read(first, last, 100000);
    return sync::batch_from_json(sync::batch_to_json(id, entries)).entries;
  }

  std::string id;
  storage::PrivateKey key;
  storage::Journal journal;
  int receipts = 0;
};

// Whether this run puts the ledger on PostgreSQL.
inline bool on_postgres() {
  const char* store = std::getenv("LOYALTY_TEST_STORE");
  return store != nullptr && std::string_view(store) == "postgres";
}

// The test process's PostgreSQL server, started at its first use.
inline loyalty::testing::PostgresServer& postgres_server() {
  static loyalty::testing::PostgresServer server;
  return server;
}

// Where a test's ledger lives, as `loyalty-ledger --db` takes it: a new database on PostgreSQL,
// or `dir`'s ledger.db.
inline std::string test_db(const TempDir& dir) {
  return on_postgres() ? postgres_server().create_database() : (dir / "ledger.db").string();
}

struct LedgerFixture {
  // On `db_` when given, else where test_db() says.
  explicit LedgerFixture(LedgerSettings settings = {}, const std::string& db_ = "")
      : db(db_.empty() ? test_db(dir) : db_),
        owned_store(open_store(db)),
        store(*owned_store),
        ledger(store, settings) {}

  Lane& lane(const std::string& id, const std::string& store_id = "S1") {
    auto& slot = lanes[id];
    if (!slot) {
      slot = std::make_unique<Lane>(dir, id);
      ledger.enroll(id, store_id, slot->key.public_key().raw(), kNow);
    }
    return *slot;
  }

  sync::Ack upload(Lane& lane, std::int64_t first, std::int64_t last, std::int64_t now_ms = kNow) {
    const auto entries = lane.wire(first, last);
    return ledger.ingest(lane.id, entries, now_ms);
  }

  std::int64_t balance(const std::string& member) {
    const auto account = store.account(member);
    return account ? account->balance : 0;
  }

  TempDir dir;
  std::string db;  // the store, as --db names it
  std::unique_ptr<LedgerStore> owned_store;
  LedgerStore& store;
  Ledger ledger;
  std::map<std::string, std::unique_ptr<Lane>> lanes;
};

// Holds a ledger of `pool` on a thread of its own from construction until release() (or
// destruction): requests that need the store wait meanwhile, as behind a long transaction.
class HeldLedger {
 public:
  explicit HeldLedger(LedgerPool& pool)
      : thread_([this, &pool] {
          pool.with([this](Ledger&) {
            held_.count_down();
            release_.wait();
          });
        }) {
    held_.wait();
  }
  ~HeldLedger() { release(); }
  HeldLedger(const HeldLedger&) = delete;
  HeldLedger& operator=(const HeldLedger&) = delete;

  void release() {
    if (!thread_.joinable()) return;
    release_.count_down();
    thread_.join();
  }

 private:
  std::latch held_{1};
  std::latch release_{1};
  std::thread thread_;
};

}  // namespace loyalty::ledger::testing

#endif  // LOYALTY_TESTS_LEDGER_FIXTURES_HPP_
