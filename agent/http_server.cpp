#include "agent/http_server.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "storage/crypto.hpp"

namespace loyalty::agent {
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

bool loopback_ipv4(std::string_view host) {
  boost::system::error_code error;
  const auto address = asio::ip::make_address_v4(std::string(host), error);
  return !error && address.is_loopback();
}

bool out_of_descriptors_error(const boost::system::error_code& error) {
  return error == asio::error::no_descriptors || error == boost::system::errc::too_many_files_open_in_system ||
         error == asio::error::no_buffer_space || error == asio::error::no_memory;
}

}  // namespace

bool host_allowed(std::string_view host, const std::vector<std::string>& allowed) {
  host = trimmed(host);
  std::string_view name = host;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    name = host.substr(1, close - 1);
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && (rest[0] != ':' || rest.find_first_not_of("0123456789", 1) != std::string_view::npos)) {
      return false;
    }
    if (name == "::1") return true;
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    if (host.find_first_not_of("0123456789", colon + 1) != std::string_view::npos) return false;
    name = host.substr(0, colon);
  }
  if (name.empty()) return false;
  if (name.back() == '.') name.remove_suffix(1);  // "localhost." is the same name
  if (equal_ignoring_case(name, "localhost") || loopback_ipv4(name)) return true;
  if (name.size() > 10 && equal_ignoring_case(name.substr(name.size() - 10), ".localhost")) return true;
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& a) { return equal_ignoring_case(name, a); });
}

bool is_json_media_type(std::string_view content_type) {
  return equal_ignoring_case(trimmed(content_type.substr(0, content_type.find(';'))), "application/json");
}

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
    : io_(io),
      limits_(std::move(limits)),
      handler_(std::move(handler)),
      log_(log),
      tcp_(io),
      unix_(io),
      reserve_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

HttpServer::~HttpServer() {
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
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
  for (asio::steady_timer* waiter : slot_waiters_) waiter->cancel();
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

std::size_t HttpServer::connection_cap() const {
  // Descriptors beyond the connections: the journal and cache databases, their journals,
  // scanners, the ledger link, logs. Keep that many free.
  constexpr rlim_t kOtherDescriptors = 32;
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return limits_.max_connections;
  const rlim_t room = limit.rlim_cur > 2 * kOtherDescriptors ? limit.rlim_cur - kOtherDescriptors : limit.rlim_cur / 2;
  return std::min<std::size_t>(limits_.max_connections, static_cast<std::size_t>(room));
}

template <class Acceptor>
Task<> HttpServer::accept_loop(Acceptor& acceptor) {
  asio::steady_timer slot_freed(io_);
  while (!stopping_) {
    // At the cap, connections wait in the listen backlog until one of the open ones ends.
    while (!stopping_ && static_cast<std::size_t>(open_connections()) >= connection_cap()) {
      slot_waiters_.push_back(&slot_freed);
      slot_freed.expires_after(std::chrono::seconds(1));
      co_await slot_freed.async_wait(use_tuple);
      slot_waiters_.remove(&slot_freed);
    }
    if (stopping_) co_return;
    auto [error, socket] = co_await acceptor.async_accept(use_tuple);
    if (error) {
      if (error == asio::error::operation_aborted || stopping_) co_return;
      if (out_of_descriptors_error(error)) {
        co_await out_of_descriptors(acceptor, error);
      } else {
        log_.warning("accept_failed", "could not accept a POS connection", {{"error", error.message()}});
      }
      continue;
    }
    start(std::move(socket));
  }
}

template <class Acceptor>
Task<> HttpServer::out_of_descriptors(Acceptor& acceptor, const boost::system::error_code& error) {
  ++descriptor_failures_;
  const auto now = std::chrono::steady_clock::now();
  if (now - descriptor_logged_ >= std::chrono::seconds(1)) {
    log_.warning("accept_failed", "out of file descriptors: new POS connections are closed until some end",
                 {{"error", error.message()},
                  {"failures", descriptor_failures_},
                  {"open_connections", open_connections()},
                  {"connection_cap", static_cast<std::int64_t>(connection_cap())}});
    descriptor_failures_ = 0;
    descriptor_logged_ = now;
  }
  bool dropped = false;
  if (reserve_fd_ >= 0) {
    ::close(reserve_fd_);
    boost::system::error_code ignored;
    acceptor.non_blocking(true, ignored);
    auto socket = acceptor.accept(ignored);
    acceptor.non_blocking(false, ignored);
    dropped = socket.is_open();
    socket.close(ignored);
    reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  if (!dropped) {
    // No reserve to take the connection with: wait instead of failing the same accept again.
    asio::steady_timer pause(io_, std::chrono::milliseconds(100));
    co_await pause.async_wait(use_tuple);
  }
}

std::optional<HttpResponse> HttpServer::refuse(const HttpRequest& request, Connection& connection, bool tcp) {
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
  const std::string_view host = request[http::field::host];
  if (host.empty() && (tcp || request.version() >= 11)) {
    return error_response(http::status::bad_request, "host_required", "the request has no Host header");
  }
  if (tcp && !host_allowed(host, limits_.allowed_hosts)) {
    return error_response(http::status::forbidden, "host_not_allowed",
                          "the POS API answers requests for localhost and 127.0.0.1 only (and pos_api.allowed_hosts), "
                          "not for Host: " +
                              std::string(host));
  }
  if (limits_.bearer_token) {
    const std::string_view header = trimmed(request[http::field::authorization]);
    const auto space = header.find(' ');
    const bool bearer = space != std::string_view::npos && equal_ignoring_case(header.substr(0, space), "Bearer");
    const std::string_view token = bearer ? trimmed(header.substr(space + 1)) : std::string_view();
    const std::string& expected = *limits_.bearer_token;
    if (token.size() != expected.size() ||
        !storage::equal_constant_time(storage::as_bytes(token), storage::as_bytes(expected))) {
      HttpResponse refused = error_response(http::status::unauthorized, "unauthorized",
                                            "the POS must send the agent's token: Authorization: Bearer <token>");
      refused.set(http::field::www_authenticate, "Bearer realm=\"loyalty-agent\"");
      return refused;
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
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(limits_.max_request_bytes);
    stream.expires_after(limits_.read_timeout);
    auto [read_error, ignored_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (read_error) {
      std::optional<HttpResponse> answer;
      if (read_error == http::error::body_limit) {
        answer = error_response(http::status::payload_too_large, "request_too_large",
                                "the request is larger than " + std::to_string(limits_.max_request_bytes) + " bytes");
      } else if (read_error == http::error::header_limit) {
        answer = error_response(http::status::request_header_fields_too_large, "headers_too_large",
                                "the request's headers are larger than " + std::to_string(kMaxHeaderBytes) + " bytes");
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
    std::optional<HttpResponse> response =
        refuse(request, *connection, std::is_same_v<typename Stream::protocol_type, asio::ip::tcp>);
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
    // Say how long an idle connection stays open, so that a client reusing it later opens a
    // new one instead of reading the close as a failed request.
    if (keep_alive) {
      response->set(
          http::field::keep_alive,
          "timeout=" + std::to_string(std::max<std::int64_t>(
                           1, std::chrono::duration_cast<std::chrono::seconds>(limits_.read_timeout).count())));
    }
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
  connection.reset();
  for (asio::steady_timer* waiter : slot_waiters_) waiter->cancel();
}

}  // namespace loyalty::agent
