#include "drivers/serial_scanner.hpp"

#include <array>

namespace loyalty::drivers {

struct SerialScanner::State {
  State(asio::io_context& io, SerialSettings s)
      : settings(std::move(s)), port(io), retry(io), splitter(settings.terminator, settings.max_code_bytes) {}

  SerialSettings settings;
  asio::serial_port port;
  asio::steady_timer retry;
  LineSplitter splitter;
  ScannerCallbacks callbacks;
  bool stopped = false;

  // Opens and configures the port; false (reported) when it cannot.
  bool open() {
    using asio::serial_port_base;
    boost::system::error_code error;
    port.open(settings.device, error);
    if (error) {
      callbacks.trouble("cannot open " + settings.device + ": " + error.message());
      return false;
    }
    const auto parity = settings.parity == SerialSettings::Parity::odd    ? serial_port_base::parity::odd
                        : settings.parity == SerialSettings::Parity::even ? serial_port_base::parity::even
                                                                          : serial_port_base::parity::none;
    const auto flow = settings.flow == SerialSettings::Flow::software   ? serial_port_base::flow_control::software
                      : settings.flow == SerialSettings::Flow::hardware ? serial_port_base::flow_control::hardware
                                                                        : serial_port_base::flow_control::none;
    const auto stop_bits =
        settings.stop_bits == 2 ? serial_port_base::stop_bits::two : serial_port_base::stop_bits::one;
    const auto set = [&](const auto& option, const std::string& what) {
      if (error) return;
      port.set_option(option, error);
      if (error) callbacks.trouble("cannot set " + settings.device + " to " + what + ": " + error.message());
    };
    set(serial_port_base::baud_rate(settings.baud), std::to_string(settings.baud) + " baud");
    set(serial_port_base::character_size(settings.data_bits), std::to_string(settings.data_bits) + " data bits");
    set(serial_port_base::parity(parity), "the configured parity");
    set(serial_port_base::stop_bits(stop_bits), std::to_string(settings.stop_bits) + " stop bits");
    set(serial_port_base::flow_control(flow), "the configured flow control");
    if (error) {
      port.close(error);
      return false;
    }
    return true;
  }

  static Task<> read(std::shared_ptr<State> state);
};

Task<> SerialScanner::State::read(std::shared_ptr<State> state) {
  std::array<char, 512> buffer;
  while (!state->stopped) {
    if (state->open()) {
      for (;;) {
        auto [error, n] = co_await state->port.async_read_some(asio::buffer(buffer), use_tuple);
        if (state->stopped) co_return;
        if (error) {
          state->callbacks.trouble(state->settings.device + " went away: " + error.message());
          boost::system::error_code ignored;
          state->port.close(ignored);
          break;
        }
        state->splitter.feed(std::string_view(buffer.data(), n), state->callbacks);
      }
    }
    state->retry.expires_after(state->settings.retry);
    co_await state->retry.async_wait(use_tuple);
  }
}

SerialScanner::SerialScanner(asio::io_context& io, std::string name, SerialSettings settings)
    : name_(std::move(name)), state_(std::make_shared<State>(io, std::move(settings))) {}

SerialScanner::~SerialScanner() { stop(); }

void SerialScanner::start(ScannerCallbacks callbacks) {
  state_->callbacks = std::move(callbacks);
  state_->stopped = false;
  asio::co_spawn(state_->port.get_executor(), State::read(state_), asio::detached);
}

void SerialScanner::stop() {
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->port.close(ignored);
  state_->retry.cancel();
}

}  // namespace loyalty::drivers
