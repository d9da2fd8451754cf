#include "sync/http.hpp"

#include "sync/json_reader.hpp"

namespace loyalty::sync {

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
  return json_response(status, body.dump());
}

}  // namespace loyalty::sync
