// A keyboard-wedge scanner (USB HID keyboard) read through the Linux input subsystem, e.g.
// /dev/input/by-id/usb-Honeywell_...-event-kbd. The device is grabbed (EVIOCGRAB) so its
// keystrokes reach only the agent, never the POS application's input field; when the grab is
// refused (another program holds the device) the scanner does not read at all and says so,
// rather than let card numbers leak into the POS as typed text.
//
// Key presses become characters through a keycode map (the US layout by default, as scanners
// ship; single keys can be remapped for national layouts); Enter ends a code. A recorded event
// stream (a file or a pipe of struct input_event, as `evtest` captures) reads the same way,
// without a grab.

#ifndef LOYALTY_DRIVERS_EVDEV_SCANNER_HPP_
#define LOYALTY_DRIVERS_EVDEV_SCANNER_HPP_

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "drivers/scanner.hpp"
#include "runtime/asio.hpp"

namespace loyalty::drivers {

// Characters for Linux key codes (linux/input-event-codes.h), unshifted and shifted.
class KeyMap {
 public:
  static KeyMap us();

  void set(unsigned code, char normal, char shifted);
  // The character of `code`, or nullopt for keys that type nothing.
  std::optional<char> character(unsigned code, bool shift) const;

 private:
  static constexpr unsigned kKeys = 128;
  std::array<std::array<char, 2>, kKeys> keys_{};
};

// Turns key events into text: tracks both shift keys and caps lock, types on press and
// autorepeat, and ends a code at Enter (as '\n').
class KeyDecoder {
 public:
  explicit KeyDecoder(KeyMap map) : map_(std::move(map)) {}
  // One EV_KEY event; returns the character it types, if any.
  std::optional<char> key(unsigned code, int value);

 private:
  KeyMap map_;
  bool left_shift_ = false, right_shift_ = false, caps_ = false;
};

struct EvdevSettings {
  std::string device;
  bool grab = true;  // applies to character devices; recorded streams are never grabbed
  KeyMap keymap = KeyMap::us();
  std::size_t max_code_bytes = 4096;
  std::chrono::milliseconds retry{2000};
};

class EvdevScanner final : public Scanner {
 public:
  EvdevScanner(asio::io_context& io, std::string name, EvdevSettings settings);
  ~EvdevScanner() override;

  void start(ScannerCallbacks callbacks) override;
  void stop() override;
  const std::string& name() const override { return name_; }

 private:
  struct State;
  std::string name_;
  std::shared_ptr<State> state_;
};

}  // namespace loyalty::drivers

#endif  // LOYALTY_DRIVERS_EVDEV_SCANNER_HPP_
