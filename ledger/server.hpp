// The ledger's network side: HTTPS with TLS 1.3 and mutual TLS for terminals, and an optional
// plain-HTTP admin listener on loopback for health and metrics. One coroutine per connection on
// one network thread, which accepts, handshakes, reads and writes; each request's ledger work
// runs on a worker thread with a database connection of its own (ledger/pool.hpp): one on
// SQLite, db_connections on PostgreSQL. Expiry and the audit run on a thread of their own.
//
// A client that presents no certificate, one from another CA, an expired or a revoked one fails
// the handshake; the failure is logged with OpenSSL's reason and counted. The certificate's
// common name is the terminal the requests act for.

#ifndef LOYALTY_LEDGER_SERVER_HPP_
#define LOYALTY_LEDGER_SERVER_HPP_

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>

#include "ledger/config.hpp"
#include "ledger/service.hpp"
#include "runtime/asio.hpp"
#include "runtime/log.hpp"
#include "sync/tls.hpp"

namespace loyalty::ledger {

class LedgerServer {
 public:
  using Workers = asio::any_io_executor;
  // `io`, the `workers`' context, `service` and `log` must outlive the server. A request body
  // larger than `max_request_bytes` (the configured max_batch_bytes) is answered 413
  // batch_too_large.
  LedgerServer(asio::io_context& io, Workers workers, std::shared_ptr<sync::ssl::context> tls, LedgerService& service,
               runtime::Log& log, std::size_t max_request_bytes, std::chrono::milliseconds read_timeout);

  // Binds and listens; return the port (useful with port 0). Throw boost::system::system_error.
  std::uint16_t listen_tls(const Endpoint& endpoint);
  std::uint16_t listen_admin(const Endpoint& endpoint);

  // Connections accepted from now on use `tls` (a new revocation list, say).
  void set_tls(std::shared_ptr<sync::ssl::context> tls) { tls_ = std::move(tls); }
  void stop();

 private:
  Task<> accept_tls();
  Task<> accept_admin();
  Task<> serve_tls(asio::ip::tcp::socket socket);
  template <class Stream>
  Task<> serve_requests(Stream& stream, const Peer* peer);

  asio::io_context& io_;
  Workers workers_;
  std::shared_ptr<sync::ssl::context> tls_;
  LedgerService& service_;
  runtime::Log& log_;
  std::size_t max_request_bytes_;
  std::chrono::milliseconds read_timeout_;
  asio::ip::tcp::acceptor tls_acceptor_;
  asio::ip::tcp::acceptor admin_acceptor_;
  bool stopping_ = false;
};

// Runs `loyalty-ledger serve`: opens the store, listens, expires points and audits sales
// periodically, reloads the TLS files (a new revocation list) on SIGHUP, and stops on SIGTERM or
// SIGINT. Logs go to `err`. Returns the exit status: 0 after a signal, 78 (EX_CONFIG) when the
// TLS files the configuration names cannot be used, 1 for any other failure.
int run_server(const ServerConfig& config, std::ostream& err);

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_SERVER_HPP_
