// A scanner on a serial line: RS-232, or USB in CDC-ACM mode (/dev/ttyACM0), through
// asio::serial_port. Speed, framing and the code terminator follow the scanner's programming.
// A device that is missing or goes away (unplugged) is reported and opened again every
// `retry` until it is back.

#ifndef LOYALTY_DRIVERS_SERIAL_SCANNER_HPP_
#define LOYALTY_DRIVERS_SERIAL_SCANNER_HPP_

#include <chrono>
#include <memory>
#include <string>

#include "drivers/scanner.hpp"
#include "runtime/asio.hpp"

namespace loyalty::drivers {

struct SerialSettings {
  enum class Parity { none, odd, even };
  enum class Flow { none, software, hardware };

  std::string device;
  unsigned baud = 9600;
  unsigned data_bits = 8;  // 5 to 8
  Parity parity = Parity::none;
  unsigned stop_bits = 1;  // 1 or 2
  Flow flow = Flow::none;
  std::string terminator = "\r";
  std::size_t max_code_bytes = 4096;
  std::chrono::milliseconds retry{2000};
};

class SerialScanner final : public Scanner {
 public:
  // `io` must outlive every run of the scanner.
  SerialScanner(asio::io_context& io, std::string name, SerialSettings settings);
  ~SerialScanner() override;

  void start(ScannerCallbacks callbacks) override;
  void stop() override;
  const std::string& name() const override { return name_; }

 private:
  struct State;
  std::string name_;
  std::shared_ptr<State> state_;  // shared with the reading coroutine
};

}  // namespace loyalty::drivers

#endif  // LOYALTY_DRIVERS_SERIAL_SCANNER_HPP_
