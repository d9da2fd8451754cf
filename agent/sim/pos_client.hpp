// A POS's side of the POS API: one keep-alive HTTP/1.1 connection to the agent, over TCP on
// loopback or over its Unix socket, with the bearer token when one is configured. A broken
// connection is opened again on the next call.

#ifndef LOYALTY_AGENT_SIM_POS_CLIENT_HPP_
#define LOYALTY_AGENT_SIM_POS_CLIENT_HPP_

#include <boost/asio/generic/stream_protocol.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "runtime/asio.hpp"

namespace loyalty::sim {

// Where the agent listens: "127.0.0.1:8470" or "unix:/run/loyalty-agent/pos.sock".
struct Endpoint {
  asio::generic::stream_protocol::endpoint address;
  std::string text;
};
// nullopt unless `text` is a loopback host:port or "unix:" and a path.
std::optional<Endpoint> parse_endpoint(const std::string& text);

struct PosReply {
  int status = 0;  // 0: no answer (the connection failed; `error` says why)
  nlohmann::json body;
  std::chrono::nanoseconds took{};
  std::string error;

  // The error code of a refusal, or "" for a 2xx.
  std::string error_code() const;
};

class PosClient {
 public:
  PosClient(asio::any_io_executor executor, Endpoint endpoint, std::string token = "");

  // One request and its answer; never throws for network trouble (status 0).
  Task<PosReply> call(http::verb verb, std::string target, const nlohmann::json* body = nullptr,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  Task<PosReply> post(std::string target, const nlohmann::json& body) {
    return call(http::verb::post, std::move(target), &body);
  }

 private:
  using Stream = beast::basic_stream<asio::generic::stream_protocol>;

  asio::any_io_executor executor_;
  Endpoint endpoint_;
  std::string token_;
  std::optional<Stream> stream_;
  beast::flat_buffer buffer_;
};

}  // namespace loyalty::sim

#endif  // LOYALTY_AGENT_SIM_POS_CLIENT_HPP_
