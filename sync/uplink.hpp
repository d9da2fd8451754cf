// The agent's link to the ledger (docs/sync-protocol.md): a background loop that uploads the
// journal's pending entries in batches and marks them acknowledged only when the ledger says
// so, pulls the signed rulebook and member changes, and answers online redemption
// authorizations within a short deadline.
//
// A ledger that answers an upload 503 ledger_busy (too many terminals' batches waiting) is up:
// the link stays online and sends the batch again after the Retry-After the ledger gave, spread
// by half either way.
//
// Failures (no route, refused connection, TLS refusal, timeouts, a 5xx, a torn response) make
// the link offline and the loop waits before the next attempt: exponential backoff with full
// jitter (a random delay between 0 and min(max, min * 2^failures)), so that a thousand lanes
// coming back after an outage do not hit the ledger in step. Nothing is lost by a failed
// attempt: entries stay pending until an acknowledgement covers them, and the ledger applies
// each entry once however often it arrives.
//
// Rulebooks are installed only with a valid signature from an accepted key, not expired, and
// newer than the active one (anti-rollback); anything else is refused, logged, and the active
// rulebook stays.
//
// Several ledgers. The settings list one or more ledger addresses (several instances on one
// database, or one name that resolves to several). The link uses one at a time; after a failed
// round it moves to the next address, and through the addresses a name resolved to, so that a
// dead or failing instance is left behind at the next attempt. Status says which one is used.

#ifndef LOYALTY_SYNC_UPLINK_HPP_
#define LOYALTY_SYNC_UPLINK_HPP_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "domain/rulebook.hpp"
#include "runtime/asio.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "storage/journal.hpp"
#include "storage/member_cache.hpp"
#include "storage/rulebook_store.hpp"
#include "sync/authorization.hpp"
#include "sync/http.hpp"
#include "sync/signed_rulebook.hpp"
#include "sync/tls.hpp"

namespace loyalty::sync {

struct LedgerAddress {
  std::string host;  // an IP address or a host name
  std::uint16_t port = 8443;
};

struct UplinkSettings {
  std::vector<LedgerAddress> ledgers;  // at least one; the next is tried after a failure
  std::string server_name;             // checked against the ledger's certificate; default: the host
  TlsFiles tls;                        // the chain's CA, this terminal's certificate and key
  std::vector<RulebookKey> rulebook_keys;
  std::size_t batch_entries = 500;
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{60'000};
  std::chrono::milliseconds request_timeout{15'000};
  // An upload's wait for the ledger to let its body in (100 Continue), before request_timeout.
  std::chrono::milliseconds admission_timeout{60'000};
  std::chrono::milliseconds authorize_timeout{300};
  std::chrono::milliseconds idle_poll{1'000};    // how often an idle link looks for new entries
  std::chrono::milliseconds pull_every{60'000};  // rulebook and member changes
  bool pull = true;                              // false: uploads only (a load test measuring the upload path alone)
  std::uint32_t seed = std::random_device{}();   // of the backoff jitter
};

struct UplinkStatus {
  bool online = false;
  std::string offline_reason = "not connected yet";
  std::int64_t last_contact_ms = 0;  // the last answer from the ledger
  std::int64_t last_ack_ms = 0;
  std::int64_t acknowledged_through = 0;
  std::int64_t entries_uploaded = 0;  // acknowledged by this process
  std::int64_t batches = 0;
  std::int64_t rounds = 0;  // rounds of upload (and pull) finished, with success or not
  std::int64_t failures = 0;
  std::int64_t consecutive_failures = 0;
  std::int64_t retry_in_ms = 0;  // the backoff delay now being waited, 0 when none
  std::int64_t members_applied = 0;
  std::int64_t member_cursor = 0;
  std::int64_t rulebooks_installed = 0;
  std::string rulebook_refusal;  // the last rulebook refused, and why
  std::int64_t authorizations = 0;
  std::int64_t authorization_fallbacks = 0;  // deadline missed or offline: offline limits applied
  std::string address;                       // the ledger address in use, HOST:PORT as configured
  std::string endpoint;                      // the IP:PORT last connected to ("" before the first)
  std::int64_t failovers = 0;                // moves to another address after a failure
  std::int64_t busy_answers = 0;             // uploads the ledger asked to send again later (503 ledger_busy)
};

class Uplink {
 public:
  using RulebookInstalled = std::function<void(domain::Rulebook)>;

  // Everything passed by reference must outlive the Uplink. Throws TlsError when the TLS files
  // cannot be used.
  Uplink(asio::io_context& io, UplinkSettings settings, storage::Journal& journal, storage::MemberCache& members,
         storage::RulebookStore& rulebooks, RulebookInstalled on_rulebook, runtime::Log& log, runtime::Clock clock);
  ~Uplink();

  void start();
  // Ends the loop and aborts exchanges in flight. The loop finishes on the event loop
  // (running() turns false); destroy the Uplink only after that, or after the event loop
  // has stopped running handlers.
  void stop();
  bool running() const { return running_; }
  // New entries were journaled (and signed): an idle link uploads them now.
  void wake();

  // Asks the ledger to hold `points` of the member's balance for this receipt. Returns nothing
  // when offline, when the deadline passes, or when another authorization is in flight: the
  // caller applies the offline limits at once.
  Task<std::optional<OnlineAuthorization>> authorize(std::string member_id, std::string receipt_id,
                                                     std::int64_t points);

  const UplinkStatus& status() const { return status_; }

  // Called after each batch the ledger acknowledged, with the entries it covered (first to
  // through) and the batch's round trip from sending its body (once admitted) to the answer:
  // for load tests.
  using Acknowledged =
      std::function<void(std::int64_t first, std::int64_t through, std::chrono::steady_clock::duration round_trip)>;
  void on_acknowledged(Acknowledged observer) { on_acknowledged_ = std::move(observer); }

 private:
  class Connection;
  struct Target;
  Task<> run();
  // One round: upload everything pending, then pull when due. Throws on failure.
  Task<> round(bool pull);
  Task<> upload();
  Task<> pull_rulebook();
  Task<> pull_members();
  void went_offline(const std::string& reason);

  asio::io_context& io_;
  UplinkSettings settings_;
  storage::Journal& journal_;
  storage::MemberCache& members_;
  storage::RulebookStore& rulebooks_;
  RulebookInstalled on_rulebook_;
  Acknowledged on_acknowledged_;
  runtime::Log& log_;
  runtime::Clock clock_;
  std::shared_ptr<ssl::context> tls_;
  std::unique_ptr<Target> target_;
  std::unique_ptr<Connection> bulk_;   // uploads and pulls
  std::unique_ptr<Connection> quick_;  // authorizations, never queued behind a batch
  asio::steady_timer wait_;
  std::mt19937 random_;
  UplinkStatus status_;
  bool stopping_ = false;
  bool running_ = false;
  bool woken_ = false;
  bool authorizing_ = false;
};

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_UPLINK_HPP_
