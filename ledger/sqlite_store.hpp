// The ledger's embedded store: one SQLite file in WAL mode with synchronous=FULL, so that an
// acknowledgement the ledger sends is on disk. The Ledger wraps each upload batch (or each
// replayed run of entries) in one transaction, which is what makes ingest fast: one fsync per
// batch, not per entry.
//
// Entries live in a rowid table (appends) with a unique (terminal, seq) index; lots are keyed
// by (member, expiry, terminal, seq) so that a member's lots are one range, oldest first.

#ifndef LOYALTY_LEDGER_SQLITE_STORE_HPP_
#define LOYALTY_LEDGER_SQLITE_STORE_HPP_

#include <filesystem>
#include <memory>
#include <span>

#include "ledger/store.hpp"
#include "storage/sqlite.hpp"

namespace loyalty::ledger {

std::span<const storage::Migration> ledger_schema();

class SqliteStore final : public LedgerStore {
 public:
  struct Options {
    storage::Creation creation = storage::Creation::create_if_missing;
    int cache_kib = 65536;
    // `full` for the service: an acknowledgement it sends is on disk. A replay may use
    // `normal` (commits reach the disk at checkpoints): a power cut can lose its last runs,
    // and running the same files again applies exactly those.
    storage::Durability durability = storage::Durability::full;
    // WAL pages after which a commit checkpoints (SQLite's default is 1,000). A replay's large
    // transactions dirty thousands of pages each; checkpointing less often writes each hot
    // page (members, lots) to the database once per checkpoint instead of once per commit.
    int checkpoint_pages = 1000;
  };

  // Opens (creating when missing, unless `options.creation` says otherwise) the ledger database.
  explicit SqliteStore(const std::filesystem::path& path, const Options& options);
  explicit SqliteStore(const std::filesystem::path& path,
                       storage::Creation creation = storage::Creation::create_if_missing)
      : SqliteStore(path, Options{creation}) {}

  void transaction(const std::function<void()>& work) override;

  void write(const StoreChanges& changes) override;

  std::optional<Terminal> terminal(std::string_view terminal_id) override;
  std::optional<Terminal> lock_terminal(std::string_view terminal_id) override { return terminal(terminal_id); }
  void save_terminal(const Terminal& terminal) override;
  std::vector<Terminal> terminals() override;

  std::vector<std::pair<std::int64_t, storage::Digest>> entry_hashes(std::string_view terminal_id, std::int64_t first,
                                                                     std::int64_t last) override;
  std::vector<sync::WireEntry> entries(std::string_view terminal_id, std::int64_t first, std::size_t limit) override;
  std::int64_t entry_count() override;

  std::vector<sync::WireEntry> held_run(std::string_view terminal_id, std::int64_t first) override;

  std::optional<Account> account(std::string_view member_id) override;
  // One writer at a time (the transaction is BEGIN IMMEDIATE): nothing more to lock.
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

  storage::Database& database() { return *db_; }

 private:
  std::vector<sync::WireEntry> read_wire(storage::Statement& rows, std::string_view terminal_id);
  void insert_entry(const sync::WireEntry& wire, std::int64_t applied_at_ms);
  void hold_back(const sync::WireEntry& wire);
  void save_account(Account& account, std::int64_t cursor);
  void set_member_keys(std::string_view member_id, const std::vector<storage::Digest>& keys);
  void save_lot(const Lot& lot);
  void add_conflict(const Conflict& conflict);

  std::unique_ptr<storage::Database> db_;
  int depth_ = 0;  // transactions open, the outermost first
};

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_SQLITE_STORE_HPP_
