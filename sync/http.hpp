// HTTP messages with JSON bodies, as both ends of the project answer them: the agent's POS
// API and the ledger's sync API. Errors have one shape everywhere:
//   {"error": {"code": "broken_chain", "message": "entry T1#8 does not link to ..."}}

#ifndef LOYALTY_SYNC_HTTP_HPP_
#define LOYALTY_SYNC_HTTP_HPP_

#include <string>
#include <string_view>

#include "sync/asio.hpp"

namespace loyalty::sync {

using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// An answer with a JSON body and Cache-Control: no-store.
HttpResponse json_response(http::status status, const std::string& body);
HttpResponse error_response(http::status status, std::string_view code, std::string_view message);

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_HTTP_HPP_
