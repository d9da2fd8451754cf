#include "sync/uplink.hpp"

#include <algorithm>

#include "runtime/json_reader.hpp"
#include "sync/journal_wire.hpp"
#include "sync/member_feed.hpp"

namespace loyalty::sync {

using runtime::Json;
using runtime::JsonError;
using runtime::Log;
using runtime::LogLevel;
using runtime::OrderedJson;
using runtime::parse_json;
using runtime::Reader;

namespace uplink_detail {

// The ledger answered 503 ledger_busy: it is up, applying other terminals' batches, and asks
// for this one again after `retry_after`. The link stays online. (Outside the anonymous
// namespace: Uplink::run's coroutine frame holds one.)
class LedgerBusy : public std::runtime_error {
 public:
  LedgerBusy(const std::string& what, std::chrono::milliseconds retry_after)
      : std::runtime_error(what), retry_after_(retry_after) {}
  std::chrono::milliseconds retry_after() const { return retry_after_; }

 private:
  std::chrono::milliseconds retry_after_;
};

}  // namespace uplink_detail

namespace {

using tcp = asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::size_t kMaxResponseBytes = 64 * 1024 * 1024;
constexpr std::size_t kMemberPage = 1000;

// A failed exchange with the ledger: what() is the reason the status shows.
class LinkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

bool numeric_address(const std::string& host) {
  boost::system::error_code error;
  asio::ip::make_address(host, error);
  return !error;
}

// The reason an answer other than 200 gives: the ledger's error message when it sent one.
std::string refusal_of(const HttpResponse& response) {
  try {
    const Json body = Json::parse(response.body());
    if (body.contains("error")) {
      return body["error"].value("message", "") + " (" + body["error"].value("code", "") + ")";
    }
  } catch (const std::exception&) {
  }
  return "HTTP " + std::to_string(response.result_int());
}

HttpRequest make_request(http::verb verb, std::string target, const std::string& host) {
  HttpRequest request{verb, std::move(target), 11};
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "loyalty-agent");
  request.keep_alive(true);
  return request;
}

std::string host_port(const LedgerAddress& address) {
  const bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

}  // namespace

// Which ledger the link uses: the address, and which of the endpoints a name resolved to.
// Both move on after each failure (Uplink::went_offline).
struct Uplink::Target {
  explicit Target(const std::vector<LedgerAddress>& list) : ledgers(list) {}
  const LedgerAddress& address() const { return ledgers[failovers % ledgers.size()]; }
  // How far to rotate the endpoints a name resolved to: one step each time through the list.
  std::size_t rotation() const { return failovers / ledgers.size(); }

  const std::vector<LedgerAddress>& ledgers;
  std::size_t failovers = 0;
  std::size_t resolved = 1;  // endpoints the address in use resolved to
  std::string endpoint;
};

// One kept-alive TLS connection to the ledger, opened on demand and closed on any error.
class Uplink::Connection {
 public:
  Connection(asio::io_context& io, std::shared_ptr<ssl::context> tls, const UplinkSettings& settings, Target& target)
      : io_(io), tls_(std::move(tls)), settings_(settings), target_(target) {}

  // Sends `request` and reads the answer, all within `timeout`. A connection kept from an
  // earlier exchange may have been closed by the ledger meanwhile: that failure is retried
  // once on a new connection. With `admission` (uploads), the request asks `Expect:
  // 100-continue` and its body goes only once the ledger lets it in, waited for up to
  // `admission`; `timeout` counts from then. A final answer instead (503 ledger_busy) is
  // returned without the body having been sent, and the connection is closed.
  Task<HttpResponse> exchange(HttpRequest request, std::chrono::milliseconds timeout,
                              std::chrono::milliseconds admission = std::chrono::milliseconds::zero()) {
    const bool ask = admission > std::chrono::milliseconds::zero();
    if (ask) request.set(http::field::expect, "100-continue");
    request.prepare_payload();
    for (int attempt = 0;; ++attempt) {
      auto deadline = std::chrono::steady_clock::now() + (ask ? admission : timeout);
      const bool reused = stream_ != nullptr;
      if (!stream_) co_await connect(deadline);
      auto& lowest = beast::get_lowest_layer(*stream_);
      lowest.expires_at(deadline);
      admitted_ = std::chrono::steady_clock::now();
      http::request_serializer<http::string_body> serializer(request);
      boost::system::error_code error;
      bool let_in = !ask;
      if (ask) {
        auto [header_error, header_written] = co_await http::async_write_header(*stream_, serializer, use_tuple);
        error = header_error;
        if (!error) {
          http::response_parser<http::string_body> first;
          first.body_limit(kMaxResponseBytes);
          auto [first_error, first_read] = co_await http::async_read_header(*stream_, buffer_, first, use_tuple);
          error = first_error;
          if (!error && first.get().result() != http::status::continue_) {
            auto [rest_error, rest_read] = co_await http::async_read(*stream_, buffer_, first, use_tuple);
            if (!rest_error) {
              HttpResponse response = first.release();
              close();  // the body was not sent: the connection cannot carry another request
              co_return response;
            }
            error = rest_error;
          }
        }
        let_in = !error;
        admitted_ = std::chrono::steady_clock::now();
        deadline = admitted_ + timeout;
        lowest.expires_at(deadline);
      }
      if (!error) {
        auto [write_error, written] = co_await http::async_write(*stream_, serializer, use_tuple);
        error = write_error;
      }
      if (!error) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(kMaxResponseBytes);
        lowest.expires_at(deadline);
        auto [read_error, read] = co_await http::async_read(*stream_, buffer_, parser, use_tuple);
        if (!read_error) {
          HttpResponse response = parser.release();
          if (!response.keep_alive()) close();
          co_return response;
        }
        error = read_error;
      }
      close();
      if (reused && attempt == 0 && error != beast::error::timeout) continue;
      throw LinkError(describe(error, let_in ? timeout : admission));
    }
  }

  // When the last exchange's body went: after the ledger's 100 Continue, or at its start.
  std::chrono::steady_clock::time_point admitted() const { return admitted_; }

  // Forgets the connection. Only between exchanges: a stream must not be destroyed while an
  // operation on it is pending.
  void close() {
    if (!stream_) return;
    abort();
    stream_.reset();
    buffer_.clear();
  }

  // Closes the socket and keeps the stream: a pending operation completes with an error, and
  // the exchange waiting on it then forgets the connection.
  void abort() {
    if (!stream_) return;
    boost::system::error_code ignored;
    beast::get_lowest_layer(*stream_).socket().close(ignored);
  }

 private:
  Task<> connect(std::chrono::steady_clock::time_point deadline) {
    const LedgerAddress address = target_.address();
    at_ = host_port(address);
    auto stream = std::make_unique<Stream>(io_, *tls_);
    const std::string& name = settings_.server_name.empty() ? address.host : settings_.server_name;
    // SSL_set_tlsext_host_name, without the macro's old-style cast.
    if (!numeric_address(name) && SSL_ctrl(stream->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                                           TLSEXT_NAMETYPE_host_name, const_cast<char*>(name.c_str())) != 1) {
      throw LinkError("cannot set the TLS server name " + name);
    }
    stream->set_verify_callback(ssl::host_name_verification(name));
    auto& lowest = beast::get_lowest_layer(*stream);
    lowest.expires_at(deadline);
    std::vector<tcp::endpoint> endpoints;
    if (numeric_address(address.host)) {
      endpoints.emplace_back(asio::ip::make_address(address.host), address.port);
    } else {
      tcp::resolver resolver(io_);
      auto [resolve_error, results] =
          co_await resolver.async_resolve(address.host, std::to_string(address.port), use_tuple);
      if (resolve_error) throw LinkError("cannot resolve " + address.host + ": " + resolve_error.message());
      for (const auto& result : results) endpoints.push_back(result.endpoint());
      // Each time through the addresses, start one further along the ones the name gave.
      std::rotate(endpoints.begin(),
                  endpoints.begin() + static_cast<std::ptrdiff_t>(target_.rotation() % endpoints.size()),
                  endpoints.end());
    }
    target_.resolved = endpoints.size();
    auto [error, endpoint] = co_await asio::async_connect(lowest.socket(), endpoints, use_tuple);
    if (error) throw LinkError("cannot connect to the ledger at " + where() + ": " + error.message());
    target_.endpoint = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    lowest.socket().set_option(tcp::no_delay(true));
    auto [handshake_error] = co_await stream->async_handshake(ssl::stream_base::client, use_tuple);
    if (handshake_error) throw LinkError("TLS with the ledger at " + where() + " failed: " + handshake_error.message());
    stream_ = std::move(stream);
  }

  std::string where() const { return at_; }

  std::string describe(const boost::system::error_code& error, std::chrono::milliseconds timeout) const {
    if (error == beast::error::timeout) {
      return "the ledger at " + where() + " did not answer within " + std::to_string(timeout.count()) + " ms";
    }
    return "the exchange with the ledger at " + where() + " failed: " + error.message();
  }

  asio::io_context& io_;
  std::shared_ptr<ssl::context> tls_;
  const UplinkSettings& settings_;
  Target& target_;
  std::string at_;  // HOST:PORT of the address this connection was made to
  std::unique_ptr<Stream> stream_;
  beast::flat_buffer buffer_;
  std::chrono::steady_clock::time_point admitted_;
};

Uplink::Uplink(asio::io_context& io, UplinkSettings settings, storage::Journal& journal, storage::MemberCache& members,
               storage::RulebookStore& rulebooks, RulebookInstalled on_rulebook, Log& log, runtime::Clock clock)
    : io_(io),
      settings_(std::move(settings)),
      journal_(journal),
      members_(members),
      rulebooks_(rulebooks),
      on_rulebook_(std::move(on_rulebook)),
      log_(log),
      clock_(std::move(clock)),
      tls_(std::make_shared<ssl::context>(make_context(ssl::context::tls_client, settings_.tls))),
      target_(std::make_unique<Target>(settings_.ledgers)),
      bulk_(std::make_unique<Connection>(io, tls_, settings_, *target_)),
      quick_(std::make_unique<Connection>(io, tls_, settings_, *target_)),
      wait_(io),
      random_(settings_.seed) {
  if (settings_.ledgers.empty()) throw std::invalid_argument("the uplink needs at least one ledger address");
  status_.acknowledged_through = storage::acknowledged_through(journal_.database());
  status_.member_cursor = members_.cursor();
  status_.address = host_port(target_->address());
}

Uplink::~Uplink() = default;

void Uplink::start() { asio::co_spawn(io_, run(), asio::detached); }

void Uplink::stop() {
  stopping_ = true;
  wait_.cancel();
  bulk_->abort();
  quick_->abort();
}

void Uplink::wake() {
  woken_ = true;
  if (status_.retry_in_ms == 0) wait_.cancel();  // an idle wait; a backoff runs its course
}

void Uplink::went_offline(const std::string& reason) {
  if (status_.online || status_.offline_reason != reason) {
    log_.warning("ledger_offline", "the ledger cannot be reached or refused: offline limits apply",
                 {{"reason", reason}, {"address", status_.address}});
  }
  status_.online = false;
  status_.offline_reason = reason;
  // The next attempt goes to the next address, or the next endpoint of the name.
  if (settings_.ledgers.size() > 1 || target_->resolved > 1) {
    const std::string from = status_.address;
    ++target_->failovers;
    ++status_.failovers;
    status_.address = host_port(target_->address());
    log_.info("ledger_failover", "trying another ledger address next",
              {{"from", from}, {"to", status_.address}, {"endpoints", target_->resolved}});
  }
}

Task<> Uplink::run() {
  running_ = true;
  auto last_pull = std::chrono::steady_clock::time_point{};
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    const bool pull = last_pull == std::chrono::steady_clock::time_point{} || now - last_pull >= settings_.pull_every;
    std::string failure;
    std::optional<std::chrono::milliseconds> busy;
    try {
      woken_ = false;
      co_await round(pull);
      if (pull) last_pull = now;
    } catch (const uplink_detail::LedgerBusy& error) {
      busy = error.retry_after();
    } catch (const std::exception& error) {
      failure = error.what();
    }
    ++status_.rounds;
    if (stopping_) break;
    std::chrono::milliseconds delay = settings_.idle_poll;
    if (busy) {
      // Up and answering: online, no backoff; the asked-for wait, spread by half either way so
      // that the terminals told to wait together do not come back together.
      ++status_.busy_answers;
      status_.last_contact_ms = clock_();
      status_.online = true;
      status_.offline_reason.clear();
      status_.consecutive_failures = 0;
      delay = std::chrono::milliseconds(
          std::uniform_int_distribution<std::int64_t>(busy->count() / 2, busy->count() * 3 / 2)(random_));
    } else if (failure.empty()) {
      status_.endpoint = target_->endpoint;
      if (!status_.online) {
        log_.info("ledger_online", "the ledger answers: uploads and online authorization resume",
                  {{"address", status_.address}, {"endpoint", status_.endpoint}});
      }
      status_.online = true;
      status_.offline_reason.clear();
      status_.consecutive_failures = 0;
      status_.retry_in_ms = 0;
      if (woken_) continue;  // entries arrived during the round
    } else {
      ++status_.failures;
      ++status_.consecutive_failures;
      went_offline(failure);
      // Full jitter: uniform in [0, min(max, min * 2^failures)].
      const auto exponent = std::min<std::int64_t>(status_.consecutive_failures - 1, 30);
      const std::int64_t ceiling =
          std::min<std::int64_t>(settings_.backoff_max.count(), settings_.backoff_min.count() << exponent);
      delay = std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, ceiling)(random_));
      status_.retry_in_ms = std::max<std::int64_t>(delay.count(), 1);
    }
    wait_.expires_after(delay);
    co_await wait_.async_wait(use_tuple);
    status_.retry_in_ms = 0;
  }
  running_ = false;
}

Task<> Uplink::round(bool pull) {
  co_await upload();
  if (pull && settings_.pull) {
    co_await pull_rulebook();
    co_await pull_members();
  }
}

Task<> Uplink::upload() {
  for (;;) {
    std::vector<storage::JournalEntry> entries = journal_.pending(settings_.batch_entries);
    // Only signed entries leave the terminal; the newest may be waiting for their signature.
    const auto unsigned_entry =
        std::find_if(entries.begin(), entries.end(), [](const storage::JournalEntry& e) { return !e.signature; });
    entries.erase(unsigned_entry, entries.end());
    if (entries.empty()) co_return;
    const std::int64_t first = entries.front().seq;
    const std::int64_t last = entries.back().seq;

    HttpRequest request = make_request(http::verb::post, "/v1/journal", target_->address().host);
    request.set(http::field::content_type, kBatchMediaType);
    request.body() = batch_to_binary(journal_.terminal_id(), entries);
    const HttpResponse response =
        co_await bulk_->exchange(std::move(request), settings_.request_timeout, settings_.admission_timeout);
    status_.last_contact_ms = clock_();
    if (response.result() == http::status::service_unavailable && refusal_of(response).ends_with("(ledger_busy)")) {
      // Retry-After in whole seconds (RFC 9110); 1 s when it cannot be read.
      std::int64_t seconds = 1;
      try {
        seconds = std::clamp<std::int64_t>(std::stoll(std::string(response[http::field::retry_after])), 1, 60);
      } catch (const std::exception&) {
      }
      throw uplink_detail::LedgerBusy("the ledger is busy with other terminals' batches",
                                      std::chrono::seconds(seconds));
    }
    if (response.result() != http::status::ok) {
      throw LinkError("the ledger refused entries " + std::to_string(first) + "-" + std::to_string(last) + ": " +
                      refusal_of(response));
    }
    Ack ack;
    try {
      ack = ack_from_json(parse_json(response.body(), "ack"));
    } catch (const JsonError& error) {
      throw LinkError(std::string("the ledger's acknowledgement cannot be read: ") + error.what());
    }
    if (ack.terminal_id != journal_.terminal_id()) {
      throw LinkError("the ledger acknowledged terminal " + ack.terminal_id + ", not " + journal_.terminal_id());
    }
    if (ack.acknowledged_through < first) {
      // The ledger holds less than this terminal was told it had: it was restored from an
      // older backup. Entries before `first` may be pruned here; replaying an export of them
      // (docs/operations.md) brings the ledger back.
      throw LinkError("the ledger holds this terminal's journal only through entry " +
                      std::to_string(ack.acknowledged_through) + ", but entry " + std::to_string(first - 1) +
                      " was acknowledged before: the ledger lost entries; replay them from an export");
    }
    const std::int64_t through = std::min(ack.acknowledged_through, last);
    const std::int64_t acknowledged = journal_.acknowledge(first, through, ack.member_cursor);
    status_.acknowledged_through = through;
    status_.entries_uploaded += acknowledged;
    ++status_.batches;
    status_.last_ack_ms = clock_();
    if (on_acknowledged_) on_acknowledged_(first, through, std::chrono::steady_clock::now() - bulk_->admitted());
    if (log_.enabled(LogLevel::debug)) {
      log_.write(LogLevel::debug, "batch_acknowledged", "the ledger acknowledged entries",
                 {{"first", first}, {"through", through}, {"member_cursor", ack.member_cursor}});
    }
    if (through < last) co_return;  // the ledger keeps the rest aside for now; next round
  }
}

Task<> Uplink::pull_rulebook() {
  const auto active = rulebooks_.active();
  HttpRequest request = make_request(http::verb::get, "/v1/rulebook", target_->address().host);
  if (active) request.set(http::field::if_none_match, "\"v" + std::to_string(active->version) + "\"");
  const HttpResponse response = co_await bulk_->exchange(std::move(request), settings_.request_timeout);
  status_.last_contact_ms = clock_();
  if (response.result() == http::status::not_modified || response.result() == http::status::not_found) co_return;
  if (response.result() != http::status::ok) throw LinkError("the rulebook download failed: " + refusal_of(response));
  try {
    SignedRulebook signed_rulebook = verify_rulebook(response.body(), settings_.rulebook_keys, clock_() / 1000);
    const std::int64_t version = signed_rulebook.rules.version;
    const storage::InstallResult result = rulebooks_.install(
        {version, signed_rulebook.envelope, signed_rulebook.signature, signed_rulebook.key_id, clock_()});
    if (result.outcome == storage::Installed::not_newer) {
      throw RulebookRefused("older", "the ledger offered rulebook version " + std::to_string(version) +
                                         ", not newer than the active version " +
                                         std::to_string(result.active_version) + ": kept the active one");
    }
    ++status_.rulebooks_installed;
    status_.rulebook_refusal.clear();
    log_.info("rulebook_installed", "rulebook installed from the ledger",
              {{"id", signed_rulebook.rules.id}, {"version", version}, {"key_id", signed_rulebook.key_id}});
    on_rulebook_(std::move(signed_rulebook.rules));
  } catch (const RulebookRefused& refused) {
    if (status_.rulebook_refusal != refused.what()) {
      log_.warning("rulebook_refused", refused.what(), {{"code", refused.code()}});
    }
    status_.rulebook_refusal = refused.what();
  }
}

Task<> Uplink::pull_members() {
  for (;;) {
    const std::int64_t cursor = members_.cursor();
    HttpRequest request = make_request(
        http::verb::get, "/v1/members?after=" + std::to_string(cursor) + "&limit=" + std::to_string(kMemberPage),
        target_->address().host);
    const HttpResponse response = co_await bulk_->exchange(std::move(request), settings_.request_timeout);
    status_.last_contact_ms = clock_();
    if (response.result() != http::status::ok) throw LinkError("the member download failed: " + refusal_of(response));
    MemberPage page;
    try {
      page = member_page_from_json(parse_json(response.body(), "members"));
      if (page.cursor > cursor && !page.members.empty()) {
        members_.apply(page.members, page.cursor);
        status_.members_applied += static_cast<std::int64_t>(page.members.size());
      }
    } catch (const JsonError& error) {
      throw LinkError(std::string("the ledger's member changes cannot be read: ") + error.what());
    } catch (const std::invalid_argument& error) {
      throw LinkError(std::string("the ledger's member changes were refused: ") + error.what());
    }
    status_.member_cursor = members_.cursor();
    if (!page.more || page.cursor <= cursor) co_return;
  }
}

Task<std::optional<OnlineAuthorization>> Uplink::authorize(std::string member_id, std::string receipt_id,
                                                           std::int64_t points) {
  if (!status_.online || authorizing_ || stopping_) {
    ++status_.authorization_fallbacks;
    co_return std::nullopt;
  }
  authorizing_ = true;
  std::optional<OnlineAuthorization> result;
  std::string failure;
  try {
    HttpRequest request = make_request(http::verb::post, "/v1/authorize", target_->address().host);
    request.set(http::field::content_type, "application/json");
    OrderedJson body;
    body["member_id"] = member_id;
    body["receipt_id"] = receipt_id;
    body["points"] = points;
    request.body() = body.dump();
    const HttpResponse response = co_await quick_->exchange(std::move(request), settings_.authorize_timeout);
    if (response.result() == http::status::ok) {
      const Json answer = parse_json(response.body(), "authorization");
      Reader in(answer, "authorization");
      OnlineAuthorization authorization;
      authorization.outcome = in.string("outcome", 32);
      authorization.points = in.integer("points", 0, points);
      authorization.available = in.integer("available", 0, storage::kMaxEntryPoints);
      in.integer("expires_at_ms", 0, std::numeric_limits<std::int64_t>::max());
      in.finish();
      result = authorization;
    } else {
      failure = refusal_of(response);
    }
  } catch (const std::exception& error) {
    failure = error.what();
  }
  authorizing_ = false;
  if (result) {
    ++status_.authorizations;
  } else {
    ++status_.authorization_fallbacks;
    log_.warning("authorization_fallback", "no online authorization in time: offline limits apply",
                 {{"receipt_id", receipt_id}, {"reason", failure}});
  }
  co_return result;
}

}  // namespace loyalty::sync
