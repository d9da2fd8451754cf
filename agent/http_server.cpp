#include "agent/http_server.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "storage/crypto.hpp"

namespace loyalty::agent {

struct HttpServer::Connection {
  // Closes the connection if it is between requests with nothing received since its last
  // answer; set by serve() for the connection's life.
  std::function<void()> close_if_idle = [] {};
  bool busy = false;
  std::int64_t answered = 0;
  // Token bucket: `tokens` requests may start now; it refills at requests_per_second.
  double tokens = 0;
  std::chrono::steady_clock::time_point refilled = std::chrono::steady_clock::now();
};

HttpServer::HttpServer(asio::io_context& io, HttpLimits limits, Handler handler, runtime::Log& log)
    : io_(io), limits_(std::move(limits)), handler_(std::move(handler)), log_(log), tcp_(io), unix_(io) {}

HttpServer::~HttpServer() {
  if (unix_path_) {
    std::error_code ignored;
    std::filesystem::remove(*unix_path_, ignored);
  }
}

std::uint16_t HttpServer::listen_tcp(const std::string& address, std::uint16_t port) {
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(address), port);
  tcp_.open(endpoint.protocol());
  tcp_.set_option(asio::socket_base::reuse_address(true));
  tcp_.bind(endpoint);
  tcp_.listen();
  asio::co_spawn(io_, accept_loop(tcp_), asio::detached);
  return tcp_.local_endpoint().port();
}

void HttpServer::listen_unix(const std::filesystem::path& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) {
      throw std::runtime_error(path.string() + " exists and is not a socket; refusing to replace it");
    }
    std::filesystem::remove(path);  // left by an agent that was killed
  }
  unix_.open();
  unix_.bind(asio::local::stream_protocol::endpoint(path.string()));
  unix_path_ = path;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                         std::filesystem::perms::group_read | std::filesystem::perms::group_write);
  unix_.listen();
  asio::co_spawn(io_, accept_loop(unix_), asio::detached);
}

std::int64_t HttpServer::open_connections() const {
  return std::count_if(connections_.begin(), connections_.end(),
                       [](const std::weak_ptr<Connection>& weak) { return !weak.expired(); });
}

void HttpServer::stop() {
  stopping_ = true;
  // Connections the kernel completed before the stop are the POS's requests too: take them
  // from the backlog instead of letting the close reset them.
  drain_backlog(tcp_);
  drain_backlog(unix_);
  for (auto& weak : connections_) {
    if (auto connection = weak.lock()) connection->close_if_idle();
  }
}

template <class Acceptor>
void HttpServer::drain_backlog(Acceptor& acceptor) {
  boost::system::error_code error;
  if (!acceptor.is_open()) return;
  acceptor.non_blocking(true, error);
  while (!error) {
    auto socket = acceptor.accept(error);
    if (!error) start(std::move(socket));
  }
  acceptor.close(error);
}

template <class Socket>
void HttpServer::start(Socket socket) {
  using Protocol = typename Socket::protocol_type;
  auto connection = std::make_shared<Connection>();
  connection->tokens = static_cast<double>(limits_.requests_per_second);
  connections_.remove_if([](const std::weak_ptr<Connection>& weak) { return weak.expired(); });
  connections_.push_back(connection);
  asio::co_spawn(io_, serve(connection, beast::basic_stream<Protocol>(std::move(socket))), asio::detached);
}

template <class Acceptor>
Task<> HttpServer::accept_loop(Acceptor& acceptor) {
  while (!stopping_) {
    auto [error, socket] = co_await acceptor.async_accept(use_tuple);
    if (error) {
      if (error == asio::error::operation_aborted || stopping_) co_return;
      log_.warning("accept_failed", "could not accept a POS connection", {{"error", error.message()}});
      continue;
    }
    start(std::move(socket));
  }
}

std::optional<HttpResponse> HttpServer::refuse(const HttpRequest& request, Connection& connection) {
  const auto now = std::chrono::steady_clock::now();
  const double rate = static_cast<double>(limits_.requests_per_second);
  connection.tokens =
      std::min(rate, connection.tokens + rate * std::chrono::duration<double>(now - connection.refilled).count());
  connection.refilled = now;
  if (connection.tokens < 1) {
    return error_response(http::status::too_many_requests, "rate_limited",
                          "too many requests on this connection: wait a moment and try again");
  }
  connection.tokens -= 1;
  if (limits_.bearer_token) {
    const auto header = request[http::field::authorization];
    const std::string expected = "Bearer " + *limits_.bearer_token;
    if (header.size() != expected.size() ||
        !storage::equal_constant_time(storage::as_bytes(header), storage::as_bytes(expected))) {
      return error_response(http::status::unauthorized, "unauthorized",
                            "the POS must send the agent's token: Authorization: Bearer <token>");
    }
  }
  return std::nullopt;
}

// A graceful stop answers what the POS has sent. A connection that has not brought its first
// request yet, or has bytes of a request waiting, reads that one request (within the read
// deadline) and is answered with Connection: close; only a connection idle between requests is
// closed at once. Closing a socket with unread bytes would send the POS a reset instead of an
// answer. (Go's net/http Shutdown treats new connections the same way.)
template <class Stream>
Task<> HttpServer::serve(std::shared_ptr<Connection> connection, Stream stream) {
  beast::flat_buffer buffer;
  const auto between_requests = [&] {
    boost::system::error_code error;
    return !connection->busy && connection->answered > 0 && buffer.size() == 0 && stream.socket().available(error) == 0;
  };
  connection->close_if_idle = [&] {
    if (!between_requests()) return;
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
    stream.socket().close(ignored);
  };
  for (;;) {
    if (stopping_ && between_requests()) break;
    http::request_parser<http::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(limits_.max_request_bytes);
    stream.expires_after(limits_.read_timeout);
    auto [read_error, ignored_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (read_error) {
      std::optional<HttpResponse> answer;
      if (read_error == http::error::body_limit || read_error == http::error::header_limit) {
        answer = error_response(http::status::payload_too_large, "request_too_large",
                                "the request is larger than " + std::to_string(limits_.max_request_bytes) + " bytes");
      } else if (read_error.category() == http::make_error_code(http::error::end_of_stream).category() &&
                 read_error != http::error::end_of_stream && read_error != http::error::partial_message) {
        answer = error_response(http::status::bad_request, "bad_http", "not a valid HTTP/1.1 request");
      }
      if (answer) {
        answer->keep_alive(false);
        stream.expires_after(limits_.read_timeout);
        co_await http::async_write(stream, *answer, use_tuple);
      }
      break;
    }
    connection->busy = true;
    HttpRequest request = parser.release();
    const bool wants_keep_alive = request.keep_alive();
    ++requests_;
    std::optional<HttpResponse> response = refuse(request, *connection);
    if (!response) {
      try {
        response = co_await handler_(std::move(request));
      } catch (const std::exception& error) {
        log_.error("request_failed", "a POS request failed inside the agent", {{"error", error.what()}});
        response = error_response(http::status::internal_server_error, "internal",
                                  "the agent could not handle this request; it was logged");
      }
    }
    const bool keep_alive = wants_keep_alive && !stopping_;
    response->keep_alive(keep_alive);
    stream.expires_after(limits_.read_timeout);
    auto [write_error, written] = co_await http::async_write(stream, *response, use_tuple);
    connection->busy = false;
    ++connection->answered;
    if (write_error || !keep_alive) break;
  }
  connection->close_if_idle = [] {};
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
  stream.socket().close(ignored);
}

}  // namespace loyalty::agent
