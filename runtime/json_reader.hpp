// Strict reading of JSON documents, with errors that name the path of what is wrong.
//
// Every document that comes from outside (a rulebook, a basket, a member, a return) is
// read through Reader: a field is either known and of the right type and range, or the
// whole document is rejected with "basket.lines[2].qty: must be a whole number, got 1.5".
// Unknown fields are errors too, so a misspelt "cap_pb" is never silently ignored.
#ifndef LOYALTY_RUNTIME_JSON_READER_HPP_
#define LOYALTY_RUNTIME_JSON_READER_HPP_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace loyalty::runtime {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;  // output documents keep a readable field order

// A document was rejected: `path` says where ("rulebook.redemption.cap_bp"), `problem` what.
class JsonError : public std::runtime_error {
 public:
  JsonError(std::string path, std::string problem);
  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string path_;
  std::string problem_;
};

[[noreturn]] void fail(const std::string& path, const std::string& problem);

// Parses `text` as JSON. A syntax error (invalid UTF-8 among them) becomes a JsonError for
// `document` naming the line and column; a key given twice in one object and a number too
// large for a double and nesting deeper than 64 levels are JsonErrors naming their path.
Json parse_json(std::string_view text, const std::string& document);

// `text` with bytes that are not valid UTF-8, and ASCII control characters, written as \xNN:
// safe to put into a message, a log line or a JSON answer.
std::string printable(std::string_view text);
// The length of the valid UTF-8 sequence that starts `text`, or 0 when it starts with none.
std::size_t utf8_sequence_length(std::string_view text);

// `path` extended by an object key: ".name" for plain keys, ["..."] for any other.
std::string key_path(const std::string& path, std::string_view key);
// `path` extended by an array index: "[3]".
std::string index_path(const std::string& path, std::size_t index);

// Where a value sits: a parent path and a key, built into text only when an error needs it
// (reading a valid document builds no path strings).
class Where {
 public:
  Where(const std::string& parent, std::string_view key) : parent_(parent), key_(key) {}
  explicit Where(const std::string& path) : parent_(path) {}
  std::string str() const { return key_.empty() ? parent_ : key_path(parent_, key_); }

 private:
  const std::string& parent_;
  std::string_view key_;
};

// Reads one JSON object. Each accessor records its key as known; finish() then rejects any
// key that no accessor asked for. Accessors throw JsonError. Keys are kept as views: pass
// string literals (or strings that outlive the Reader).
class Reader {
 public:
  enum class Unknown { reject, ignore };

  // `value` must outlive the Reader.
  Reader(const Json& value, std::string path, Unknown unknown = Unknown::reject);

  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const { return key_path(path_, key); }
  bool has(std::string_view key);

  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::int64_t integer_or(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> optional_integer(std::string_view key, std::int64_t min, std::int64_t max);
  // Strings are at most `max_length` bytes and hold no control characters.
  std::string string(std::string_view key, std::size_t max_length = 256);
  // A string that may hold line breaks and tabs (a document carried inside another).
  std::string multiline_string(std::string_view key, std::size_t max_length);
  std::string string_or(std::string_view key, std::string fallback, std::size_t max_length = 256);
  bool boolean_or(std::string_view key, bool fallback);
  std::vector<std::string> strings_or_empty(std::string_view key, std::size_t max_length = 256);

  // One of a fixed set of names, mapped to a value.
  template <class T>
  T choice(std::string_view key, std::initializer_list<std::pair<std::string_view, T>> options,
           std::optional<std::type_identity_t<T>> fallback = std::nullopt) {
    if (!has(key)) {
      if (fallback) return *fallback;
      missing(key);
    }
    const std::string text = string(key, 64);
    std::string names;
    for (const auto& [name, value] : options) {
      if (name == text) return value;
      names += names.empty() ? "" : ", ";
      names += name;
    }
    fail(path_of(key), "must be one of " + names + ", got \"" + text + "\"");
  }

  Reader object(std::string_view key);
  // The array at `key` (required), with at most `max_items` items.
  const Json& array(std::string_view key, std::size_t max_items);
  // The raw value at `key`, or nullptr when absent.
  const Json* value(std::string_view key);

  // Rejects keys that no accessor asked for.
  void finish() const;

 private:
  [[noreturn]] void missing(std::string_view key) const;
  const Json& required(std::string_view key);

  const Json& value_;
  std::string path_;
  Unknown unknown_;
  std::vector<std::string_view> known_;
};

// The integer held by `value`, or a JsonError at `path` for fractions, exponents, strings,
// values out of [min, max] and numbers too large to represent.
std::int64_t as_integer(const Json& value, const Where& where, std::int64_t min, std::int64_t max);
// The string held by `value`, at most `max_length` bytes, without control characters (with
// `line_breaks`: none but line feed, carriage return and tab).
enum class Controls { none, line_breaks };
std::string as_string(const Json& value, const Where& where, std::size_t max_length,
                      Controls controls = Controls::none);

}  // namespace loyalty::runtime

#endif  // LOYALTY_RUNTIME_JSON_READER_HPP_
