#include "ledger/open_store.hpp"

#include "ledger/postgres_store.hpp"

namespace loyalty::ledger {
namespace {

// postgresql://user:password@host/...: drops ":password".
std::string without_password_in_authority(std::string_view db) {
  const std::size_t scheme = db.find("://") + 3;
  const std::size_t at = db.find('@', scheme);
  const std::size_t slash = db.find('/', scheme);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) return std::string(db);
  const std::size_t colon = db.find(':', scheme);
  if (colon == std::string_view::npos || colon > at) return std::string(db);
  return std::string(db.substr(0, colon)) + std::string(db.substr(at));
}

// ...?password=secret&...: drops the parameter.
std::string without_password_parameter(std::string_view db) {
  const std::size_t query = db.find('?');
  if (query == std::string_view::npos) return std::string(db);
  std::string out(db.substr(0, query));
  std::string_view rest = db.substr(query + 1);
  char separator = '?';
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view param = rest.substr(0, amp);
    if (!param.starts_with("password=")) {
      out += separator;
      out += param;
      separator = '&';
    }
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  return out;
}

}  // namespace

bool names_postgres(std::string_view db) { return db.starts_with("postgresql://") || db.starts_with("postgres://"); }

std::unique_ptr<LedgerStore> open_store(const std::string& db, const SqliteStore::Options& options) {
  if (names_postgres(db)) {
    PostgresStore::Options postgres;
    postgres.conninfo = db;
    postgres.migrate = options.creation == storage::Creation::create_if_missing;
    return std::make_unique<PostgresStore>(std::move(postgres));
  }
  return std::make_unique<SqliteStore>(db, options);
}

std::string describe_store(std::string_view db) {
  if (!names_postgres(db)) return std::string(db);
  return without_password_in_authority(without_password_parameter(db));
}

}  // namespace loyalty::ledger
