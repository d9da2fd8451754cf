// The ledger's network side: HTTPS with TLS 1.3 and mutual TLS for terminals, and an optional
// plain-HTTP admin listener on loopback for health and metrics. One coroutine per connection on
// network_threads network threads, which accept, handshake, read and write (each connection on
// a strand of its own). Each request's ledger work
// runs on a worker thread, with a database connection of the pool (ledger/pool.hpp): one
// writer on SQLite, db_connections on PostgreSQL. Uploads are let in upload_admissions at a
// time before their bodies are read (ledger/upload_admission.hpp); threads of their own
// (upload_threads) parse, decode and hash the admitted batches side by side and then wait
// while one of them applies the waiting batches as a group (ledger/upload_groups.hpp).
// Authorizations, health and metrics have two threads of their own and go first to the store;
// member pages and rulebooks are read on SQLite by a connection of their own, beside the
// writer. Expiry and the audit run on a thread of their own.
//
// A client that presents no certificate, one from another CA, an expired or a revoked one fails
// the handshake; the failure is logged with OpenSSL's reason and counted. The certificate's
// common name is the terminal the requests act for.

#ifndef LOYALTY_LEDGER_SERVER_HPP_
#define LOYALTY_LEDGER_SERVER_HPP_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <mutex>

#include "ledger/config.hpp"
#include "ledger/service.hpp"
#include "ledger/upload_admission.hpp"
#include "runtime/asio.hpp"
#include "runtime/log.hpp"
#include "sync/tls.hpp"

namespace loyalty::ledger {

class LedgerServer {
 public:
  // Where requests are answered: uploads on threads that wait for their group's commit;
  // authorizations, health and metrics on threads of their own, so that a till never queues
  // behind upload batches or member pages; the rest (member pages, rulebooks) on `feed`.
  struct Workers {
    asio::any_io_executor uploads;
    asio::any_io_executor quick;
    asio::any_io_executor feed;
  };
  struct Limits {
    std::size_t max_request_bytes = 8 * 1024 * 1024;   // larger bodies are answered 413 batch_too_large
    std::chrono::milliseconds read_timeout{15'000};    // each read and write of a request
    std::size_t upload_admissions = 32;                // uploads read and applied at once
    std::size_t max_uploads_waiting = 4096;            // waiting for their turn; past it, 503 at once
    std::chrono::milliseconds admission_wait{30'000};  // waited for a turn; past it, 503
  };
  // `io`, the workers' contexts, `service` and `log` must outlive the server. Uploads are
  // admitted before their bodies are read (ledger/upload_admission.hpp); one refused a turn is
  // answered 503 ledger_busy with Retry-After: 1, and the connection is closed (its body may
  // be on its way).
  LedgerServer(asio::io_context& io, Workers workers, std::shared_ptr<sync::ssl::context> tls, LedgerService& service,
               runtime::Log& log, Limits limits);

  // Binds and listens; return the port (useful with port 0). Throw boost::system::system_error.
  std::uint16_t listen_tls(const Endpoint& endpoint);
  std::uint16_t listen_admin(const Endpoint& endpoint);

  // Connections accepted from now on use `tls` (a new revocation list, say).
  void set_tls(std::shared_ptr<sync::ssl::context> tls);
  // Uploads waiting for their turn, their bodies unread.
  std::size_t uploads_waiting() const { return admission_.waiting(); }
  void stop();

 private:
  const asio::any_io_executor& workers_for(const sync::HttpRequest& request) const;
  Task<> accept_tls();
  Task<> accept_admin();
  Task<> serve_tls(asio::ip::tcp::socket socket);
  Task<> serve_admin(asio::ip::tcp::socket socket);
  template <class Stream>
  Task<> serve_requests(Stream& stream, const Peer* peer);
  template <class Stream>
  Task<> refuse_too_large(Stream& stream);
  // The service's answer, on the request's worker threads; 503 when the ledger failed.
  Task<sync::HttpResponse> answer(const sync::HttpRequest& request, const Peer* peer);
  Task<sync::HttpResponse> handle(const sync::HttpRequest& request, const Peer* peer);

  asio::io_context& io_;
  Workers workers_;
  std::mutex tls_mutex_;
  std::shared_ptr<sync::ssl::context> tls_;
  LedgerService& service_;
  runtime::Log& log_;
  Limits limits_;
  UploadAdmission admission_;
  asio::strand<asio::io_context::executor_type> accept_strand_;
  asio::ip::tcp::acceptor tls_acceptor_;
  asio::ip::tcp::acceptor admin_acceptor_;
  std::atomic<bool> stopping_ = false;
};

// Runs `loyalty-ledger serve`: opens the store, listens, expires points and audits sales
// periodically, reloads the TLS files (a new revocation list) on SIGHUP, and stops on SIGTERM or
// SIGINT. Logs go to `err`. Returns the exit status: 0 after a signal, 78 (EX_CONFIG) when the
// TLS files the configuration names cannot be used, 1 for any other failure.
int run_server(const ServerConfig& config, std::ostream& err);

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_SERVER_HPP_
