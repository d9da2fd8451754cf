#include "sync/http.hpp"

#include "runtime/json_reader.hpp"

namespace loyalty::sync {

using runtime::JsonError;
using runtime::OrderedJson;

HttpResponse json_response(http::status status, const std::string& body) {
  HttpResponse response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.body() = body;
  response.body() += "\n";
  response.prepare_payload();
  return response;
}

HttpResponse error_response(http::status status, std::string_view code, std::string_view message) {
  OrderedJson body;
  body["error"] = {{"code", code}, {"message", message}};
  // A message may quote what the client sent: invalid UTF-8 in it must not fail the answer.
  return json_response(status, body.dump(-1, ' ', false, OrderedJson::error_handler_t::replace));
}

std::optional<std::int64_t> query_integer(std::string_view query, std::string_view name, std::int64_t max) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (value.empty() || value.size() > 18 || value.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoll(std::string(value)) > max) {
      throw JsonError(std::string(name), "must be a whole number from 0 to " + std::to_string(max));
    }
    return std::stoll(std::string(value));
  }
  return std::nullopt;
}

}  // namespace loyalty::sync
