#include "agent/sim/pos_client.hpp"

#include "runtime/config_values.hpp"

namespace loyalty::sim {

std::optional<Endpoint> parse_endpoint(const std::string& text) {
  if (text.starts_with("unix:")) {
    const std::string path = text.substr(5);
    if (path.empty()) return std::nullopt;
    return Endpoint{asio::local::stream_protocol::endpoint(path), text};
  }
  const auto split = runtime::split_host_port(text);
  if (!split) return std::nullopt;
  const auto port = runtime::parse_port(split->port);
  if (!port || *port == 0 || !runtime::numeric_loopback(split->host).value_or(false)) return std::nullopt;
  const auto address = asio::ip::make_address(split->host);
  return Endpoint{asio::ip::tcp::endpoint(address, *port), text};
}

std::string PosReply::error_code() const {
  if (status >= 200 && status < 300) return "";
  if (status == 0) return "no_answer";
  if (body.is_object() && body.contains("error") && body["error"].contains("code")) {
    return body["error"]["code"].get<std::string>();
  }
  return "http_" + std::to_string(status);
}

PosClient::PosClient(asio::any_io_executor executor, Endpoint endpoint, std::string token)
    : executor_(std::move(executor)), endpoint_(std::move(endpoint)), token_(std::move(token)) {}

Task<PosReply> PosClient::call(http::verb verb, std::string target, const nlohmann::json* body,
                               std::chrono::milliseconds timeout) {
  const auto started = std::chrono::steady_clock::now();
  PosReply reply;
  http::request<http::string_body> request{verb, target, 11};
  request.set(http::field::host, "localhost");
  request.keep_alive(true);
  if (body) {
    request.set(http::field::content_type, "application/json");
    request.body() = body->dump();
  }
  if (!token_.empty()) request.set(http::field::authorization, "Bearer " + token_);
  request.prepare_payload();

  // A kept-alive connection the agent closed meanwhile fails on first use: try once more on a
  // fresh one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = stream_.has_value();
    if (!stream_) {
      stream_.emplace(executor_);
      buffer_.clear();
      stream_->expires_after(timeout);
      auto [ec] = co_await stream_->async_connect(endpoint_.address, use_tuple);
      if (ec) {
        stream_.reset();
        reply.error = "cannot connect to " + endpoint_.text + ": " + ec.message();
        break;
      }
    }
    stream_->expires_after(timeout);
    auto [write_error, written] = co_await http::async_write(*stream_, request, use_tuple);
    http::response<http::string_body> response;
    boost::system::error_code read_error = write_error;
    if (!write_error)
      std::tie(read_error, std::ignore) = co_await http::async_read(*stream_, buffer_, response, use_tuple);
    if (read_error) {
      stream_.reset();
      reply.error = read_error.message();
      if (reused) continue;
      break;
    }
    reply.status = static_cast<int>(response.result_int());
    reply.body = nlohmann::json::parse(response.body(), nullptr, false);
    if (reply.body.is_discarded()) reply.body = response.body();
    if (!response.keep_alive()) stream_.reset();
    reply.error.clear();
    break;
  }
  reply.took = std::chrono::steady_clock::now() - started;
  co_return reply;
}

}  // namespace loyalty::sim
