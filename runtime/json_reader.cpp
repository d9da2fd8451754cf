#include "runtime/json_reader.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace loyalty::runtime {
namespace {

bool is_plain_key(std::string_view key) {
  if (key.empty() || !(std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_')) return false;
  return std::all_of(key.begin(), key.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

std::string type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

std::string shown(const Json& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

}  // namespace

JsonError::JsonError(std::string path, std::string problem)
    : std::runtime_error(printable(path) + ": " + printable(problem)),
      path_(printable(path)),
      problem_(printable(problem)) {}

void fail(const std::string& path, const std::string& problem) { throw JsonError(path, problem); }

namespace {

// Where the parser is inside the document, for the errors it finds while parsing (a key given
// twice, a number too large): one frame per object or array not yet closed.
class ParsePosition {
 public:
  explicit ParsePosition(const std::string& document) : document_(document) {}

  void open(bool object) {
    // No document of this project nests deeper than a few levels; a deep one is an attack on
    // memory (a frame per level here, a node per level in the result).
    if (frames_.size() == kMaxDepth) fail(path(), "nests deeper than " + std::to_string(kMaxDepth) + " levels");
    frames_.push_back(Frame{object, {}, 0, {}, {}});
  }
  void close() {
    frames_.pop_back();
    value_done();
  }
  void value_done() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }
  // Records the key of the value that follows; a key the object already has is an error, since
  // readers that keep the first of two keys would see another document than this one.
  void key(std::string key) {
    Frame& frame = frames_.back();
    frame.key = key;
    if (!frame.many.empty() || frame.few.size() == kFewKeys) {
      if (frame.many.empty()) frame.many.insert(frame.few.begin(), frame.few.end());
      if (!frame.many.insert(std::move(key)).second) fail(path(), "is given twice (each key may appear once)");
      return;
    }
    if (std::find(frame.few.begin(), frame.few.end(), key) != frame.few.end()) {
      fail(path(), "is given twice (each key may appear once)");
    }
    frame.few.push_back(std::move(key));
  }
  // The path of the value being read.
  std::string path() const {
    std::string out = document_;
    for (const Frame& frame : frames_) out = frame.object ? key_path(out, frame.key) : index_path(out, frame.index);
    return out;
  }

 private:
  static constexpr std::size_t kFewKeys = 16;  // searched in place; larger objects use a set
  static constexpr std::size_t kMaxDepth = 64;
  struct Frame {
    bool object = false;
    std::string key;        // objects: the key being read
    std::size_t index = 0;  // arrays: the index being read
    std::vector<std::string> few;
    std::set<std::string> many;
  };
  const std::string& document_;
  std::vector<Frame> frames_;
};

}  // namespace

Json parse_json(std::string_view text, const std::string& document) {
  ParsePosition position(document);
  const Json::parser_callback_t track = [&position](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start: position.open(true); break;
      case Json::parse_event_t::array_start: position.open(false); break;
      case Json::parse_event_t::key: position.key(parsed.get<std::string>()); break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end: position.close(); break;
      case Json::parse_event_t::value: position.value_done(); break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), track);
  } catch (const Json::parse_error& e) {
    // Turn the byte offset into a line and column a person can find.
    const std::size_t offset = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    const auto before = text.substr(0, offset);
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t last_newline = before.rfind('\n');
    const std::size_t column = offset - (last_newline == std::string_view::npos ? 0 : last_newline + 1) + 1;
    std::string reason = e.what();
    if (auto colon = reason.rfind(": "); colon != std::string::npos) reason = reason.substr(colon + 2);
    fail(document,
         "malformed JSON at line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + reason);
  } catch (const Json::out_of_range&) {
    // The only range error of the parser: a number beyond a double (1e400).
    fail(position.path(), "is a number too large to represent");
  }
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = utf8_sequence_length(text.substr(i));
    const auto byte = static_cast<unsigned char>(text[i]);
    if (length == 0 || (length == 1 && (byte < 0x20 || byte == 0x7f))) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
      ++i;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

std::size_t utf8_sequence_length(std::string_view text) {
  if (text.empty()) return 0;
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char first = at(0);
  if (first < 0x80) return 1;
  // RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (first >= 0xc2 && first <= 0xdf) {
    length = 2;
  } else if (first >= 0xe0 && first <= 0xef) {
    length = 3;
    if (first == 0xe0) low = 0xa0;
    if (first == 0xed) high = 0x9f;
  } else if (first >= 0xf0 && first <= 0xf4) {
    length = 4;
    if (first == 0xf0) low = 0x90;
    if (first == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() < length || at(1) < low || at(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if (at(i) < 0x80 || at(i) > 0xbf) return 0;
  return length;
}

std::string key_path(const std::string& path, std::string_view key) {
  if (is_plain_key(key)) return path + "." + std::string(key);
  return path + "[" + Json(std::string(key)).dump() + "]";
}

std::string index_path(const std::string& path, std::size_t index) { return path + "[" + std::to_string(index) + "]"; }

std::int64_t as_integer(const Json& value, const Where& where, std::int64_t min, std::int64_t max) {
  std::int64_t number = 0;
  const auto range = [&] { return "must be between " + std::to_string(min) + " and " + std::to_string(max); };
  switch (value.type()) {
    case Json::value_t::number_integer: number = value.get<std::int64_t>(); break;
    case Json::value_t::number_unsigned:
      if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(max))
        fail(where.str(), range() + ", got " + shown(value));
      number = static_cast<std::int64_t>(value.get<std::uint64_t>());
      break;
    case Json::value_t::number_float: {
      const double d = value.get<double>();
      if (std::isfinite(d) && std::trunc(d) != d) fail(where.str(), "must be a whole number, got " + shown(value));
      if (std::fabs(d) >= 9.2e18) fail(where.str(), range() + ", got " + shown(value) + " (overflows)");
      fail(where.str(), "must be a whole number written without a fraction or exponent, got " + shown(value));
    }
    default: fail(where.str(), "must be a whole number, got " + type_name(value));
  }
  if (number < min || number > max) fail(where.str(), range() + ", got " + std::to_string(number));
  return number;
}

std::string as_string(const Json& value, const Where& where, std::size_t max_length, Controls controls) {
  if (!value.is_string()) fail(where.str(), "must be a string, got " + type_name(value));
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() > max_length) fail(where.str(), "must be at most " + std::to_string(max_length) + " characters");
  // The parser has checked the UTF-8; what is left is a control character (NUL, a tab, an
  // escape), which no id, name or reason has and which would reach the journal and receipts.
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != 0x7f) continue;
    if (controls == Controls::line_breaks && (c == '\n' || c == '\r' || c == '\t')) continue;
    fail(where.str(),
         "must not contain control characters, got " + printable(text.substr(i, 1)) + " at byte " + std::to_string(i));
  }
  return text;
}

Reader::Reader(const Json& value, std::string path, Unknown unknown)
    : value_(value), path_(std::move(path)), unknown_(unknown) {
  if (!value_.is_object()) fail(path_, "must be an object, got " + type_name(value_));
}

bool Reader::has(std::string_view key) { return value(key) != nullptr; }

const Json* Reader::value(std::string_view key) {
  known_.push_back(key);  // duplicates are harmless; finish() only tests membership
  const auto it = value_.find(key);
  return it == value_.end() ? nullptr : &*it;
}

const Json& Reader::required(std::string_view key) {
  const Json* v = value(key);
  if (v == nullptr) missing(key);
  return *v;
}

void Reader::missing(std::string_view key) const { fail(path_of(key), "is required"); }

std::int64_t Reader::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  return as_integer(required(key), Where(path_, key), min, max);
}

std::int64_t Reader::integer_or(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const Json* v = value(key);
  return v == nullptr ? fallback : as_integer(*v, Where(path_, key), min, max);
}

std::optional<std::int64_t> Reader::optional_integer(std::string_view key, std::int64_t min, std::int64_t max) {
  const Json* v = value(key);
  if (v == nullptr) return std::nullopt;
  return as_integer(*v, Where(path_, key), min, max);
}

std::string Reader::string(std::string_view key, std::size_t max_length) {
  return as_string(required(key), Where(path_, key), max_length);
}

std::string Reader::multiline_string(std::string_view key, std::size_t max_length) {
  return as_string(required(key), Where(path_, key), max_length, Controls::line_breaks);
}

std::string Reader::string_or(std::string_view key, std::string fallback, std::size_t max_length) {
  const Json* v = value(key);
  return v == nullptr ? fallback : as_string(*v, Where(path_, key), max_length);
}

bool Reader::boolean_or(std::string_view key, bool fallback) {
  const Json* v = value(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) fail(path_of(key), "must be true or false, got " + type_name(*v));
  return v->get<bool>();
}

std::vector<std::string> Reader::strings_or_empty(std::string_view key, std::size_t max_length) {
  const Json* v = value(key);
  std::vector<std::string> out;
  if (v == nullptr) return out;
  const std::string where = path_of(key);
  if (!v->is_array()) fail(where, "must be an array of strings, got " + type_name(*v));
  for (std::size_t i = 0; i < v->size(); ++i) {
    const std::string item_path = index_path(where, i);
    std::string item = as_string((*v)[i], Where(item_path), max_length);
    if (std::find(out.begin(), out.end(), item) != out.end())
      fail(index_path(where, i), "\"" + item + "\" is listed twice");
    out.push_back(std::move(item));
  }
  return out;
}

Reader Reader::object(std::string_view key) { return Reader(required(key), path_of(key), unknown_); }

const Json& Reader::array(std::string_view key, std::size_t max_items) {
  const Json& v = required(key);
  if (!v.is_array()) fail(path_of(key), "must be an array, got " + type_name(v));
  if (v.size() > max_items) fail(path_of(key), "must have at most " + std::to_string(max_items) + " items");
  return v;
}

void Reader::finish() const {
  if (unknown_ == Unknown::ignore) return;
  for (const auto& [key, v] : value_.items()) {
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::vector<std::string_view> names;
    for (std::string_view k : known_)
      if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
    std::string expected;
    for (std::string_view k : names) (expected += expected.empty() ? "" : ", ") += k;
    fail(key_path(path_, key), "unknown field (expected one of: " + expected + ")");
  }
}

}  // namespace loyalty::runtime
