// The HTTP/1.1 server of the POS API, on loopback TCP and on a Unix socket: one coroutine per
// connection, a deadline on every read, a size limit on every request, a per-connection rate
// limit, and an optional bearer token. Everything it refuses itself (too large, too fast, no
// token, unreadable) is answered with the same JSON error shape as the API's own refusals.
//
// stop() closes the listeners and the connections idle between requests at once. Whatever the
// POS has sent is answered: a request being handled finishes and its answer is written before
// its connection closes, so a commit in flight at SIGTERM still reaches the POS; a connection
// accepted but not read yet, or with a request waiting in it, reads that request (within the
// read deadline), answers it and closes. No POS sees a reset for a request it sent.

#ifndef LOYALTY_AGENT_HTTP_SERVER_HPP_
#define LOYALTY_AGENT_HTTP_SERVER_HPP_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/asio.hpp"
#include "runtime/log.hpp"
#include "sync/http.hpp"

namespace loyalty::agent {

using sync::error_response;
using sync::HttpRequest;
using sync::HttpResponse;
using sync::json_response;

struct HttpLimits {
  std::size_t max_request_bytes = 64 * 1024;
  std::chrono::milliseconds read_timeout{5000};
  std::int64_t requests_per_second = 200;
  std::optional<std::string> bearer_token;
  // Host names (without the port) a TCP request may name besides the loopback ones
  // (localhost, *.localhost, 127.0.0.1, [::1]); a web page that rebinds its own name to
  // 127.0.0.1 sends its name and is refused. The Unix socket takes any Host.
  std::vector<std::string> allowed_hosts;
  // Connections open at once; the server also keeps below the process's descriptor limit.
  std::size_t max_connections = 256;
};

// The most a request's headers may take; more is answered 431.
inline constexpr std::size_t kMaxHeaderBytes = 8 * 1024;

// Whether `host` (a Host header's value) names this machine's loopback or one of `allowed`.
bool host_allowed(std::string_view host, const std::vector<std::string>& allowed);
// Whether a Content-Type header is application/json, as a media type: case-insensitive, with
// or without parameters (charset).
bool is_json_media_type(std::string_view content_type);

class HttpServer {
 public:
  using Handler = std::function<Task<HttpResponse>(HttpRequest)>;

  // `io` and `log` must outlive the server.
  HttpServer(asio::io_context& io, HttpLimits limits, Handler handler, runtime::Log& log);
  ~HttpServer();

  // Binds and listens; returns the port (useful with port 0). Throws boost::system::system_error.
  std::uint16_t listen_tcp(const std::string& address, std::uint16_t port);
  // Binds a Unix socket at `path` (replacing a stale socket file, never another kind of file),
  // mode 0660.
  void listen_unix(const std::filesystem::path& path);

  void set_bearer_token(std::optional<std::string> token) { limits_.bearer_token = std::move(token); }
  void stop();

  std::int64_t requests() const { return requests_; }
  std::int64_t open_connections() const;

 private:
  struct Connection;
  template <class Acceptor>
  Task<> accept_loop(Acceptor& acceptor);
  // After an accept failed for want of descriptors: accepts and closes one connection with the
  // reserve descriptor (so the client hears a close instead of waiting), logs at most once a
  // second with a count, and waits before accepting again.
  template <class Acceptor>
  Task<> out_of_descriptors(Acceptor& acceptor, const boost::system::error_code& error);
  std::size_t connection_cap() const;
  template <class Acceptor>
  void drain_backlog(Acceptor& acceptor);
  template <class Socket>
  void start(Socket socket);
  template <class Stream>
  Task<> serve(std::shared_ptr<Connection> connection, Stream stream);
  std::optional<HttpResponse> refuse(const HttpRequest& request, Connection& connection, bool tcp);

  asio::io_context& io_;
  HttpLimits limits_;
  Handler handler_;
  runtime::Log& log_;
  asio::ip::tcp::acceptor tcp_;
  asio::local::stream_protocol::acceptor unix_;
  std::optional<std::filesystem::path> unix_path_;
  std::list<std::weak_ptr<Connection>> connections_;
  bool stopping_ = false;
  std::int64_t requests_ = 0;
  int reserve_fd_ = -1;                          // closed to accept and drop a connection at EMFILE
  std::list<asio::steady_timer*> slot_waiters_;  // accept loops waiting for a connection to end
  std::int64_t descriptor_failures_ = 0;         // accepts that failed for want of descriptors, not yet logged
  std::chrono::steady_clock::time_point descriptor_logged_{};
};

}  // namespace loyalty::agent

#endif  // LOYALTY_AGENT_HTTP_SERVER_HPP_
