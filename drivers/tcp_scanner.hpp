// Scanners on the network (a scanner with an Ethernet or Wi-Fi base station in TCP client
// mode) and the lane simulator: each connection sends codes, one per line. It listens on
// loopback only, like the POS API: a scan is as sensitive as a card number typed in.

#ifndef LOYALTY_DRIVERS_TCP_SCANNER_HPP_
#define LOYALTY_DRIVERS_TCP_SCANNER_HPP_

#include <memory>
#include <string>

#include "drivers/scanner.hpp"
#include "runtime/asio.hpp"

namespace loyalty::drivers {

struct TcpScannerSettings {
  std::string address = "127.0.0.1";  // must be a loopback address
  std::uint16_t port = 0;             // 0: any free port (see TcpScanner::port)
  std::string terminator = "\n";
  std::size_t max_code_bytes = 4096;
};

class TcpScanner final : public Scanner {
 public:
  // Binds at once; throws std::invalid_argument for a non-loopback address and
  // boost::system::system_error when the port cannot be bound.
  TcpScanner(asio::io_context& io, std::string name, TcpScannerSettings settings);
  ~TcpScanner() override;

  void start(ScannerCallbacks callbacks) override;
  void stop() override;
  const std::string& name() const override { return name_; }
  std::uint16_t port() const;

 private:
  struct State;
  std::string name_;
  std::shared_ptr<State> state_;
};

}  // namespace loyalty::drivers

#endif  // LOYALTY_DRIVERS_TCP_SCANNER_HPP_
