// Scanners: the devices a cashier scans loyalty cards and app codes with. Each kind reads its
// device in a coroutine on the agent's io_context and hands every complete code, without its
// terminator, to one callback; trouble (a device unplugged, a grab refused, an overlong line)
// goes to another, and the scanner tries again where that makes sense. What a code means is
// decided elsewhere (scanned_code.hpp).
//
//   serial_scanner.hpp    RS-232 and USB-serial (CDC-ACM) scanners, through asio::serial_port
//   evdev_scanner.hpp     keyboard-wedge (USB HID) scanners, grabbed so the POS never sees them
//   tcp_scanner.hpp       network scanners and the lane simulator: one code per line
//   scripted_scanner.hpp  codes fed by a program: tests and demos

#ifndef LOYALTY_DRIVERS_SCANNER_HPP_
#define LOYALTY_DRIVERS_SCANNER_HPP_

#include <functional>
#include <string>
#include <string_view>

namespace loyalty::drivers {

struct ScannerCallbacks {
  std::function<void(std::string code)> on_code;
  std::function<void(std::string problem)> on_trouble;

  void trouble(std::string problem) const {
    if (on_trouble) on_trouble(std::move(problem));
  }
};

class Scanner {
 public:
  virtual ~Scanner() = default;
  // Begins reading; callbacks run on the io_context's thread.
  virtual void start(ScannerCallbacks callbacks) = 0;
  // Stops reading and closes the device; no callback runs afterwards.
  virtual void stop() = 0;
  virtual const std::string& name() const = 0;
};

// Cuts a byte stream into codes at a terminator ("\r\n", "\r", "\n", "\t", or any other
// string). Empty codes are dropped, and so are carriage returns and line feeds left at either
// end of a code, so a scanner sending "\r\n" works with a "\r" terminator. A code longer than
// `max_bytes` is reported once and dropped up to its terminator.
class LineSplitter {
 public:
  LineSplitter(std::string terminator, std::size_t max_bytes) : terminator_(std::move(terminator)), max_(max_bytes) {}

  void feed(std::string_view bytes, const ScannerCallbacks& callbacks);

 private:
  std::string terminator_;
  std::size_t max_;
  std::string pending_;
  bool overlong_ = false;
};

}  // namespace loyalty::drivers

#endif  // LOYALTY_DRIVERS_SCANNER_HPP_
