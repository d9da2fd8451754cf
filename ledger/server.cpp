#include "ledger/server.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <ostream>
#include <stop_token>
#include <thread>

#include <boost/asio/thread_pool.hpp>

#include "ledger/audit.hpp"
#include "ledger/open_store.hpp"
#include "runtime/clock.hpp"
#include "runtime/limits.hpp"
#include "runtime/options.hpp"
#include "runtime/systemd.hpp"

namespace loyalty::ledger {
namespace {

using tcp = asio::ip::tcp;

// The peer of a completed handshake (its certificate was verified against the CA).
Peer peer_of(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return {};
  sync::CertificateInfo info = sync::certificate_info(cert);
  return {std::move(info.common_name), std::move(info.organizational_unit), std::move(info.serial)};
}

std::uint16_t listen_on(tcp::acceptor& acceptor, const Endpoint& endpoint) {
  const tcp::endpoint at(asio::ip::make_address(endpoint.address), endpoint.port);
  acceptor.open(at.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(at);
  acceptor.listen();
  return acceptor.local_endpoint().port();
}

// Expiry and the audit, every expire_every_s, on a thread of their own with their own database
// connection: never on the threads that answer uploads. With several ledger processes on one
// PostgreSQL database, each job runs in one of them at a time (LedgerStore::run_alone).
class Housekeeping {
 public:
  Housekeeping(const ServerConfig& config, runtime::Log& log)
      : config_(config), log_(log), store_(open_store(config.db)), ledger_(*store_, config.settings) {}
  ~Housekeeping() { stop(); }

  void start() {
    thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    thread_.join();
  }

 private:
  void run(std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any stopped;
    for (;;) {
      {
        std::unique_lock lock(mutex);
        // The stop request is the event waited for; the interval is the schedule.
        stopped.wait_for(lock, stop, std::chrono::seconds(config_.expire_every_s), [] { return false; });
        if (stop.stop_requested()) return;
      }
      try {
        store_->run_alone(LedgerStore::Job::expiry, [&] {
          if (const std::int64_t points = ledger_.expire(runtime::unix_now_ms()); points > 0) {
            log_.info("points_expired", "expired points whose time had come", {{"points", points}});
          }
        });
        store_->run_alone(LedgerStore::Job::audit, [&] {
          const AuditSummary audited = audit(*store_);
          if (audited.mismatches > 0) {
            log_.warning("audit_mismatches", "sales that do not price as they recorded",
                         {{"sales", audited.sales}, {"mismatches", audited.mismatches}});
          }
        });
      } catch (const std::exception& e) {
        log_.error("housekeeping_failed", "expiry or audit failed; will try again", {{"error", e.what()}});
      }
    }
  }

  const ServerConfig& config_;
  runtime::Log& log_;
  std::unique_ptr<LedgerStore> store_;
  Ledger ledger_;
  std::jthread thread_;
};

}  // namespace

LedgerServer::LedgerServer(asio::io_context& io, Workers workers, std::shared_ptr<sync::ssl::context> tls,
                           LedgerService& service, runtime::Log& log, Limits limits)
    : io_(io),
      workers_(std::move(workers)),
      tls_(std::move(tls)),
      service_(service),
      log_(log),
      limits_(limits),
      admission_(limits.upload_admissions, limits.max_uploads_waiting),
      accept_strand_(asio::make_strand(io)),
      tls_acceptor_(io),
      admin_acceptor_(io) {}

std::uint16_t LedgerServer::listen_tls(const Endpoint& endpoint) {
  const std::uint16_t port = listen_on(tls_acceptor_, endpoint);
  asio::co_spawn(accept_strand_, accept_tls(), asio::detached);
  return port;
}

std::uint16_t LedgerServer::listen_admin(const Endpoint& endpoint) {
  const std::uint16_t port = listen_on(admin_acceptor_, endpoint);
  asio::co_spawn(accept_strand_, accept_admin(), asio::detached);
  return port;
}

void LedgerServer::stop() {
  stopping_ = true;
  // The acceptors are used on their strand only.
  asio::dispatch(accept_strand_, [this] {
    boost::system::error_code ignored;
    tls_acceptor_.close(ignored);
    admin_acceptor_.close(ignored);
  });
}

void LedgerServer::set_tls(std::shared_ptr<sync::ssl::context> tls) {
  const std::lock_guard lock(tls_mutex_);
  tls_ = std::move(tls);
}

Task<> LedgerServer::accept_tls() {
  while (!stopping_) {
    // Each connection on a strand of its own: its coroutine and its stream's timers never run
    // at once on two of the network threads.
    auto [error, socket] = co_await tls_acceptor_.async_accept(asio::make_strand(io_), use_tuple);
    if (error) {
      if (error == asio::error::operation_aborted || stopping_) co_return;
      log_.warning("accept_failed", "could not accept a terminal connection", {{"error", error.message()}});
      continue;
    }
    const auto executor = socket.get_executor();
    asio::co_spawn(executor, serve_tls(std::move(socket)), asio::detached);
  }
}

Task<> LedgerServer::accept_admin() {
  while (!stopping_) {
    auto [error, socket] = co_await admin_acceptor_.async_accept(asio::make_strand(io_), use_tuple);
    if (error) {
      if (error == asio::error::operation_aborted || stopping_) co_return;
      continue;
    }
    const auto executor = socket.get_executor();
    asio::co_spawn(executor, serve_admin(std::move(socket)), asio::detached);
  }
}

Task<> LedgerServer::serve_admin(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  co_await serve_requests(stream, nullptr);
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

Task<> LedgerServer::serve_tls(tcp::socket socket) {
  const std::shared_ptr<sync::ssl::context> tls = [&] {  // this connection keeps the context it started with
    const std::lock_guard lock(tls_mutex_);
    return tls_;
  }();
  std::string remote;
  boost::system::error_code ignored;
  if (const auto endpoint = socket.remote_endpoint(ignored); !ignored) {
    remote = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls);
  beast::get_lowest_layer(stream).expires_after(limits_.read_timeout);
  auto [handshake_error] = co_await stream.async_handshake(sync::ssl::stream_base::server, use_tuple);
  if (handshake_error) {
    service_.count_tls_refused();
    std::string reason = handshake_error.message();
    const long verify = SSL_get_verify_result(stream.native_handle());
    if (verify != X509_V_OK) reason += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
    log_.warning("tls_refused", "a TLS handshake failed", {{"remote", remote}, {"reason", reason}});
    co_return;
  }
  const Peer peer = peer_of(stream.native_handle());
  co_await serve_requests(stream, &peer);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(use_tuple);
}

const asio::any_io_executor& LedgerServer::workers_for(const sync::HttpRequest& request) const {
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/v1/journal") return workers_.uploads;
  if (path == "/v1/authorize" || path == "/v1/health" || path == "/metrics") return workers_.quick;
  return workers_.feed;
}

Task<sync::HttpResponse> LedgerServer::handle(const sync::HttpRequest& request, const Peer* peer) {
  co_return service_.handle(request, peer);
}

Task<sync::HttpResponse> LedgerServer::answer(const sync::HttpRequest& request, const Peer* peer) {
  try {
    // On a worker thread, with a database connection; this thread goes on serving the other
    // connections meanwhile.
    co_return co_await asio::co_spawn(workers_for(request), handle(request, peer), asio::use_awaitable);
  } catch (const std::exception& error) {
    log_.error("request_failed", "a request failed inside the ledger", {{"error", error.what()}});
  }
  co_return sync::error_response(http::status::service_unavailable, "ledger_unavailable",
                                 "the ledger could not handle this request: try again later");
}

template <class Stream>
Task<> LedgerServer::refuse_too_large(Stream& stream) {
  auto answer = sync::error_response(http::status::payload_too_large, "batch_too_large",
                                     "the request is larger than " + std::to_string(limits_.max_request_bytes) +
                                         " bytes: send fewer entries per batch");
  answer.keep_alive(false);
  co_await http::async_write(stream, answer, use_tuple);
}

template <class Stream>
Task<> LedgerServer::serve_requests(Stream& stream, const Peer* peer) {
  beast::flat_buffer buffer;
  while (!stopping_) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(limits_.max_request_bytes);
    beast::get_lowest_layer(stream).expires_after(limits_.read_timeout);
    auto [header_error, header_read] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (header_error) {
      if (header_error == http::error::body_limit) co_await refuse_too_large(stream);
      co_return;
    }
    const auto header_at = std::chrono::steady_clock::now();
    const bool upload = &workers_for(parser.get()) == &workers_.uploads;
    // An upload's body is read in its turn.
    UploadAdmission::Slot slot;
    if (upload) {
      const UploadAdmission::Outcome outcome = co_await admission_.admit(limits_.admission_wait, slot);
      service_.observe_admission(std::chrono::duration<double>(std::chrono::steady_clock::now() - header_at).count());
      if (outcome != UploadAdmission::Outcome::admitted) {
        // The terminal stays online and sends the batch again shortly. The connection closes:
        // a client that did not wait for 100 Continue may be sending the body.
        service_.count_busy();
        auto busy =
            sync::error_response(http::status::service_unavailable, "ledger_busy",
                                 "the ledger is applying other terminals' batches: send this one again shortly");
        busy.set(http::field::retry_after, "1");
        busy.keep_alive(false);
        beast::get_lowest_layer(stream).expires_after(limits_.read_timeout);
        co_await http::async_write(stream, busy, use_tuple);
        co_return;
      }
    }
    const auto turn_at = std::chrono::steady_clock::now();
    beast::get_lowest_layer(stream).expires_after(limits_.read_timeout);
    if (beast::iequals(parser.get()[http::field::expect], "100-continue") && !parser.is_done()) {
      http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
      auto [continue_error, continue_written] = co_await http::async_write(stream, go_on, use_tuple);
      if (continue_error) co_return;
    }
    auto [read_error, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (read_error) {
      if (read_error == http::error::body_limit) co_await refuse_too_large(stream);
      co_return;
    }
    const sync::HttpRequest request = parser.release();
    const auto read_at = std::chrono::steady_clock::now();
    if (upload) service_.observe_body_read(std::chrono::duration<double>(read_at - turn_at).count());
    sync::HttpResponse response = co_await answer(request, peer);
    slot.release();
    service_.observe(request.target(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - read_at).count());
    const bool keep_alive = request.keep_alive() && !stopping_;
    response.keep_alive(keep_alive);
    beast::get_lowest_layer(stream).expires_after(limits_.read_timeout);
    auto [write_error, written] = co_await http::async_write(stream, response, use_tuple);
    if (write_error || !keep_alive) co_return;
  }
}

int run_server(const ServerConfig& config, std::ostream& err) {
  runtime::Log log(err, config.log_level, runtime::stderr_log_prefix());
  std::shared_ptr<sync::ssl::context> tls;
  try {  // the certificate, key, CA and revocation list the configuration names
    tls = std::make_shared<sync::ssl::context>(sync::make_context(sync::ssl::context::tls_server, config.tls));
  } catch (const std::exception& error) {
    log.error("config_invalid", error.what(), {{"exit_status", runtime::exit_config}});
    return runtime::exit_config;
  }
  // Every terminal keeps two connections (uploads, authorizations): the default soft limit of
  // 1,024 descriptors would refuse terminals from about the 500th on.
  const std::uint64_t open_files = runtime::raise_open_file_limit();
  try {
    LedgerPool pool(
        config.db_connections, [&] { return open_store(config.db); }, config.settings);
    // On SQLite a connection of its own for reads: the feed's pages, read by every terminal,
    // go on while a group of uploads holds the writer.
    const bool sqlite = !names_postgres(config.db);
    std::optional<LedgerPool> sqlite_readers;
    if (sqlite)
      sqlite_readers.emplace(
          1, [&] { return open_store(config.db); }, config.settings);
    LedgerPool& readers = sqlite ? *sqlite_readers : pool;
    LedgerService service(pool, readers, log, runtime::unix_now_ms, config.group_entries);
    Housekeeping housekeeping(config, log);
    asio::io_context io;
    asio::thread_pool uploads(config.upload_threads);
    asio::thread_pool quick(2);
    asio::thread_pool feed(readers.size());
    LedgerServer server(
        io, {uploads.get_executor(), quick.get_executor(), feed.get_executor()}, tls, service, log,
        {config.max_batch_bytes, std::chrono::milliseconds(config.read_timeout_ms), config.upload_admissions,
         config.max_uploads_waiting, std::chrono::milliseconds(config.admission_wait_ms)});
    const std::uint16_t port = server.listen_tls(config.listen);
    runtime::OrderedJson ready{{"port", port},
                               {"db", describe_store(config.db)},
                               {"db_connections", pool.size()},
                               {"network_threads", config.network_threads},
                               {"upload_threads", config.upload_threads},
                               {"upload_admissions", config.upload_admissions},
                               {"group_entries", config.group_entries},
                               {"open_files", open_files},
                               {"entries", pool.with([](Ledger& ledger) { return ledger.store().entry_count(); })}};
    if (config.admin_listen) ready["admin_port"] = server.listen_admin(*config.admin_listen);

    // Under systemd: READY=1 once listening, WATCHDOG=1 at half the unit's WatchdogSec from this
    // thread, the one that accepts and reads requests.
    const runtime::SystemdNotifier systemd = runtime::SystemdNotifier::from_environment();
    asio::steady_timer watchdog(io);
    std::function<void()> pet_watchdog = [&] {
      systemd.notify("WATCHDOG=1");
      watchdog.expires_after(*systemd.watchdog_interval());
      watchdog.async_wait([&](const boost::system::error_code& error) {
        if (!error) pet_watchdog();
      });
    };
    if (systemd.watchdog_interval()) pet_watchdog();

    asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    stop_signals.async_wait([&](const boost::system::error_code& error, int signal) {
      if (error) return;
      log.info("stopping", "stopping on a signal", {{"signal", signal}});
      systemd.notify("STOPPING=1");
      server.stop();
      io.stop();
    });
    asio::signal_set reload(io, SIGHUP);
    std::function<void()> wait_reload = [&] {
      reload.async_wait([&](const boost::system::error_code& error, int) {
        if (error) return;
        systemd.notify("RELOADING=1");
        try {
          server.set_tls(
              std::make_shared<sync::ssl::context>(sync::make_context(sync::ssl::context::tls_server, config.tls)));
          log.info("tls_reloaded", "certificates and revocation list reloaded for new connections");
        } catch (const std::exception& e) {
          log.error("tls_reload_failed", "kept the previous TLS files", {{"error", e.what()}});
        }
        systemd.notify("READY=1");
        wait_reload();
      });
    };
    wait_reload();
    housekeeping.start();
    log.info("ledger_ready", "the ledger is listening", std::move(ready));
    systemd.notify("READY=1");
    // More network threads: TLS, reading and writing for thousands of terminals is more than
    // one core's work.
    std::vector<std::thread> network;
    for (std::size_t i = 1; i < config.network_threads; ++i) network.emplace_back([&] { io.run(); });
    io.run();
    for (std::thread& thread : network) thread.join();
    housekeeping.stop();
    quick.join();
    feed.join();
    uploads.join();
    const UploadGroupStats groups = service.upload_groups();
    log.info("upload_groups", "uploads applied in groups",
             {{"groups", groups.groups},
              {"batches", groups.batches},
              {"largest", groups.largest},
              {"applying_s", groups.applying_s},
              {"batches_per_group",
               groups.groups > 0 ? static_cast<double>(groups.batches) / static_cast<double>(groups.groups) : 0.0}});
    return 0;
  } catch (const std::exception& error) {
    log.error("ledger_failed", error.what());
    return 1;
  }
}

}  // namespace loyalty::ledger
