// A thin RAII layer over libpq, PostgreSQL's C client: a connection, its queries with
// parameters, COPY for bulk rows, and results. Every failure becomes a pg::Error that names the
// operation and carries PostgreSQL's SQLSTATE and message, so that a refused login, a full disk
// on the server or a lost connection reads as such at the top.
//
// Values travel as text, in both directions: integers in decimal, bytea in PostgreSQL's hex
// form (`\x0a1b...`), arrays as array literals (text_array(), bytea_array()).
//
// A Connection belongs to one thread at a time.

#ifndef LOYALTY_LEDGER_POSTGRES_HPP_
#define LOYALTY_LEDGER_POSTGRES_HPP_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace loyalty::ledger::pg {

// A failed libpq call or statement. what() reads "OPERATION: PostgreSQL SQLSTATE: message".
class Error : public std::runtime_error {
 public:
  Error(std::string sqlstate, std::string_view operation, std::string_view detail);

  // The five-character SQLSTATE ("40P01"); "" when the failure has none (the connection was lost
  // before an answer came).
  const std::string& sqlstate() const { return sqlstate_; }
  // A serialization failure (40001) or a deadlock (40P01): the transaction may succeed if run
  // again.
  bool transient() const { return sqlstate_ == "40001" || sqlstate_ == "40P01"; }
  // The server went away or the connection broke (class 08, 57P01..57P03, or no SQLSTATE).
  bool connection_lost() const;

 private:
  std::string sqlstate_;
};

// A parameter: a value as text, or SQL NULL.
using Param = std::optional<std::string>;

class Result {
 public:
  explicit Result(pg_result* result);
  int rows() const;
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;
  std::int64_t integer(int row, int column) const;
  // A bytea column, decoded from its hex form.
  std::string bytes(int row, int column) const;
  // The number of rows an INSERT, UPDATE or DELETE changed.
  std::int64_t changed() const;

 private:
  struct Free {
    void operator()(pg_result* result) const;
  };
  std::unique_ptr<pg_result, Free> result_;
};

class Connection {
 public:
  // Connects with a libpq connection string ("host=... dbname=... user=..."). Throws pg::Error.
  explicit Connection(const std::string& conninfo);
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // Runs one statement (or several, without parameters); returns the last result.
  Result exec(std::string_view operation, const std::string& sql);
  Result exec(std::string_view operation, const std::string& sql, std::span<const Param> params);
  Result exec(std::string_view operation, const std::string& sql, std::initializer_list<Param> params) {
    return exec(operation, sql, std::span<const Param>(params.begin(), params.size()));
  }
  // COPY ... FROM STDIN with rows in COPY's text format.
  void copy_in(std::string_view operation, const std::string& sql, const class CopyRows& rows);

  // Whether the connection is still usable (false after the server went away).
  bool ok() const;
  // The server's version as PostgreSQL numbers it (150008 for 15.8).
  int server_version() const;

 private:
  Result check(std::string_view operation, pg_result* result);
  pg_conn* conn_ = nullptr;
};

// Rows for COPY ... FROM STDIN, in its text format: values escaped, a tab between them, a
// newline after each row.
class CopyRows {
 public:
  CopyRows& text(std::string_view value);
  CopyRows& integer(std::int64_t value);
  CopyRows& null();
  CopyRows& bytes(std::span<const std::uint8_t> value);
  CopyRows& bytes(std::string_view value);
  void end_row();

  const std::string& data() const { return data_; }
  std::size_t rows() const { return rows_; }

 private:
  void separate();
  std::string data_;
  std::size_t rows_ = 0;
  bool in_row_ = false;
};

// A bytea parameter in hex form.
std::string bytea(std::span<const std::uint8_t> bytes);
std::string bytea(std::string_view bytes);
// An array literal of text values ({"a","b"}), for `$1::text[]`.
std::string text_array(std::span<const std::string> values);

// Quotes a string for a libpq connection string (key='value').
std::string conninfo_value(std::string_view value);

}  // namespace loyalty::ledger::pg

#endif  // LOYALTY_LEDGER_POSTGRES_HPP_
