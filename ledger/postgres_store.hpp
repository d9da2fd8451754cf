// The ledger's store on a PostgreSQL server, for a chain's centre: finance queries it with SQL,
// DBAs back it up and replicate it with PostgreSQL's tools, and several `loyalty-ledger serve`
// processes may share one database (docs/operations.md).
//
// Each batch is a few statements whatever its size: the terminal's row read FOR UPDATE, its
// members' account rows locked FOR UPDATE in member order (a member without an account gets its
// row first, in the same order, so it is locked too, and two batches never deadlock), their
// accounts and lots read with `= ANY($1)`, the entries written with COPY, accounts, lots and conflicts each in one
// INSERT ... SELECT FROM unnest(...) ON CONFLICT. The member feed's cursor is one counter row,
// taken near the end of the transaction: changes become visible in cursor order, so a terminal
// reading the feed never skips one committed late.
//
// Transactions run at READ COMMITTED, PostgreSQL's default: every statement sees what committed
// before it, and the locks make a batch's reads current. A serialization failure or a deadlock
// runs the outermost transaction again (a few times), and is never answered as an error. A lost
// connection fails the transaction in flight; the next one connects again.
//
// Schema versions live in table loyalty_schema, migrated as the SQLite stores are (each step in
// one transaction, under an advisory lock so that instances starting together migrate once).

#ifndef LOYALTY_LEDGER_POSTGRES_STORE_HPP_
#define LOYALTY_LEDGER_POSTGRES_STORE_HPP_

#include <atomic>
#include <memory>
#include <span>
#include <string>

#include "ledger/postgres.hpp"
#include "ledger/store.hpp"

namespace loyalty::ledger {

// A schema step of the PostgreSQL store: from version `version - 1` to `version`.
struct PostgresMigration {
  int version;
  std::string_view sql;
  bool additive = false;  // true: an older release may go on using the database after it
};
std::span<const PostgresMigration> postgres_schema();

class PostgresStore final : public LedgerStore {
 public:
  struct Options {
    std::string conninfo;  // libpq's connection string
    bool migrate = true;   // bring the schema up to date (false: refuse an older schema)
    // Applies only the first `schema_version` steps (tests of the migrations); 0: all.
    int schema_version = 0;
  };

  // Connects and migrates. Throws pg::Error ("connect to PostgreSQL: ...", "migrate ...").
  explicit PostgresStore(Options options);
  ~PostgresStore() override;

  void transaction(const std::function<void()>& work) override;
  void write(const StoreChanges& changes) override;

  std::optional<Terminal> terminal(std::string_view terminal_id) override;
  std::optional<Terminal> lock_terminal(std::string_view terminal_id) override;
  void save_terminal(const Terminal& terminal) override;
  std::vector<Terminal> terminals() override;

  std::vector<std::pair<std::int64_t, storage::Digest>> entry_hashes(std::string_view terminal_id, std::int64_t first,
                                                                     std::int64_t last) override;
  std::vector<sync::WireEntry> entries(std::string_view terminal_id, std::int64_t first, std::size_t limit) override;
  std::int64_t entry_count() override;

  std::vector<sync::WireEntry> held_run(std::string_view terminal_id, std::int64_t first) override;

  std::optional<Account> account(std::string_view member_id) override;
  std::vector<Account> lock_accounts(std::span<const std::string> member_ids) override;
  std::vector<MemberChange> member_changes(std::int64_t cursor, std::size_t limit) override;
  std::int64_t member_cursor() override;
  std::vector<Account> accounts() override;

  std::vector<Lot> open_lots(std::span<const std::string> member_ids) override;
  std::vector<Lot> expiring_lots(std::int64_t now_ms, std::size_t limit) override;
  std::vector<Lot> lots(std::string_view member_id) override;

  std::vector<Conflict> conflicts() override;
  void add_mismatch(const Mismatch& mismatch) override;
  std::vector<Mismatch> mismatches() override;

  void add_hold(Hold& hold) override;
  std::int64_t held_points(std::string_view member_id, std::int64_t now_ms) override;
  bool consume_hold(std::string_view terminal_id, std::string_view receipt_id) override;
  std::int64_t drop_expired_holds(std::int64_t now_ms) override;

  void publish_rulebook(const PublishedRulebook& rulebook) override;
  std::optional<PublishedRulebook> rulebook(std::int64_t version) override;
  std::optional<PublishedRulebook> latest_rulebook() override;

  std::vector<ReportRow> report_rows() override;
  std::vector<TerminalTotals> terminal_totals() override;

  bool run_alone(Job job, const std::function<void()>& work) override;
  std::int64_t retries() const override { return retries_; }

  // The schema version the database is at.
  int schema_version();
  pg::Connection& connection() { return *conn_; }

 private:
  void connect();
  // The connection, made again first when it broke outside a transaction.
  pg::Connection& db();
  pg::Result read(std::string_view operation, const std::string& sql, std::initializer_list<pg::Param> params = {});
  std::vector<sync::WireEntry> read_wire(const pg::Result& rows, std::string_view terminal_id);

  Options options_;
  std::unique_ptr<pg::Connection> conn_;
  int depth_ = 0;  // transactions open, the outermost first
  std::atomic<std::int64_t> retries_ = 0;
};

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_POSTGRES_STORE_HPP_
