#include "ledger/service.hpp"

#include <chrono>
#include <limits>
#include <sstream>

#include "runtime/json_reader.hpp"
#include "runtime/metrics.hpp"
#include "sync/journal_wire.hpp"
#include "sync/member_feed.hpp"

namespace loyalty::ledger {
namespace {

using runtime::OrderedJson;
using sync::error_response;
using sync::HttpResponse;
using sync::json_response;

constexpr std::int64_t kDefaultMemberPage = 1000;

// The refusals an upload can get, exported at 0 from the start, so that an alert on the
// counter's increase() sees the first broken chain too.
constexpr std::string_view kUploadRefusals[] = {"batch_invalid",    "wrong_terminal", "terminal_unknown",
                                                "terminal_revoked", "broken_chain",   "bad_signature",
                                                "unsigned_entry",   "entry_differs"};

// The routes whose answer times are measured apart.
constexpr std::pair<std::string_view, std::string_view> kRoutes[] = {{"/v1/journal", "upload"},
                                                                     {"/v1/authorize", "authorize"},
                                                                     {"/v1/members", "members"},
                                                                     {"/v1/rulebook", "rulebook"}};

http::status status_of(const Refusal& refusal) {
  const std::string& code = refusal.code();
  if (code == "terminal_unknown" || code == "terminal_revoked" || code == "wrong_terminal") {
    return http::status::forbidden;
  }
  return http::status::conflict;
}

// An unlabelled histogram's "# HELP/# TYPE" lines and series.
void write_histogram(std::ostream& out, std::string_view name, std::string_view help,
                     const runtime::Histogram& histogram) {
  std::string series;
  histogram.write(series, name, "");
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n" << series;
}

}  // namespace

LedgerService::LedgerService(LedgerPool& pool, LedgerPool& readers, runtime::Log& log, runtime::Clock clock,
                             std::size_t group_entries)
    : pool_(pool), readers_(readers), log_(log), clock_(std::move(clock)), groups_(pool, group_entries) {
  for (std::string_view code : kUploadRefusals) counters_.refusals[std::string(code)] = 0;
  for (const auto& [path, route] : kRoutes) counters_.durations[std::string(route)];
  for (const auto outcome : {Authorization::Outcome::approved, Authorization::Outcome::declined,
                             Authorization::Outcome::member_unknown, Authorization::Outcome::member_blocked}) {
    counters_.authorizations[std::string(to_string(outcome))] = 0;
  }
}

void LedgerService::count_busy() {
  count([](ServiceCounters& c) { ++c.busy; });
}

void LedgerService::count_tls_refused() {
  count([](ServiceCounters& c) { ++c.tls_refused; });
}

void LedgerService::observe(std::string_view target, double seconds) {
  const std::string_view path = target.substr(0, target.find('?'));
  std::string_view route = "other";
  for (const auto& [known, name] : kRoutes) {
    if (path == known) route = name;
  }
  count([&](ServiceCounters& c) {
    const auto found = c.durations.find(route);
    (found != c.durations.end() ? found->second : c.durations[std::string(route)]).observe(seconds);
  });
}

void LedgerService::observe_admission(double seconds) {
  count([&](ServiceCounters& c) { c.admission.observe(seconds); });
}

void LedgerService::observe_body_read(double seconds) {
  count([&](ServiceCounters& c) { c.body_read.observe(seconds); });
}

ServiceCounters LedgerService::counters() const {
  const std::lock_guard lock(counters_mutex_);
  return counters_;
}

HttpResponse LedgerService::handle(const sync::HttpRequest& request, const Peer* peer) {
  count([](ServiceCounters& c) { ++c.requests; });
  const std::string_view target = request.target();
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);
  const bool get = request.method() == http::verb::get;
  const bool post = request.method() == http::verb::post;
  if (path == "/v1/health" && get) return health();
  if (path == "/metrics" && get) return metrics();
  if (peer == nullptr) {
    return error_response(http::status::not_found, "not_found", "this listener serves /v1/health and /metrics only");
  }
  if (path == "/v1/journal" && post) return upload(request, *peer);
  if (path == "/v1/rulebook" && get) return rulebook(request);
  if (path == "/v1/members" && get) return members(query);
  if (path == "/v1/authorize" && post) return authorize(request, *peer);
  for (std::string_view known : {"/v1/journal", "/v1/rulebook", "/v1/members", "/v1/authorize"}) {
    if (path == known) {
      HttpResponse refused =
          error_response(http::status::method_not_allowed, "method_not_allowed",
                         std::string(request.method_string()) + " is not allowed on " + std::string(path));
      refused.set(http::field::allow, path == "/v1/journal" || path == "/v1/authorize" ? "POST" : "GET");
      return refused;
    }
  }
  return error_response(http::status::not_found, "not_found", "no such endpoint: " + std::string(path));
}

HttpResponse LedgerService::upload(const sync::HttpRequest& request, const Peer& peer) {
  const auto refuse = [&](http::status status, const std::string& code, const std::string& message) {
    count([&](ServiceCounters& c) { ++c.refusals[code]; });
    log_.warning("upload_refused", message, {{"terminal_id", peer.terminal_id}, {"code", code}});
    return error_response(status, code, message);
  };
  sync::Batch batch;
  try {
    // The uplink's binary form, or the JSON document (any other content type).
    const bool binary = beast::iequals(request[http::field::content_type], sync::kBatchMediaType);
    batch = binary ? sync::batch_from_binary(request.body()) : sync::batch_from_json(request.body());
  } catch (const runtime::JsonError& error) {
    return refuse(http::status::bad_request, "batch_invalid", error.what());
  }
  if (batch.terminal_id != peer.terminal_id) {
    return refuse(http::status::forbidden, "wrong_terminal",
                  "the certificate names terminal " + peer.terminal_id +
                      ", which may upload only its own journal, not terminal " + batch.terminal_id + "'s");
  }
  UploadOutcome outcome = groups_.apply(peer.terminal_id, batch.entries, clock_());
  if (outcome.refusal) return refuse(status_of(*outcome.refusal), outcome.refusal->code(), outcome.refusal->what());
  const sync::Ack& ack = *outcome.ack;
  count([&](ServiceCounters& c) {
    ++c.batches;
    c.entries_applied += ack.applied;
    c.entries_duplicate += ack.duplicates;
    c.entries_held_back += ack.held_back;
  });
  if (log_.enabled(runtime::LogLevel::debug)) {
    log_.write(runtime::LogLevel::debug, "batch", "batch applied",
               {{"terminal_id", peer.terminal_id},
                {"through", ack.acknowledged_through},
                {"applied", ack.applied},
                {"duplicates", ack.duplicates},
                {"held_back", ack.held_back}});
  }
  return json_response(http::status::ok, sync::ack_to_json(ack).dump());
}

HttpResponse LedgerService::rulebook(const sync::HttpRequest& request) {
  const auto latest = readers_.with([](Ledger& ledger) { return ledger.store().latest_rulebook(); });
  if (!latest) return error_response(http::status::not_found, "no_rulebook", "no rulebook has been published yet");
  const std::string etag = "\"v" + std::to_string(latest->version) + "\"";
  if (request[http::field::if_none_match] == etag) {
    count([](ServiceCounters& c) { ++c.rulebook_not_modified; });
    HttpResponse response{http::status::not_modified, 11};
    response.set(http::field::etag, etag);
    response.prepare_payload();
    return response;
  }
  count([](ServiceCounters& c) { ++c.rulebook_sent; });
  HttpResponse response = json_response(http::status::ok, latest->envelope);
  response.set(http::field::etag, etag);
  return response;
}

HttpResponse LedgerService::members(std::string_view query) {
  std::int64_t after = 0;
  std::int64_t limit = kDefaultMemberPage;
  try {
    after = sync::query_integer(query, "after", std::numeric_limits<std::int64_t>::max() / 2).value_or(0);
    limit = sync::query_integer(query, "limit", static_cast<std::int64_t>(sync::kMaxMemberPage)).value_or(limit);
    if (limit == 0) throw runtime::JsonError("limit", "must be 1 to " + std::to_string(sync::kMaxMemberPage));
  } catch (const runtime::JsonError& error) {
    return error_response(http::status::bad_request, "query_invalid", error.what());
  }
  count([](ServiceCounters& c) { ++c.member_pages; });
  const auto changes = readers_.with(
      [&](Ledger& ledger) { return ledger.store().member_changes(after, static_cast<std::size_t>(limit)); });
  sync::MemberPage page;
  page.cursor = changes.empty() ? after : changes.back().account.cursor;
  page.more = changes.size() == static_cast<std::size_t>(limit);
  for (const MemberChange& change : changes) {
    storage::MemberDelta delta;
    delta.member = {change.account.member_id, change.account.balance, change.account.tier, change.account.status,
                    change.account.cursor};
    delta.keys = change.keys;
    page.members.push_back(std::move(delta));
  }
  const OrderedJson body = sync::member_page_to_json(page);
  return json_response(http::status::ok, body.dump());
}

HttpResponse LedgerService::authorize(const sync::HttpRequest& request, const Peer& peer) {
  AuthorizeRequest ask;
  try {
    const runtime::Json document = runtime::parse_json(request.body(), "authorize");
    if (!document.is_object()) runtime::fail("authorize", "must be an object");
    runtime::Reader in(document, "authorize");
    ask.member_id = in.string("member_id", storage::kMaxMemberIdBytes);
    ask.receipt_id = in.string("receipt_id", storage::kMaxReceiptIdBytes);
    ask.points = in.integer("points", 1, storage::kMaxEntryPoints);
    in.finish();
  } catch (const runtime::JsonError& error) {
    return error_response(http::status::bad_request, "request_invalid", error.what());
  }
  const auto asked = std::chrono::steady_clock::now();
  double waited = 0;
  const Authorization result = pool_.with(
      [&](Ledger& ledger) {
        waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
        return ledger.authorize(peer.terminal_id, ask, clock_());
      },
      LedgerPool::Priority::quick);
  count([&](ServiceCounters& c) {
    ++c.authorizations[std::string(to_string(result.outcome))];
    c.authorize_store_wait.observe(waited);
  });
  OrderedJson body;
  body["outcome"] = to_string(result.outcome);
  body["points"] = result.points;
  body["available"] = result.available;
  body["expires_at_ms"] = result.expires_at_ms;
  return json_response(http::status::ok, body.dump());
}

HttpResponse LedgerService::health() {
  OrderedJson body;
  body["ok"] = true;
  body["time_ms"] = clock_();
  const auto [cursor, latest] = readers_.with(
      [](Ledger& ledger) { return std::pair(ledger.store().member_cursor(), ledger.store().latest_rulebook()); },
      LedgerPool::Priority::quick);
  body["member_cursor"] = cursor;
  body["rulebook_version"] = latest ? OrderedJson(latest->version) : OrderedJson();
  return json_response(http::status::ok, body.dump());
}

HttpResponse LedgerService::metrics() {
  const ServiceCounters now = counters();
  const std::int64_t member_cursor =
      readers_.with([](Ledger& ledger) { return ledger.store().member_cursor(); }, LedgerPool::Priority::quick);
  std::ostringstream out;
  const auto counter = [&](std::string_view name, std::string_view help, std::int64_t value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n" << name << " " << value << "\n";
  };
  counter("loyalty_ledger_requests_total", "HTTP requests answered.", now.requests);
  counter("loyalty_ledger_batches_total", "Upload batches accepted.", now.batches);
  counter("loyalty_ledger_entries_applied_total", "Journal entries applied.", now.entries_applied);
  counter("loyalty_ledger_entries_duplicate_total", "Uploaded entries the ledger held already.", now.entries_duplicate);
  counter("loyalty_ledger_entries_held_back_total", "Uploaded entries held back after a gap.", now.entries_held_back);
  counter("loyalty_ledger_rulebook_sent_total", "Rulebook downloads answered with the document.", now.rulebook_sent);
  counter("loyalty_ledger_rulebook_not_modified_total", "Rulebook downloads answered 304.", now.rulebook_not_modified);
  counter("loyalty_ledger_member_pages_total", "Member change pages served.", now.member_pages);
  counter("loyalty_ledger_uploads_busy_total",
          "Uploads answered 503 ledger_busy: too many batches waiting; the terminal sends them again.", now.busy);
  counter("loyalty_ledger_tls_refused_total", "TLS handshakes refused (no, expired, revoked or foreign certificate).",
          now.tls_refused);
  out << "# HELP loyalty_ledger_refusals_total Uploads refused, by reason.\n"
         "# TYPE loyalty_ledger_refusals_total counter\n";
  for (const auto& [code, count] : now.refusals) {
    out << "loyalty_ledger_refusals_total{code=\"" << code << "\"} " << count << "\n";
  }
  out << "# HELP loyalty_ledger_authorizations_total Redemption authorizations, by outcome.\n"
         "# TYPE loyalty_ledger_authorizations_total counter\n";
  for (const auto& [outcome, count] : now.authorizations) {
    out << "loyalty_ledger_authorizations_total{outcome=\"" << outcome << "\"} " << count << "\n";
  }
  out << "# HELP loyalty_ledger_request_duration_seconds Time to answer a request, by route, from the moment it "
         "was read (waiting for a worker thread and the store included).\n"
         "# TYPE loyalty_ledger_request_duration_seconds histogram\n";
  {
    std::string series;
    for (const auto& [route, histogram] : now.durations) {
      histogram.write(series, "loyalty_ledger_request_duration_seconds", "route=\"" + route + "\"");
    }
    out << series;
  }
  write_histogram(out, "loyalty_ledger_upload_admission_wait_seconds",
                  "Time an upload waited for its turn, its body unread, from its header to its admission or its "
                  "503.",
                  now.admission);
  write_histogram(out, "loyalty_ledger_upload_body_read_seconds",
                  "Time from an upload's turn to the last byte of its body: how long its terminal held the turn "
                  "sending the batch.",
                  now.body_read);
  write_histogram(out, "loyalty_ledger_authorize_store_wait_seconds",
                  "Time an online authorization waited for a store connection (on SQLite the one writer, which an "
                  "upload group may hold).",
                  now.authorize_store_wait);
  out << "# HELP loyalty_ledger_member_cursor Position of the member change feed.\n"
         "# TYPE loyalty_ledger_member_cursor gauge\nloyalty_ledger_member_cursor "
      << member_cursor << "\n";
  out << "# HELP loyalty_ledger_store_retries_total Transactions run again after a serialization failure or a "
         "deadlock.\n# TYPE loyalty_ledger_store_retries_total counter\nloyalty_ledger_store_retries_total "
      << pool_.retries() << "\n";
  out << "# HELP loyalty_ledger_store_connections Database connections, one per worker thread.\n"
         "# TYPE loyalty_ledger_store_connections gauge\nloyalty_ledger_store_connections "
      << pool_.size() << "\n";
  std::string process;
  runtime::write_process_metrics(process, "loyalty_ledger", LOYALTY_VERSION);
  out << process;
  HttpResponse response{http::status::ok, 11};
  response.set(http::field::content_type, "text/plain; version=0.0.4");
  response.body() = out.str();
  response.prepare_payload();
  return response;
}

}  // namespace loyalty::ledger
