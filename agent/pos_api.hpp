// The POS API's routes (docs/pos-api.md, docs/pos-api.yaml): JSON in, JSON out, and every
// refusal a JSON error with a stable code and a message for the cashier's screen.
//
//   GET  /v1/status     online or offline, pending entries, rulebook, last sync
//   GET  /v1/health     200 when the agent can serve the lane, 503 with the failing check
//   GET  /v1/events     lane events by long-poll (?after=SEQ&wait_ms=MS)
//   POST /v1/identify   {"code"|"card"|"phone"|"app_id": ...} -> the member view
//   POST /v1/quote      {"basket": ..., "member_id"?: ...} -> the quote
//   POST /v1/commit     the same, journaled durably before the answer
//   POST /v1/void       reverses a whole sale
//   POST /v1/refund     returns lines of a sale
//   GET  /metrics       Prometheus text format

#ifndef LOYALTY_AGENT_POS_API_HPP_
#define LOYALTY_AGENT_POS_API_HPP_

#include <array>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "agent/checkout.hpp"
#include "agent/http_server.hpp"
#include "agent/lane.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "sync/uplink.hpp"

namespace loyalty::agent {

// What the API refuses on its own, before the checkout sees a request: a wrong method, path or
// content type.
class ApiError : public std::runtime_error {
 public:
  ApiError(http::status status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  // 405 for `target`, which answers only `allowed` (the answer's Allow header).
  static ApiError wrong_method(std::string allowed, std::string_view target) {
    ApiError error(http::status::method_not_allowed, "method_not_allowed",
                   "use " + allowed + " for " + std::string(target));
    error.allow_ = std::move(allowed);
    return error;
  }
  http::status status() const { return status_; }
  const std::string& code() const { return code_; }
  // The error as the API answers it.
  HttpResponse response() const {
    HttpResponse answer = error_response(status_, code_, what());
    if (!allow_.empty()) answer.set(http::field::allow, allow_);
    return answer;
  }

 private:
  http::status status_;
  std::string code_;
  std::string allow_;
};

// The HTTP status of each checkout refusal (docs/pos-api.md, Errors): malformed 400, not found
// 404, in conflict with the journal 409, no rulebook yet 503, well-formed but not acceptable
// 422.
http::status status_of(Refusal refusal);

class PosApi {
 public:
  // `checkout`, `journal` and `log` must outlive the PosApi. `after_commit` runs once the
  // commit's answer is ready (the agent signs the new entry there).
  PosApi(Checkout& checkout, storage::Journal& journal, runtime::Log& log, std::function<void()> after_commit);

  Task<HttpResponse> handle(HttpRequest request);

  // What status and metrics report about the server itself.
  void set_server(const HttpServer* server) { server_ = server; }
  // The lane whose events and scanners the API reports.
  void set_lane(LaneEvents* events, const Lane* lane) {
    events_ = events;
    lane_ = lane;
  }
  // The link to the ledger, when one is configured: status reports it, commits ask it to
  // authorize redemptions.
  void set_uplink(sync::Uplink* uplink) { uplink_ = uplink; }
  // The journal was opened without writing, for `why` ("the disk is full"): commits, voids and
  // refunds are refused (retries are still answered from the journal), health fails, and
  // status and metrics say so.
  void set_read_only(std::string why) { read_only_ = std::move(why); }
  std::int64_t started_at_ms = 0;
  std::filesystem::path data_dir = ".";  // its free space is a health check
  std::int64_t min_free_bytes = 64 * 1024 * 1024;
  // The routes whose latency /metrics reports (the nine endpoints, then "other").
  static constexpr std::size_t kMeasuredRoutes = 10;

 private:
  // Every request but a commit's POST and the events' GET.
  HttpResponse route(const HttpRequest& request);
  // A commit: its request read once, the ledger asked to hold its redemption when online, then
  // journaled.
  Task<HttpResponse> commit(const HttpRequest& request);
  // Runs `answer`, and turns what it throws into the API's error answers.
  template <class Answer>
  HttpResponse answering(Answer answer);
  // The answer of a journaled commit, void or refund (or its retry): logged as the event `what`,
  // with the new entry signed.
  HttpResponse journaled(std::string_view what, const runtime::OrderedJson& answer);
  bool online_now() const;
  runtime::OrderedJson status();
  HttpResponse health();
  Task<HttpResponse> events(const HttpRequest& request);
  std::string metrics();

  Checkout& checkout_;
  storage::Journal& journal_;
  runtime::Log& log_;
  std::function<void()> after_commit_;
  LaneEvents* events_ = nullptr;
  const Lane* lane_ = nullptr;
  const HttpServer* server_ = nullptr;
  sync::Uplink* uplink_ = nullptr;
  std::string read_only_;  // empty when the journal takes writes
  // How long each route took to answer, from the request read to the answer ready; indexed as
  // kRoutes in pos_api.cpp, the last one for any other target.
  std::array<runtime::Histogram, kMeasuredRoutes> latency_;
};

}  // namespace loyalty::agent

#endif  // LOYALTY_AGENT_POS_API_HPP_
