// A TCP proxy that damages connections on purpose, between terminals and the ledger: it drops
// some connections at once, resets others in the middle of the request, cuts the answer short,
// or delays every chunk. Its choices come from a seed, so a failing run can be repeated. It
// runs on its own thread and event loop.

#ifndef LOYALTY_TESTS_LEDGER_FAULT_PROXY_HPP_
#define LOYALTY_TESTS_LEDGER_FAULT_PROXY_HPP_

#include <atomic>
#include <cstdint>
#include <random>
#include <thread>

#include "runtime/asio.hpp"

namespace loyalty::ledger::testing {

class FaultProxy {
 public:
  struct Counts {
    std::atomic<int> connections{0};
    std::atomic<int> dropped{0};
    std::atomic<int> reset{0};
    std::atomic<int> truncated{0};
    std::atomic<int> delayed{0};
  };

  FaultProxy(std::uint16_t upstream_port, std::uint32_t seed) : upstream_(upstream_port), random_(seed) {
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FaultProxy() {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    thread_.join();
  }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const { return port_; }
  const Counts& counts() const { return counts_; }

 private:
  Task<> accept() {
    for (;;) {
      auto [error, socket] = co_await acceptor_.async_accept(use_tuple);
      if (error) co_return;
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  static void abort(asio::ip::tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);  // RST, not FIN
    socket.close(ignored);
  }

  // Per connection: dropped at once (8 %), or every chunk delayed (16 %). Per chunk, in either
  // direction (3 %): the connection is cut after part of it, which resets a request or
  // truncates an answer, in the TLS handshake or anywhere in a kept-alive connection's life.
  Task<> serve(asio::ip::tcp::socket client) {
    ++counts_.connections;
    const auto roll = random_() % 100;
    if (roll < 8) {
      ++counts_.dropped;
      abort(client);
      co_return;
    }
    const int delay_ms = roll < 24 ? static_cast<int>(1 + random_() % 30) : 0;
    if (delay_ms > 0) ++counts_.delayed;
    asio::ip::tcp::socket server(io_);
    auto [connect_error] = co_await server.async_connect({asio::ip::make_address("127.0.0.1"), upstream_}, use_tuple);
    if (connect_error) {
      abort(client);
      co_return;
    }
    using namespace asio::experimental::awaitable_operators;
    co_await (pump(client, server, delay_ms, counts_.reset) || pump(server, client, delay_ms, counts_.truncated));
    abort(client);
    abort(server);
  }

  // Copies `from` to `to` until either closes or a cut, which `cuts` counts.
  Task<> pump(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to, int delay_ms, std::atomic<int>& cuts) {
    char buffer[4096];
    asio::steady_timer timer(io_);
    for (;;) {
      auto [read_error, n] = co_await from.async_read_some(asio::buffer(buffer), use_tuple);
      if (read_error) co_return;
      const bool cut = random_() % 100 < 3;
      if (cut) n = random_() % n;
      if (delay_ms > 0) {
        timer.expires_after(std::chrono::milliseconds(delay_ms));
        co_await timer.async_wait(use_tuple);
      }
      auto [write_error, written] = co_await asio::async_write(to, asio::buffer(buffer, n), use_tuple);
      if (cut) {
        ++cuts;
        co_return;
      }
      if (write_error) co_return;
    }
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_{io_};
  std::uint16_t upstream_;
  std::uint16_t port_ = 0;
  std::mt19937 random_;
  Counts counts_;
  std::thread thread_;
};

}  // namespace loyalty::ledger::testing

#endif  // LOYALTY_TESTS_LEDGER_FAULT_PROXY_HPP_
