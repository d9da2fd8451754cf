// A thin RAII layer over the SQLite C API: a connection, its prepared statements and its
// transactions. Every failure becomes a storage::Error that carries the SQLite result code and
// names the operation that failed, so a full disk or a damaged file reads as such at the top.
//
// Nothing here is thread-safe: a Database and its statements belong to one thread (the agent's
// event loop, or one worker of a thread pool with its own connection).

#ifndef LOYALTY_STORAGE_SQLITE_HPP_
#define LOYALTY_STORAGE_SQLITE_HPP_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace loyalty::storage {

// A failed SQLite call. code() is the extended result code (SQLITE_FULL, SQLITE_CORRUPT, ...);
// what() reads "OPERATION: SQLite's message (code name)".
class Error : public std::runtime_error {
 public:
  Error(int code, std::string_view operation, std::string_view detail);
  // The same failure seen from a wider operation: "OPERATION: cause's message".
  Error(const Error& cause, std::string_view operation);

  int code() const { return code_; }
  // The primary result code: code() & 0xff.
  int primary_code() const { return code_ & 0xff; }
  bool disk_full() const;
  bool damaged() const;  // SQLITE_CORRUPT or SQLITE_NOTADB

 private:
  int code_;
};

// How hard a commit tries to reach the disk. `full` syncs the WAL on every commit, so a
// committed transaction survives a power cut; `normal` may lose the last commits on power loss
// (never on a process crash) and suits caches that can be rebuilt.
enum class Durability { full, normal };

// Whether opening may create the file, and whether the connection may write.
//   read_only   reads, as SQLite's read-only connections do: it may still create the
//               write-ahead log and the shared-memory index beside the file.
//   no_writes   reads from a disk that takes no writes (full, or mounted read-only), adding
//               nothing to it: the file alone when its write-ahead log is missing or empty,
//               otherwise the log read into memory through a read-only shared-memory file
//               (created empty when missing: an empty file takes an inode, no data blocks).
enum class Creation { create_if_missing, must_exist, read_only, no_writes };

// Whether a connection opened so may write.
inline bool writable(Creation creation) { return creation != Creation::read_only && creation != Creation::no_writes; }

struct OpenOptions {
  Durability durability = Durability::full;
  Creation creation = Creation::create_if_missing;
  int busy_timeout_ms = 5000;
  // Page cache in KiB for this connection (SQLite's cache_size, negative form). Every
  // connection's cache counts against the agent's memory budget (docs/performance.md). A miss
  // is a read from the OS's page cache, a few microseconds; 1 MiB keeps the upper levels of a
  // million-member cache's B-trees, so an identify misses on a few pages at most.
  int cache_kib = 1024;
};

class Database;

// A prepared statement. Binding indices start at 1, column indices at 0, as in SQLite.
// A Statement must not outlive the Database that prepared it.
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::span<const std::uint8_t> bytes);
  Statement& bind_null(int index);

  // Runs one step: true when a row is ready to read, false when the statement is done.
  bool step();
  // Steps until done; for statements that return no rows.
  void run();
  // Resets the statement and clears its bindings so that it can run again.
  void reset();

  bool is_null(int column) const;
  std::int64_t integer(int column) const;
  std::string text(int column) const;
  // A blob column's bytes as a string (payloads and documents are kept as std::string).
  std::string blob_string(int column) const;
  // A view of a blob column, valid until the next step(), reset() or column read of this column.
  std::span<const std::uint8_t> blob_view(int column) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

// Resets a cached statement when the scope that used it ends, also on exceptions.
class StatementUse {
 public:
  explicit StatementUse(Statement& statement) : statement_(statement) {}
  ~StatementUse() { statement_.reset(); }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  Statement* operator->() const { return &statement_; }
  Statement& operator*() const { return statement_; }

 private:
  Statement& statement_;
};

// One connection to one database file, in WAL mode with the chosen durability.
class Database {
 public:
  // Opens (or creates) the file. A file that exists but is not a SQLite database, or whose
  // header is damaged, throws an Error with damaged() true and is left untouched.
  Database(const std::filesystem::path& path, const OpenOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows.
  void exec(std::string_view sql, std::string_view operation);
  // Sets synchronous=FULL or NORMAL for the commits that follow.
  void set_durability(Durability durability);

  // A statement prepared once per connection and kept for its lifetime. Wrap the use in a
  // StatementUse so that it is reset afterwards.
  Statement& cached(std::string_view sql);

  // A single integer from a query such as "PRAGMA user_version"; nullopt when no row.
  std::optional<std::int64_t> query_integer(std::string_view sql);
  // Whether the schema has a table named `name` (one a later migration adds, say).
  bool has_table(std::string_view name);

  // Runs PRAGMA quick_check (or integrity_check when `thorough`) and returns the problems it
  // reports, empty when the file is sound.
  std::vector<std::string> check(bool thorough);

  std::int64_t last_insert_rowid() const;
  int changes() const;
  const std::filesystem::path& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // Throws Error(code, operation) with this connection's message.
  [[noreturn]] void fail(int code, std::string_view operation) const;

 private:
  // Lets cached() find a statement by string_view, without building a string per lookup.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };

  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT. The destructor rolls back a transaction that was not committed,
// so an exception between the two leaves nothing behind.
class Transaction {
 public:
  explicit Transaction(Database& db, std::string_view operation);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  Database& db_;
  std::string operation_;
  bool open_ = true;
};

// Whether a release that knows only the schema before a migration may go on using a file
// after it. `additive`: the step only adds what older code never reads and need not keep up to
// date (a table, an index, a nullable column), so rolling the package back keeps working.
// `breaking`: older code would misread or corrupt the file, and refuses it.
enum class Compatibility { breaking, additive };

// A schema change from user_version `version - 1` to `version`.
struct Migration {
  int version;
  std::string_view sql;
  Compatibility compatibility = Compatibility::breaking;
};

// Brings the database to the last migration's version, applying each missing step in its own
// transaction (so a failure leaves the file at the last complete version). Migrations must be
// numbered 1, 2, 3, ... in order. The file also records the oldest schema a release must know
// to use it (table schema_compatibility: the version of the last breaking step). A file newer
// than the code is used as it is when the code knows at least that version (a rollback over
// additive steps), and refused otherwise: a downgraded agent must not write to a schema it
// would break. Returns the version the file was at.
int migrate(Database& db, std::span<const Migration> migrations, std::string_view schema_name);

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_SQLITE_HPP_
