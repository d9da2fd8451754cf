#include "storage/sqlite.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace loyalty::storage {
namespace {

std::string describe(int code, std::string_view operation, std::string_view detail) {
  std::string message(operation);
  message += ": ";
  message += detail;
  const std::string_view name = sqlite3_errstr(code);
  if (detail != name) {
    message += " (";
    message += name;
    message += ")";
  }
  return message;
}

// The URI that opens `path` with Creation::no_writes (see there). Throws when the write-ahead
// log holds transactions that cannot be read without a shared-memory file that cannot be made.
std::string no_writes_uri(const std::filesystem::path& path) {
  std::string uri = "file:";
  for (const char c : std::filesystem::absolute(path).lexically_normal().string()) {
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[static_cast<unsigned char>(c) >> 4];
      uri += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      uri += c;
    }
  }
  std::error_code error;
  const std::uintmax_t log_size = std::filesystem::file_size(path.string() + "-wal", error);
  if (error || log_size == 0) return uri + "?immutable=1";
  const std::string shm = path.string() + "-shm";
  struct stat file {};
  const mode_t mode = ::stat(path.c_str(), &file) == 0 ? (file.st_mode & 0777) : 0600;
  const int fd = ::open(shm.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    throw Error(SQLITE_CANTOPEN, "open " + path.string() + " without writing",
                "its write-ahead log holds transactions, and the shared-memory file to read them with cannot be "
                "created: " +
                    std::string(std::strerror(errno)));
  }
  return uri + "?mode=ro&readonly_shm=1";
}

int to_int(std::size_t size, std::string_view what) {
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw Error(SQLITE_TOOBIG, what, "value too large");
  }
  return static_cast<int>(size);
}

}  // namespace

Error::Error(int code, std::string_view operation, std::string_view detail)
    : std::runtime_error(describe(code, operation, detail)), code_(code) {}

Error::Error(const Error& cause, std::string_view operation)
    : std::runtime_error(std::string(operation) + ": " + cause.what()), code_(cause.code_) {}

bool Error::disk_full() const { return primary_code() == SQLITE_FULL; }

bool Error::damaged() const { return primary_code() == SQLITE_CORRUPT || primary_code() == SQLITE_NOTADB; }

// ---------------------------------------------------------------------------------------------

Statement::Statement(Database& db, std::string_view sql) : db_(db), sql_(sql) {
  const int rc = sqlite3_prepare_v3(db.handle(), sql.data(), to_int(sql.size(), "prepare"), SQLITE_PREPARE_PERSISTENT,
                                    &stmt_, nullptr);
  if (rc != SQLITE_OK) db_.fail(rc, "prepare '" + sql_ + "'");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_.fail(rc, "bind");
  return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::uint8_t> bytes) {
  // A zero-length blob must still be a blob, not NULL: SQLite binds NULL for a null pointer.
  static const std::uint8_t empty = 0;
  const void* data = bytes.empty() ? &empty : bytes.data();
  const int rc = sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) db_.fail(rc, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_.fail(rc, "bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(rc, "run '" + sql_ + "'");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::string Statement::blob_string(int column) const {
  const auto view = blob_view(column);
  return std::string(reinterpret_cast<const char*>(view.data()), view.size());
}

std::span<const std::uint8_t> Statement::blob_view(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr) return {};
  return {data, static_cast<std::size_t>(size)};
}

// ---------------------------------------------------------------------------------------------

Database::Database(const std::filesystem::path& path, const OpenOptions& options) : path_(path) {
  int flags = SQLITE_OPEN_NOMUTEX;
  switch (options.creation) {
    case Creation::create_if_missing: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    case Creation::must_exist: flags |= SQLITE_OPEN_READWRITE; break;
    case Creation::read_only: flags |= SQLITE_OPEN_READONLY; break;
    case Creation::no_writes: flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI; break;
  }
  const std::string name = options.creation == Creation::no_writes ? no_writes_uri(path) : path.string();
  const int rc = sqlite3_open_v2(name.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : "cannot open";
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Error(rc, "open " + path.string(), detail);
  }
  sqlite3_extended_result_codes(db_, 1);
  try {
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    // Reading the schema reads the file header: a file that is not a database, or whose
    // header is damaged, fails here, before anything could write to it.
    query_integer("PRAGMA schema_version");
    if (writable(options.creation)) {
      exec("PRAGMA journal_mode=WAL", "enable WAL on " + path.string());
    }
    set_durability(options.durability);
    exec("PRAGMA cache_size=-" + std::to_string(options.cache_kib), "set cache size");
    exec("PRAGMA foreign_keys=ON", "enable foreign keys");
  } catch (const Error& error) {
    cache_.clear();
    sqlite3_close_v2(db_);
    db_ = nullptr;
    if (error.damaged()) {
      throw Error(error.code(), "open " + path.string(),
                  "the file is not a SQLite database or is damaged; it was left untouched");
    }
    throw;
  }
}

Database::~Database() {
  cache_.clear();
  sqlite3_close_v2(db_);
}

void Database::exec(std::string_view sql, std::string_view operation) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    const std::string detail = message != nullptr ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw Error(sqlite3_extended_errcode(db_), operation, detail);
  }
}

void Database::set_durability(Durability durability) {
  exec(durability == Durability::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", "set synchronous");
}

Statement& Database::cached(std::string_view sql) {
  auto found = cache_.find(sql);
  if (found != cache_.end()) return *found->second;
  auto [it, inserted] = cache_.emplace(std::string(sql), std::make_unique<Statement>(*this, sql));
  return *it->second;
}

std::optional<std::int64_t> Database::query_integer(std::string_view sql) {
  Statement statement(*this, sql);
  if (!statement.step()) return std::nullopt;
  return statement.integer(0);
}

bool Database::has_table(std::string_view name) {
  Statement statement(*this, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?");
  statement.bind(1, name);
  return statement.step();
}

std::vector<std::string> Database::check(bool thorough) {
  Statement statement(*this, thorough ? "PRAGMA integrity_check" : "PRAGMA quick_check");
  std::vector<std::string> problems;
  while (statement.step()) {
    std::string line = statement.text(0);
    if (line != "ok") problems.push_back(std::move(line));
  }
  return problems;
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Database::changes() const { return sqlite3_changes(db_); }

void Database::fail(int code, std::string_view operation) const {
  const int extended = sqlite3_extended_errcode(db_);
  throw Error(extended != SQLITE_OK ? extended : code, operation, sqlite3_errmsg(db_));
}

// ---------------------------------------------------------------------------------------------

Transaction::Transaction(Database& db, std::string_view operation) : db_(db), operation_(operation) {
  StatementUse begin(db_.cached("BEGIN IMMEDIATE"));
  try {
    begin->run();
  } catch (const Error& error) {
    throw Error(error, operation_);
  }
}

Transaction::~Transaction() {
  if (!open_) return;
  // A failed statement may already have rolled the transaction back (SQLITE_FULL can); then
  // ROLLBACK reports an error that is not worth a throw from a destructor.
  StatementUse rollback(db_.cached("ROLLBACK"));
  try {
    rollback->run();
  } catch (const Error&) {
  }
}

void Transaction::commit() {
  StatementUse commit(db_.cached("COMMIT"));
  try {
    commit->run();
  } catch (const Error& error) {
    throw Error(error, operation_);
  }
  open_ = false;
}

// ---------------------------------------------------------------------------------------------

int migrate(Database& db, std::span<const Migration> migrations, std::string_view schema_name) {
  const int latest = static_cast<int>(migrations.size());
  for (int i = 0; i < latest; ++i) {
    if (migrations[static_cast<std::size_t>(i)].version != i + 1) {
      throw std::logic_error("migrations of " + std::string(schema_name) + " are not numbered 1, 2, 3, ...");
    }
  }
  const auto found = static_cast<int>(db.query_integer("PRAGMA user_version").value_or(0));
  if (found > latest) {
    // A file from before the table existed needs a release that knows its exact version.
    const auto oldest = db.has_table("schema_compatibility")
                            ? db.query_integer("SELECT oldest_schema FROM schema_compatibility")
                            : std::nullopt;
    const int needed = static_cast<int>(oldest.value_or(found));
    if (needed > latest) {
      throw Error(SQLITE_ERROR, "open " + db.path().string(),
                  std::string(schema_name) + " schema version " + std::to_string(found) +
                      " was written by a newer release and needs a release that knows version " +
                      std::to_string(needed) + " (this one knows up to " + std::to_string(latest) +
                      "); refusing to use it: install that release again");
    }
    return found;
  }
  // The version of the last breaking step the file already has.
  int oldest = 0;
  for (int version = 1; version <= found; ++version) {
    if (migrations[static_cast<std::size_t>(version - 1)].compatibility == Compatibility::breaking) oldest = version;
  }
  for (int version = found + 1; version <= latest; ++version) {
    const Migration& step = migrations[static_cast<std::size_t>(version - 1)];
    const std::string operation =
        "migrate " + std::string(schema_name) + " schema to version " + std::to_string(version);
    Transaction transaction(db, operation);
    db.exec(step.sql, operation);
    if (step.compatibility == Compatibility::breaking) oldest = version;
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_compatibility (oldest_schema INTEGER NOT NULL) STRICT;"
        "DELETE FROM schema_compatibility; INSERT INTO schema_compatibility VALUES (" +
            std::to_string(oldest) + ")",
        operation);
    db.exec("PRAGMA user_version=" + std::to_string(version), operation);
    transaction.commit();
  }
  return found;
}

}  // namespace loyalty::storage
