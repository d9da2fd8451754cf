#include "drivers/evdev_scanner.hpp"

#include <fcntl.h>
#include <linux/input.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace loyalty::drivers {

KeyMap KeyMap::us() {
  KeyMap map;
  const char* digits = "1234567890";
  const char* shifted_digits = "!@#$%^&*()";
  for (unsigned i = 0; i < 10; ++i) map.set(KEY_1 + i, digits[i], shifted_digits[i]);
  const std::pair<unsigned, const char*> rows[] = {{KEY_Q, "qwertyuiop"}, {KEY_A, "asdfghjkl"}, {KEY_Z, "zxcvbnm"}};
  for (const auto& [first, letters] : rows) {
    for (unsigned i = 0; letters[i] != '\0'; ++i) {
      map.set(first + i, letters[i], static_cast<char>(letters[i] - 'a' + 'A'));
    }
  }
  const std::tuple<unsigned, char, char> symbols[] = {
      {KEY_MINUS, '-', '_'},     {KEY_EQUAL, '=', '+'},       {KEY_LEFTBRACE, '[', '{'}, {KEY_RIGHTBRACE, ']', '}'},
      {KEY_SEMICOLON, ';', ':'}, {KEY_APOSTROPHE, '\'', '"'}, {KEY_GRAVE, '`', '~'},     {KEY_BACKSLASH, '\\', '|'},
      {KEY_COMMA, ',', '<'},     {KEY_DOT, '.', '>'},         {KEY_SLASH, '/', '?'},     {KEY_SPACE, ' ', ' '},
      {KEY_ENTER, '\n', '\n'},   {KEY_KPENTER, '\n', '\n'},   {KEY_TAB, '\t', '\t'},     {KEY_KPMINUS, '-', '-'},
      {KEY_KPPLUS, '+', '+'},    {KEY_KPDOT, '.', '.'},       {KEY_KPSLASH, '/', '/'},   {KEY_KPASTERISK, '*', '*'},
      {KEY_KP0, '0', '0'},       {KEY_KP1, '1', '1'},         {KEY_KP2, '2', '2'},       {KEY_KP3, '3', '3'},
      {KEY_KP4, '4', '4'},       {KEY_KP5, '5', '5'},         {KEY_KP6, '6', '6'},       {KEY_KP7, '7', '7'},
      {KEY_KP8, '8', '8'},       {KEY_KP9, '9', '9'},
  };
  for (const auto& [code, normal, shifted] : symbols) map.set(code, normal, shifted);
  return map;
}

void KeyMap::set(unsigned code, char normal, char shifted) {
  if (code < kKeys) keys_[code] = {normal, shifted};
}

std::optional<char> KeyMap::character(unsigned code, bool shift) const {
  if (code >= kKeys || keys_[code][0] == '\0') return std::nullopt;
  return keys_[code][shift ? 1 : 0];
}

std::optional<char> KeyDecoder::key(unsigned code, int value) {
  // value: 0 release, 1 press, 2 autorepeat.
  if (code == KEY_LEFTSHIFT) left_shift_ = value != 0;
  if (code == KEY_RIGHTSHIFT) right_shift_ = value != 0;
  if (code == KEY_CAPSLOCK && value == 1) caps_ = !caps_;
  if (value == 0) return std::nullopt;
  const bool shift = left_shift_ || right_shift_;
  auto c = map_.character(code, shift);
  if (c && caps_ && ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))) {
    c = map_.character(code, !shift);  // caps lock inverts letters only
  }
  return c;
}

struct EvdevScanner::State {
  State(asio::io_context& io, EvdevSettings s)
      : settings(std::move(s)),
        stream(io),
        retry(io),
        decoder(settings.keymap),
        splitter("\n", settings.max_code_bytes) {}

  EvdevSettings settings;
  asio::posix::stream_descriptor stream;
  asio::steady_timer retry;
  KeyDecoder decoder;
  LineSplitter splitter;
  ScannerCallbacks callbacks;
  bool stopped = false;

  bool open() {
    const int fd = ::open(settings.device.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      callbacks.trouble("cannot open " + settings.device + ": " + std::strerror(errno));
      return false;
    }
    struct stat st {};
    if (settings.grab && ::fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && ::ioctl(fd, EVIOCGRAB, 1) != 0) {
      const int why = errno;
      ::close(fd);
      callbacks.trouble("cannot grab " + settings.device + " for this agent alone (" + std::strerror(why) +
                        "): not reading it, so that scans never reach the POS as keystrokes");
      return false;
    }
    stream.assign(fd);
    return true;
  }

  void events(const input_event* begin, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      if (begin[i].type != EV_KEY) continue;
      if (const auto c = decoder.key(begin[i].code, begin[i].value)) splitter.feed(std::string_view(&*c, 1), callbacks);
    }
  }

  static Task<> read(std::shared_ptr<State> state);
};

Task<> EvdevScanner::State::read(std::shared_ptr<State> state) {
  std::array<input_event, 64> buffer;
  std::size_t filled = 0;  // bytes of a partly read event
  while (!state->stopped) {
    if (state->open()) {
      for (;;) {
        auto bytes = asio::buffer(reinterpret_cast<char*>(buffer.data()) + filled, sizeof buffer - filled);
        auto [error, n] = co_await state->stream.async_read_some(bytes, use_tuple);
        if (state->stopped) co_return;
        if (error == asio::error::eof) co_return;  // a recording has ended; devices never end
        if (error) {
          state->callbacks.trouble(state->settings.device + " went away: " + error.message());
          boost::system::error_code ignored;
          state->stream.close(ignored);
          filled = 0;
          break;
        }
        filled += n;
        const std::size_t whole = filled / sizeof(input_event);
        state->events(buffer.data(), whole);
        filled -= whole * sizeof(input_event);
        if (filled > 0) std::memmove(buffer.data(), buffer.data() + whole, filled);
      }
    }
    state->retry.expires_after(state->settings.retry);
    co_await state->retry.async_wait(use_tuple);
  }
}

EvdevScanner::EvdevScanner(asio::io_context& io, std::string name, EvdevSettings settings)
    : name_(std::move(name)), state_(std::make_shared<State>(io, std::move(settings))) {}

EvdevScanner::~EvdevScanner() { stop(); }

void EvdevScanner::start(ScannerCallbacks callbacks) {
  state_->callbacks = std::move(callbacks);
  state_->stopped = false;
  asio::co_spawn(state_->stream.get_executor(), State::read(state_), asio::detached);
}

void EvdevScanner::stop() {
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->stream.close(ignored);
  state_->retry.cancel();
}

}  // namespace loyalty::drivers
