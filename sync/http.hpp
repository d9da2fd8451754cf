// HTTP messages with JSON bodies, as both ends of the project answer them: the agent's POS
// API and the ledger's sync API. Errors have one shape everywhere:
//   {"error": {"code": "broken_chain", "message": "entry T1#8 does not link to ..."}}

#ifndef LOYALTY_SYNC_HTTP_HPP_
#define LOYALTY_SYNC_HTTP_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/asio.hpp"

namespace loyalty::sync {

using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// An answer with a JSON body and Cache-Control: no-store.
HttpResponse json_response(http::status status, const std::string& body);
HttpResponse error_response(http::status status, std::string_view code, std::string_view message);

// The value of `name` in a query string ("after=12&wait_ms=25000") as a whole number from 0 to
// `max`; nullopt when it is absent. Throws JsonError naming the parameter for anything else.
std::optional<std::int64_t> query_integer(std::string_view query, std::string_view name, std::int64_t max);

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_HTTP_HPP_
