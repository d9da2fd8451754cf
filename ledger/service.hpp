// The ledger's sync API (docs/sync-protocol.md), independent of the transport: each request
// comes with the peer its TLS certificate proved, and a terminal may act only as itself.
//
//   POST /v1/journal      upload a batch of the terminal's own entries; answers the ack
//   GET  /v1/rulebook     the newest signed rulebook; ETag "v<version>", If-None-Match -> 304
//   GET  /v1/members      member changes after ?after=CURSOR (at most ?limit=N)
//   POST /v1/authorize    hold points of a member's balance for a receipt
//   GET  /v1/health       liveness and the ledger's figures
//   GET  /metrics         Prometheus text
//
// Health and metrics are also served without a peer (the loopback admin listener).

#ifndef LOYALTY_LEDGER_SERVICE_HPP_
#define LOYALTY_LEDGER_SERVICE_HPP_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "ledger/pool.hpp"
#include "ledger/upload_groups.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "sync/http.hpp"

namespace loyalty::ledger {

// Who is asking, as the client certificate says.
struct Peer {
  std::string terminal_id;  // CN
  std::string store_id;     // OU
  std::string serial;
};

struct ServiceCounters {
  std::int64_t requests = 0;
  std::int64_t batches = 0;
  std::int64_t entries_applied = 0;
  std::int64_t entries_duplicate = 0;
  std::int64_t entries_held_back = 0;
  std::int64_t rulebook_sent = 0;
  std::int64_t rulebook_not_modified = 0;
  std::int64_t member_pages = 0;
  std::int64_t tls_refused = 0;                        // handshakes that failed (counted by the server)
  std::int64_t busy = 0;                               // uploads answered 503 ledger_busy (by the server)
  std::map<std::string, std::int64_t> refusals;        // by code
  std::map<std::string, std::int64_t> authorizations;  // by outcome
  // From a request read to its answer, by route: upload, authorize, members, rulebook, other.
  std::map<std::string, runtime::Histogram, std::less<>> durations;
  runtime::Histogram admission;  // from an upload's header read to its turn (or its 503)
  // From an upload's turn to its body's last byte: how long its terminal holds the turn
  // sending the batch (a slow link, or a client slow to act on its 100 Continue).
  runtime::Histogram body_read;
  // An online authorization's wait for a store connection: on SQLite, for the one writer,
  // which an upload group may hold (the rest of its answer time is threads and the store).
  runtime::Histogram authorize_store_wait;
};

// Thread-safe: requests are answered on the server's worker threads, each with a ledger of
// the pool; uploads wait for their group's commit.
class LedgerService {
 public:
  // `pool`, `readers` and `log` must outlive the service. Member pages, rulebooks and health
  // are read with `readers`: on SQLite a connection of their own, which reads beside the one
  // writer without waiting for it (WAL); on PostgreSQL the same pool. Concurrent uploads are
  // applied in groups of at most `group_entries` entries (ledger/upload_groups.hpp).
  LedgerService(LedgerPool& pool, LedgerPool& readers, runtime::Log& log, runtime::Clock clock,
                std::size_t group_entries = kDefaultGroupEntries);

  // Answers one request. `peer` is null on the admin listener, which serves health and metrics
  // only.
  sync::HttpResponse handle(const sync::HttpRequest& request, const Peer* peer);

  void count_tls_refused();
  void count_busy();
  // Records how long the server took to answer a request for `target`, from the moment it was
  // read (waiting for a worker thread included).
  void observe(std::string_view target, double seconds);
  // An upload's wait for its turn (ledger/upload_admission.hpp).
  void observe_admission(double seconds);
  // An admitted upload's body read, from its turn.
  void observe_body_read(double seconds);
  ServiceCounters counters() const;
  UploadGroupStats upload_groups() const { return groups_.stats(); }

 private:
  sync::HttpResponse upload(const sync::HttpRequest& request, const Peer& peer);
  sync::HttpResponse rulebook(const sync::HttpRequest& request);
  sync::HttpResponse members(std::string_view query);
  sync::HttpResponse authorize(const sync::HttpRequest& request, const Peer& peer);
  sync::HttpResponse health();
  sync::HttpResponse metrics();

  template <class F>
  void count(F&& f) {
    const std::lock_guard lock(counters_mutex_);
    f(counters_);
  }

  LedgerPool& pool_;
  LedgerPool& readers_;
  runtime::Log& log_;
  runtime::Clock clock_;
  UploadGroups groups_;
  mutable std::mutex counters_mutex_;
  ServiceCounters counters_;
};

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_SERVICE_HPP_
