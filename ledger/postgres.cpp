#include "ledger/postgres.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>

namespace loyalty::ledger::pg {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string trimmed(std::string_view message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.remove_suffix(1);
  return std::string(message);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void ignore_notice(void*, const char*) {}

}  // namespace

Error::Error(std::string sqlstate, std::string_view operation, std::string_view detail)
    : std::runtime_error(std::string(operation) + ": PostgreSQL " + (sqlstate.empty() ? "" : sqlstate + ": ") +
                         trimmed(detail)),
      sqlstate_(std::move(sqlstate)) {}

bool Error::connection_lost() const {
  return sqlstate_.empty() || sqlstate_.starts_with("08") || sqlstate_ == "57P01" || sqlstate_ == "57P02" ||
         sqlstate_ == "57P03";
}

void Result::Free::operator()(pg_result* result) const { PQclear(result); }

Result::Result(pg_result* result) : result_(result) {}

int Result::rows() const { return PQntuples(result_.get()); }

bool Result::is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }

std::string_view Result::text(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column), static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::int64_t Result::integer(int row, int column) const {
  const std::string_view value = text(row, column);
  std::int64_t out = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (error != std::errc() || end != value.data() + value.size()) {
    throw Error("", "read an integer column", "the server sent \"" + std::string(value) + "\"");
  }
  return out;
}

std::string Result::bytes(int row, int column) const {
  const std::string_view value = text(row, column);
  if (!value.starts_with("\\x") || value.size() % 2 != 0) {
    throw Error("", "read a bytea column", "not in hex form (bytea_output must be 'hex')");
  }
  std::string out;
  out.reserve(value.size() / 2 - 1);
  for (std::size_t i = 2; i < value.size(); i += 2) {
    const int high = hex_digit(value[i]);
    const int low = hex_digit(value[i + 1]);
    if (high < 0 || low < 0) throw Error("", "read a bytea column", "a character that is not a hex digit");
    out.push_back(static_cast<char>(high * 16 + low));
  }
  return out;
}

std::int64_t Result::changed() const {
  const char* count = PQcmdTuples(result_.get());
  return count[0] == '\0' ? 0 : std::stoll(count);
}

Connection::Connection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
  if (conn_ == nullptr) throw Error("", "connect to PostgreSQL", "out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string message = PQerrorMessage(conn_);
    PQfinish(conn_);
    conn_ = nullptr;
    throw Error("08001", "connect to PostgreSQL", message);
  }
  PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
}

Connection::Connection(Connection&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = other.conn_;
    other.conn_ = nullptr;
  }
  return *this;
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Result Connection::check(std::string_view operation, pg_result* result) {
  Result owned(result);
  if (result == nullptr) throw Error("", operation, PQerrorMessage(conn_));
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN) return owned;
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
  std::string message = primary != nullptr ? primary : PQerrorMessage(conn_);
  if (detail != nullptr) message += std::string(" (") + detail + ")";
  throw Error(sqlstate != nullptr ? sqlstate : "", operation, message);
}

Result Connection::exec(std::string_view operation, const std::string& sql) {
  return check(operation, PQexec(conn_, sql.c_str()));
}

Result Connection::exec(std::string_view operation, const std::string& sql, std::span<const Param> params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& param : params) values.push_back(param ? param->c_str() : nullptr);
  return check(operation, PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                       nullptr, nullptr, 0));
}

void Connection::copy_in(std::string_view operation, const std::string& sql, const CopyRows& copy) {
  pg_result* started = PQexec(conn_, sql.c_str());
  if (started != nullptr && PQresultStatus(started) != PGRES_COPY_IN) {
    check(operation, started);  // throws for an error
    throw Error("", operation, "the server did not start a COPY");
  }
  if (started == nullptr) throw Error("", operation, PQerrorMessage(conn_));
  PQclear(started);
  const std::string_view rows = copy.data();
  // In pieces: PQputCopyData takes an int length.
  constexpr std::size_t kPiece = 1 << 20;
  for (std::size_t at = 0; at < rows.size(); at += kPiece) {
    const std::size_t length = std::min(kPiece, rows.size() - at);
    if (PQputCopyData(conn_, rows.data() + at, static_cast<int>(length)) != 1) {
      throw Error("", operation, PQerrorMessage(conn_));
    }
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) throw Error("", operation, PQerrorMessage(conn_));
  std::optional<Error> failure;
  while (pg_result* result = PQgetResult(conn_)) {
    try {
      check(operation, result);
    } catch (const Error& error) {
      if (!failure) failure = error;
    }
  }
  if (failure) throw *failure;
}

bool Connection::ok() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

int Connection::server_version() const { return PQserverVersion(conn_); }

std::string bytea(std::span<const std::uint8_t> bytes) {
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (const std::uint8_t byte : bytes) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0x0f]);
  }
  return out;
}

std::string bytea(std::string_view bytes) {
  return bytea(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::string text_array(std::span<const std::string> values) {
  std::string out = "{";
  for (const std::string& value : values) {
    if (out.size() > 1) out.push_back(',');
    out.push_back('"');
    for (const char c : value) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

void CopyRows::separate() {
  if (in_row_) data_.push_back('\t');
  in_row_ = true;
}

CopyRows& CopyRows::text(std::string_view value) {
  separate();
  for (const char c : value) {
    switch (c) {
      case '\\': data_ += "\\\\"; break;
      case '\t': data_ += "\\t"; break;
      case '\n': data_ += "\\n"; break;
      case '\r': data_ += "\\r"; break;
      default: data_.push_back(c);
    }
  }
  return *this;
}

CopyRows& CopyRows::integer(std::int64_t value) {
  separate();
  data_ += std::to_string(value);
  return *this;
}

CopyRows& CopyRows::null() {
  separate();
  data_ += "\\N";
  return *this;
}

CopyRows& CopyRows::bytes(std::span<const std::uint8_t> value) {
  separate();
  data_ += "\\\\x";  // the backslash of bytea's hex form, escaped for COPY
  for (const std::uint8_t byte : value) {
    data_.push_back(kHex[byte >> 4]);
    data_.push_back(kHex[byte & 0x0f]);
  }
  return *this;
}

CopyRows& CopyRows::bytes(std::string_view value) {
  return bytes(std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
}

void CopyRows::end_row() {
  data_.push_back('\n');
  in_row_ = false;
  ++rows_;
}

std::string conninfo_value(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace loyalty::ledger::pg
