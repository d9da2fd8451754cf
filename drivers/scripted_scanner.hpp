// A scanner whose codes come from the program: tests and demos feed it. It is the one fake at
// the device seam, and it goes through the same callbacks as the real scanners.

#ifndef LOYALTY_DRIVERS_SCRIPTED_SCANNER_HPP_
#define LOYALTY_DRIVERS_SCRIPTED_SCANNER_HPP_

#include <string>

#include "drivers/scanner.hpp"
#include "runtime/asio.hpp"

namespace loyalty::drivers {

class ScriptedScanner final : public Scanner {
 public:
  ScriptedScanner(asio::io_context& io, std::string name) : io_(io), name_(std::move(name)) {}

  void start(ScannerCallbacks callbacks) override {
    callbacks_ = std::move(callbacks);
    running_ = true;
  }
  void stop() override { running_ = false; }
  const std::string& name() const override { return name_; }

  // Delivers `code` on the io_context's thread, as a device read would; dropped when stopped.
  void scan(std::string code) {
    asio::post(io_, [this, code = std::move(code)]() mutable {
      if (running_) callbacks_.on_code(std::move(code));
    });
  }

 private:
  asio::io_context& io_;
  std::string name_;
  ScannerCallbacks callbacks_;
  bool running_ = false;
};

}  // namespace loyalty::drivers

#endif  // LOYALTY_DRIVERS_SCRIPTED_SCANNER_HPP_
