#include "agent/pos_api.hpp"

#include <array>
#include <chrono>
#include <limits>

#include "storage/sqlite.hpp"
#include "sync/datetime.hpp"

namespace loyalty::agent {
namespace {

using runtime::OrderedJson;

HttpResponse ok(const OrderedJson& body) { return json_response(http::status::ok, body.dump()); }

// The body of a POST to a JSON endpoint, parsed strictly; throws ApiError when it is not sent
// as JSON, runtime::JsonError when it is not a JSON object.
runtime::Json json_body(const HttpRequest& request) {
  if (!is_json_media_type(request[http::field::content_type])) {
    throw ApiError(http::status::unsupported_media_type, "json_required",
                   "send the request as Content-Type: application/json");
  }
  runtime::Json body = runtime::parse_json(request.body(), "request");
  if (!body.is_object()) throw runtime::JsonError("request", "must be a JSON object");
  return body;
}

// The routes whose latency is measured, by their label; any other target counts as "other".
constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kRoutes = {{
    {"/v1/identify", "identify"},
    {"/v1/quote", "quote"},
    {"/v1/commit", "commit"},
    {"/v1/void", "void"},
    {"/v1/refund", "refund"},
    {"/v1/events", "events"},
    {"/v1/status", "status"},
    {"/v1/health", "health"},
    {"/metrics", "metrics"},
}};

std::size_t route_index(std::string_view target) {
  static_assert(kRoutes.size() + 1 == PosApi::kMeasuredRoutes);
  const std::string_view path = target.substr(0, target.find('?'));
  for (std::size_t i = 0; i < kRoutes.size(); ++i) {
    if (kRoutes[i].first == path) return i;
  }
  return kRoutes.size();
}

}  // namespace

http::status status_of(Refusal refusal) {
  switch (refusal) {
    case Refusal::identifier_required: return http::status::bad_request;
    case Refusal::member_unknown:
    case Refusal::sale_unknown: return http::status::not_found;
    case Refusal::receipt_conflict:
    case Refusal::sale_voided:
    case Refusal::sale_refunded: return http::status::conflict;
    case Refusal::no_rulebook: return http::status::service_unavailable;
    default: return http::status::unprocessable_entity;
  }
}

PosApi::PosApi(Checkout& checkout, storage::Journal& journal, runtime::Log& log, std::function<void()> after_commit)
    : checkout_(checkout), journal_(journal), log_(log), after_commit_(std::move(after_commit)) {}

Task<HttpResponse> PosApi::handle(HttpRequest request) {
  const auto began = std::chrono::steady_clock::now();
  const std::string_view target = request.target();
  const std::size_t measured = route_index(target);
  HttpResponse response;
  // (Not a conditional expression: GCC 12 miscompiles co_await inside one.)
  if (target == "/v1/events" || target.starts_with("/v1/events?")) {
    response = co_await events(request);
  } else if (target == "/v1/commit" && request.method() == http::verb::post) {
    response = co_await commit(request);
  } else {
    response = route(request);
  }
  if (response.result_int() >= 400 && response.result_int() < 500) checkout_.count_refusal();
  latency_[measured].observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  co_return response;
}

bool PosApi::online_now() const { return uplink_ != nullptr && uplink_->status().online; }

template <class Answer>
HttpResponse PosApi::answering(Answer answer) {
  try {
    return answer();
  } catch (const ApiError& error) {
    return error.response();
  } catch (const Refused& refused) {
    return error_response(status_of(refused.refusal()), refused.code(), refused.what());
  } catch (const runtime::JsonError& error) {
    return error_response(http::status::bad_request, "request_invalid", error.what());
  } catch (const storage::ReceiptConflict& error) {
    return error_response(http::status::conflict, "receipt_conflict", error.what());
  } catch (const storage::Error& error) {
    std::string why;
    if (!read_only_.empty()) {  // (logged once, at the start)
      why = "the journal is read-only (" + read_only_ + ")";
    } else {
      log_.error("journal_failed", "the journal could not be written", {{"error", error.what()}});
      why = error.disk_full() ? "the terminal's disk is full" : "the journal could not be written";
    }
    return error_response(http::status::service_unavailable, "journal_unavailable",
                          why + ": nothing was recorded; call store IT, then try again");
  }
}

HttpResponse PosApi::journaled(std::string_view what, const OrderedJson& answer) {
  const std::string name(what);
  OrderedJson fields;
  fields["receipt_id"] = answer["receipt_id"];
  fields["seq"] = answer["entry"]["seq"];
  if (answer.contains("sale_receipt_id")) fields["sale_receipt_id"] = answer["sale_receipt_id"];
  for (const auto& [key, value] : answer["points"].items()) fields[key] = value;
  const bool again = answer["already_journaled"].get<bool>();
  log_.info(name, name + (again ? " retried: answered from the journal" : " journaled"), std::move(fields));
  if (after_commit_) after_commit_();
  return ok(answer);
}

Task<HttpResponse> PosApi::commit(const HttpRequest& request) {
  std::optional<SaleRequest> sale;
  const HttpResponse refused = answering([&] {
    sale = read_sale_request(json_body(request), SaleCall::commit);
    return HttpResponse{};
  });
  if (!sale) co_return refused;
  std::optional<sync::OnlineAuthorization> online;
  if (online_now()) {
    // Ask the ledger first; without its answer in time the commit uses the offline limits.
    const std::optional<RedemptionAsk> ask = checkout_.redemption_ask(*sale);
    if (ask) {
      const auto answer = co_await uplink_->authorize(ask->member_id, ask->receipt_id, ask->points);
      if (answer) online = *answer;
    } else {
      online = sync::OnlineAuthorization{"not_asked", 0, 0};
    }
  }
  co_return answering([&] { return journaled("commit", checkout_.commit(*sale, online)); });
}

HttpResponse PosApi::route(const HttpRequest& request) {
  const std::string_view target = request.target();
  const bool get = request.method() == http::verb::get;
  const bool post = request.method() == http::verb::post;
  return answering([&] {
    if (target == "/v1/status") {
      if (!get) throw ApiError::wrong_method("GET", target);
      return ok(status());
    }
    if (target == "/v1/health") {
      if (!get) throw ApiError::wrong_method("GET", target);
      return health();
    }
    if (target == "/metrics") {
      if (!get) throw ApiError::wrong_method("GET", target);
      HttpResponse response{http::status::ok, 11};
      response.set(http::field::content_type, "text/plain; version=0.0.4");
      response.body() = metrics();
      response.prepare_payload();
      return response;
    }
    enum class Call { none, identify, quote, commit, void_sale, refund };
    Call call = Call::none;
    if (target == "/v1/identify") call = Call::identify;
    if (target == "/v1/quote") call = Call::quote;
    if (target == "/v1/commit") call = Call::commit;
    if (target == "/v1/void") call = Call::void_sale;
    if (target == "/v1/refund") call = Call::refund;
    if (call == Call::none) {
      throw ApiError(http::status::not_found, "not_found", "no such endpoint: " + std::string(target));
    }
    if (!post) {
      throw ApiError::wrong_method("POST", target);
    }
    const runtime::Json body = json_body(request);
    switch (call) {
      case Call::identify: return ok(checkout_.identify(body));
      case Call::quote: return ok(checkout_.quote(read_sale_request(body, SaleCall::quote), online_now()));
      case Call::void_sale: return journaled("void", checkout_.void_sale(body));
      case Call::refund: return journaled("refund", checkout_.refund(body));
      case Call::commit:  // a POST, which handle() gives commit()
      case Call::none: break;
    }
    throw ApiError(http::status::not_found, "not_found", "no such endpoint: " + std::string(target));
  });
}

Task<HttpResponse> PosApi::events(const HttpRequest& request) {
  try {
    if (request.method() != http::verb::get) {
      throw ApiError::wrong_method("GET", "/v1/events");
    }
    if (!events_) throw ApiError(http::status::not_found, "not_found", "this agent has no lane events");
    const std::string_view target = request.target();
    const std::size_t mark = target.find('?');
    const std::string_view query = mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
    const std::int64_t after =
        sync::query_integer(query, "after", std::numeric_limits<std::int64_t>::max() / 2).value_or(0);
    const std::int64_t wait_ms = sync::query_integer(query, "wait_ms", 60000).value_or(25000);
    co_return ok(co_await events_->poll(after, std::chrono::milliseconds(wait_ms)));
  } catch (const ApiError& error) {
    co_return error.response();
  } catch (const runtime::JsonError& error) {
    co_return error_response(http::status::bad_request, "request_invalid", error.what());
  }
}

HttpResponse PosApi::health() {
  OrderedJson checks;
  bool healthy = true;
  try {
    checks["journal"] = {{"ok", read_only_.empty()}, {"last_seq", journal_.head().seq}};
    if (!read_only_.empty()) checks["journal"]["error"] = "read-only: " + read_only_;
    healthy = read_only_.empty();
  } catch (const std::exception& error) {
    checks["journal"] = {{"ok", false}, {"error", error.what()}};
    healthy = false;
  }
  const domain::Rulebook* rules = checkout_.rulebook();
  checks["rulebook"] = {{"ok", rules != nullptr}, {"version", rules ? OrderedJson(rules->version) : OrderedJson()}};
  healthy = healthy && rules != nullptr;
  std::error_code error;
  const auto space = std::filesystem::space(data_dir, error);
  const bool disk_ok = !error && static_cast<std::int64_t>(space.available) >= min_free_bytes;
  checks["disk"] = {{"ok", disk_ok}, {"free_bytes", error ? OrderedJson() : OrderedJson(space.available)}};
  healthy = healthy && disk_ok;
  // Scanners are reported, not judged: a cashier can still type the card number.
  checks["scanners"] = lane_ ? lane_->scanners_json() : OrderedJson::array();
  OrderedJson body;
  body["status"] = healthy ? "ok" : "failing";
  body["checks"] = std::move(checks);
  return json_response(healthy ? http::status::ok : http::status::service_unavailable, body.dump());
}

OrderedJson PosApi::status() {
  OrderedJson s;
  s["terminal_id"] = journal_.terminal_id();
  const sync::UplinkStatus* link = uplink_ ? &uplink_->status() : nullptr;
  s["connectivity"] = link && link->online ? "online" : "offline";
  if (!read_only_.empty()) {
    s["offline_reason"] = "the journal is read-only (" + read_only_ + "): nothing is uploaded until it takes writes";
  } else if (!link) {
    s["offline_reason"] = "no ledger link configured: offline limits apply to every redemption";
  } else if (!link->online) {
    s["offline_reason"] = link->offline_reason + ": offline limits apply to every redemption";
  } else {
    s["offline_reason"] = nullptr;
  }
  s["journal_read_only"] = read_only_.empty() ? OrderedJson() : OrderedJson(read_only_);
  s["pending_entries"] = journal_.pending_count();
  s["last_seq"] = journal_.head().seq;
  s["last_sync"] =
      link && link->last_ack_ms > 0 ? OrderedJson(sync::format_rfc3339_utc(link->last_ack_ms / 1000)) : OrderedJson();
  if (link) {
    OrderedJson l;
    l["acknowledged_through"] = link->acknowledged_through;
    l["last_contact_ms"] = link->last_contact_ms > 0 ? OrderedJson(link->last_contact_ms) : OrderedJson();
    l["entries_uploaded"] = link->entries_uploaded;
    l["failures"] = link->failures;
    l["consecutive_failures"] = link->consecutive_failures;
    l["retry_in_ms"] = link->retry_in_ms;
    l["member_cursor"] = link->member_cursor;
    l["members_applied"] = link->members_applied;
    l["rulebooks_installed"] = link->rulebooks_installed;
    l["rulebook_refusal"] = link->rulebook_refusal.empty() ? OrderedJson() : OrderedJson(link->rulebook_refusal);
    l["authorizations"] = link->authorizations;
    l["authorization_fallbacks"] = link->authorization_fallbacks;
    l["address"] = link->address;
    l["endpoint"] = link->endpoint.empty() ? OrderedJson() : OrderedJson(link->endpoint);
    l["failovers"] = link->failovers;
    l["busy_answers"] = link->busy_answers;
    s["ledger"] = std::move(l);
  }
  if (const domain::Rulebook* rules = checkout_.rulebook()) {
    s["rulebook"] = {{"id", rules->id}, {"version", rules->version}};
  } else {
    s["rulebook"] = nullptr;
  }
  s["started_at_ms"] = started_at_ms;
  return s;
}

std::string PosApi::metrics() {
  const CheckoutCounters& c = checkout_.counters();
  std::string out;
  auto metric = [&out](std::string_view name, std::string_view type, std::string_view help, std::int64_t value) {
    out += "# HELP " + std::string(name) + " " + std::string(help) + "\n# TYPE " + std::string(name) + " " +
           std::string(type) + "\n" + std::string(name) + " " + std::to_string(value) + "\n";
  };
  metric("loyalty_agent_identified_total", "counter", "Members identified.", c.identified);
  metric("loyalty_agent_unknown_members_total", "counter", "Identifiers with no member.", c.unknown_members);
  metric("loyalty_agent_basket_times_replaced_total", "counter",
         "Quotes and commits whose basket time was too far from the terminal's clock.", c.basket_times_replaced);
  metric("loyalty_agent_quotes_total", "counter", "Quotes answered.", c.quotes);
  metric("loyalty_agent_commits_total", "counter", "Sales journaled.", c.commits);
  metric("loyalty_agent_voids_total", "counter", "Sales voided.", c.voids);
  metric("loyalty_agent_refunds_total", "counter", "Returns journaled.", c.refunds);
  metric("loyalty_agent_retries_total", "counter", "Commits, voids and refunds answered from the journal.", c.retries);
  metric("loyalty_agent_refused_total", "counter", "Requests refused with a 4xx answer.", c.refused);
  metric("loyalty_agent_pending_entries", "gauge", "Journal entries the ledger has not acknowledged.",
         journal_.pending_count());
  metric("loyalty_agent_journal_writable", "gauge", "0 when the journal was opened read-only (a full disk).",
         read_only_.empty() ? 1 : 0);
  const sync::UplinkStatus* link = uplink_ ? &uplink_->status() : nullptr;
  metric("loyalty_agent_online", "gauge", "1 when the ledger is reachable.", link && link->online ? 1 : 0);
  if (link) {
    metric("loyalty_agent_uploaded_entries_total", "counter", "Entries the ledger acknowledged.",
           link->entries_uploaded);
    metric("loyalty_agent_sync_failures_total", "counter", "Failed exchanges with the ledger.", link->failures);
    metric("loyalty_agent_authorizations_total", "counter", "Redemptions the ledger answered online.",
           link->authorizations);
    metric("loyalty_agent_authorization_fallbacks_total", "counter",
           "Redemptions that fell back to the offline limits.", link->authorization_fallbacks);
    metric("loyalty_agent_member_cursor", "gauge", "Position in the ledger's member feed.", link->member_cursor);
    metric("loyalty_agent_ledger_failovers_total", "counter",
           "Moves to another ledger address (or endpoint of its name) after a failure.", link->failovers);
    metric("loyalty_agent_ledger_busy_total", "counter",
           "Uploads the ledger asked to send again later (503 ledger_busy); the link stayed online.",
           link->busy_answers);
    out +=
        "# HELP loyalty_agent_ledger_address The ledger address in use (1) and the endpoint last connected to.\n"
        "# TYPE loyalty_agent_ledger_address gauge\nloyalty_agent_ledger_address{address=\"" +
        runtime::prometheus_label(link->address) + "\",endpoint=\"" + runtime::prometheus_label(link->endpoint) +
        "\"} 1\n";
  }
  if (server_) {
    metric("loyalty_agent_http_requests_total", "counter", "HTTP requests read.", server_->requests());
    metric("loyalty_agent_http_connections", "gauge", "Open POS connections.", server_->open_connections());
  }
  if (events_) {
    metric("loyalty_agent_event_polls_waiting", "gauge", "POS long-polls waiting for a lane event.",
           events_->waiting());
  }
  out +=
      "# HELP loyalty_agent_http_request_duration_seconds Time to answer a POS API request, by route "
      "(events: the long-poll's wait included).\n# TYPE loyalty_agent_http_request_duration_seconds histogram\n";
  for (std::size_t i = 0; i < latency_.size(); ++i) {
    const std::string_view label = i < kRoutes.size() ? kRoutes[i].second : "other";
    latency_[i].write(out, "loyalty_agent_http_request_duration_seconds", "route=\"" + std::string(label) + "\"");
  }
  runtime::write_process_metrics(out, "loyalty_agent", LOYALTY_VERSION);
  return out;
}

}  // namespace loyalty::agent
