#include "drivers/tcp_scanner.hpp"

#include <array>
#include <list>
#include <stdexcept>

namespace loyalty::drivers {

struct TcpScanner::State {
  State(asio::io_context& io, TcpScannerSettings s) : settings(std::move(s)), acceptor(io) {}

  TcpScannerSettings settings;
  asio::ip::tcp::acceptor acceptor;
  std::list<asio::ip::tcp::socket*> connections;
  ScannerCallbacks callbacks;
  bool stopped = false;

  static Task<> accept(std::shared_ptr<State> state);
  static Task<> serve(std::shared_ptr<State> state, asio::ip::tcp::socket socket);
};

Task<> TcpScanner::State::accept(std::shared_ptr<State> state) {
  while (!state->stopped) {
    auto [error, socket] = co_await state->acceptor.async_accept(use_tuple);
    if (state->stopped) co_return;
    if (error) continue;
    asio::co_spawn(state->acceptor.get_executor(), serve(state, std::move(socket)), asio::detached);
  }
}

Task<> TcpScanner::State::serve(std::shared_ptr<State> state, asio::ip::tcp::socket socket) {
  const auto registered = state->connections.insert(state->connections.end(), &socket);
  LineSplitter splitter(state->settings.terminator, state->settings.max_code_bytes);
  std::array<char, 1024> buffer;
  for (;;) {
    auto [error, n] = co_await socket.async_read_some(asio::buffer(buffer), use_tuple);
    if (error || state->stopped) break;
    splitter.feed(std::string_view(buffer.data(), n), state->callbacks);
  }
  state->connections.erase(registered);
}

TcpScanner::TcpScanner(asio::io_context& io, std::string name, TcpScannerSettings settings)
    : name_(std::move(name)), state_(std::make_shared<State>(io, std::move(settings))) {
  const auto address = asio::ip::make_address(state_->settings.address);
  if (!address.is_loopback()) {
    throw std::invalid_argument("a TCP scanner listens on loopback only, not on " + state_->settings.address);
  }
  const asio::ip::tcp::endpoint endpoint(address, state_->settings.port);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
}

TcpScanner::~TcpScanner() { stop(); }

std::uint16_t TcpScanner::port() const { return state_->acceptor.local_endpoint().port(); }

void TcpScanner::start(ScannerCallbacks callbacks) {
  state_->callbacks = std::move(callbacks);
  asio::co_spawn(state_->acceptor.get_executor(), State::accept(state_), asio::detached);
}

void TcpScanner::stop() {
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  for (asio::ip::tcp::socket* socket : state_->connections) socket->close(ignored);
}

}  // namespace loyalty::drivers
