// The POS API's routes (docs/pos-api.md, docs/pos-api.yaml): JSON in, JSON out, and every
// refusal a JSON error with a stable code and a message for the cashier's screen.
//
//   GET  /v1/status     online or offline, pending entries, rulebook, last sync
//   POST /v1/identify   {"card"|"phone"|"app_id": ...} -> the member view
//   POST /v1/quote      {"basket": ..., "member_id"?: ...} -> the quote
//   POST /v1/commit     the same, journaled durably before the answer
//   GET  /metrics       Prometheus text format

#ifndef LOYALTY_AGENT_POS_API_HPP_
#define LOYALTY_AGENT_POS_API_HPP_

#include <cstdint>
#include <functional>
#include <string>

#include "agent/checkout.hpp"
#include "agent/http_server.hpp"
#include "agent/log.hpp"

namespace loyalty::agent {

class PosApi {
 public:
  // `checkout`, `journal` and `log` must outlive the PosApi. `after_commit` runs once the
  // commit's answer is ready (the agent signs the new entry there).
  PosApi(Checkout& checkout, storage::Journal& journal, Log& log, std::function<void()> after_commit);

  Task<HttpResponse> handle(HttpRequest request);

  // What status and metrics report about the server itself.
  void set_server(const HttpServer* server) { server_ = server; }
  std::int64_t started_at_ms = 0;

 private:
  HttpResponse route(const HttpRequest& request);
  // Logs a journaled commit, void or refund (or its retry) as the event `what`.
  void log_journaled(std::string_view what, const sync::OrderedJson& answer);
  sync::OrderedJson status();
  std::string metrics();

  Checkout& checkout_;
  storage::Journal& journal_;
  Log& log_;
  std::function<void()> after_commit_;
  const HttpServer* server_ = nullptr;
};

}  // namespace loyalty::agent

#endif  // LOYALTY_AGENT_POS_API_HPP_
