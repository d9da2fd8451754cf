// The scanners on real devices where they can exist here: serial scanners on pseudo-terminals
// (openpty), keyboard-wedge scanners on recorded event streams, TCP scanners on loopback.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <linux/input.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "drivers/evdev_scanner.hpp"
#include "drivers/scripted_scanner.hpp"
#include "drivers/serial_scanner.hpp"
#include "drivers/tcp_scanner.hpp"
#include "tests/storage/fixtures.hpp"

using namespace loyalty::drivers;
namespace asio = loyalty::asio;
using loyalty::storage::testing::TempDir;

namespace {

// What a scanner delivered.
struct Received {
  std::vector<std::string> codes;
  std::vector<std::string> troubles;
  ScannerCallbacks callbacks() {
    return {[this](std::string code) { codes.push_back(std::move(code)); },
            [this](std::string problem) { troubles.push_back(std::move(problem)); }};
  }
};

// Runs `io` until `done`, or 10 s; false at the deadline.
bool run_until(asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_one_for(std::chrono::milliseconds(50));
  }
  return true;
}

struct Pty {
  int master = -1, slave = -1;
  std::string path;
  Pty() {
    REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
    path = ::ttyname(slave);
  }
  ~Pty() {
    ::close(master);
    ::close(slave);
  }
  // Whether the scanner has configured the line: raw, no echo, no CR to LF translation.
  bool configured() const {
    termios t{};
    return ::tcgetattr(slave, &t) == 0 && (t.c_lflag & ICANON) == 0;
  }
  void type(std::string_view bytes) const {
    REQUIRE(::write(master, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }
};

// The events a keyboard-wedge scanner sends for `text`: scan code, key press, key release and
// a sync after each, with the left shift held around shifted characters.
std::vector<input_event> typed(std::string_view text) {
  const KeyMap map = KeyMap::us();
  std::vector<input_event> events;
  auto add = [&events](std::uint16_t type, std::uint16_t code, std::int32_t value) {
    input_event e{};
    e.type = type;
    e.code = code;
    e.value = value;
    events.push_back(e);
  };
  auto key = [&](unsigned code, int value) {
    add(EV_MSC, MSC_SCAN, static_cast<std::int32_t>(0x70000 + code));
    add(EV_KEY, static_cast<std::uint16_t>(code), value);
    add(EV_SYN, SYN_REPORT, 0);
  };
  for (const char c : text) {
    unsigned found = 0;
    bool shift = false;
    for (unsigned code = 1; code < 128 && found == 0; ++code) {
      if (map.character(code, false) == c)
        found = code;
      else if (map.character(code, true) == c)
        found = code, shift = true;
    }
    REQUIRE_MESSAGE(found != 0, "no key types " << c);
    if (shift) key(KEY_LEFTSHIFT, 1);
    key(found, 1);
    key(found, 0);
    if (shift) key(KEY_LEFTSHIFT, 0);
  }
  return events;
}

std::string bytes_of(const std::vector<input_event>& events) {
  return {reinterpret_cast<const char*>(events.data()), events.size() * sizeof(input_event)};
}

}  // namespace

TEST_CASE("a serial scanner on a pseudo-terminal delivers codes split across reads, at the configured framing") {
  Pty pty;
  asio::io_context io;
  SerialSettings settings;
  settings.device = pty.path;
  settings.baud = 19200;
  settings.stop_bits = 2;
  settings.flow = SerialSettings::Flow::software;
  settings.terminator = "\r";
  SerialScanner scanner(io, "handheld", settings);
  Received got;
  scanner.start(got.callbacks());
  REQUIRE(run_until(io, [&] {
    termios t{};
    return ::tcgetattr(pty.slave, &t) == 0 && ::cfgetispeed(&t) == B19200;
  }));
  termios t{};
  REQUIRE(::tcgetattr(pty.slave, &t) == 0);
  CHECK((t.c_cflag & CSTOPB) != 0);
  CHECK((t.c_iflag & IXON) != 0);
  CHECK((t.c_lflag & ICANON) == 0);  // raw: the scanner's bytes arrive as sent

  pty.type("]C04000000");
  pty.type("000000002\r\n;4000000000000002=2812101?\r");
  REQUIRE(run_until(io, [&] { return got.codes.size() == 2; }));
  CHECK(got.codes[0] == "]C04000000000000002");
  CHECK(got.codes[1] == ";4000000000000002=2812101?");  // the stray "\n" is dropped
  CHECK(got.troubles.empty());
}

TEST_CASE("a framing the device cannot do is reported with the setting named") {
  Pty pty;  // pseudo-terminals carry 8 data bits only
  asio::io_context io;
  SerialSettings settings;
  settings.device = pty.path;
  settings.data_bits = 7;
  SerialScanner scanner(io, "handheld", settings);
  Received got;
  scanner.start(got.callbacks());
  REQUIRE(run_until(io, [&] { return !got.troubles.empty(); }));
  CHECK(got.troubles[0].find("cannot set " + pty.path + " to 7 data bits") == 0);
}

TEST_CASE("a serial scanner that is missing is reported and opened once it appears") {
  TempDir dir;
  asio::io_context io;
  SerialSettings settings;
  settings.device = (dir / "scanner").string();
  settings.retry = std::chrono::milliseconds(20);
  SerialScanner scanner(io, "handheld", settings);
  Received got;
  scanner.start(got.callbacks());
  REQUIRE(run_until(io, [&] { return !got.troubles.empty(); }));
  CHECK(got.troubles[0].find("cannot open " + settings.device) == 0);

  Pty pty;  // plugged in
  std::filesystem::create_symlink(pty.path, settings.device);
  REQUIRE(run_until(io, [&] { return pty.configured(); }));
  pty.type("12345\r");
  REQUIRE(run_until(io, [&] { return got.codes.size() == 1; }));
  CHECK(got.codes[0] == "12345");
}

TEST_CASE("a code longer than the limit is dropped and reported once, and the next one comes through") {
  Pty pty;
  asio::io_context io;
  SerialSettings settings;
  settings.device = pty.path;
  settings.max_code_bytes = 64;
  SerialScanner scanner(io, "handheld", settings);
  Received got;
  scanner.start(got.callbacks());
  REQUIRE(run_until(io, [&] { return pty.configured(); }));
  pty.type(std::string(200, '7'));
  pty.type(std::string(100, '7') + "\r4000000000000002\r");
  REQUIRE(run_until(io, [&] { return got.codes.size() == 1; }));
  CHECK(got.codes[0] == "4000000000000002");
  CHECK(got.troubles == std::vector<std::string>{"a scan longer than 64 bytes was dropped"});
}

TEST_CASE("a keyboard-wedge scanner's recorded events become codes, through shift and partial reads") {
  TempDir dir;
  const std::string recording = bytes_of(typed("]C04000000000000002\n;4000000000000002=2812101?\nLT1.aB-_\n"));
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  asio::io_context io;
  EvdevSettings settings;
  settings.device = "/dev/fd/" + std::to_string(fds[0]);
  EvdevScanner scanner(io, "wedge", settings);
  Received got;
  scanner.start(got.callbacks());
  // Three writes that cut events in half.
  const std::size_t third = recording.size() / 3 + 5;
  for (std::size_t at = 0; at < recording.size(); at += third) {
    const std::string part = recording.substr(at, third);
    REQUIRE(::write(fds[1], part.data(), part.size()) == static_cast<ssize_t>(part.size()));
  }
  REQUIRE(run_until(io, [&] { return got.codes.size() == 3; }));
  CHECK(got.codes[0] == "]C04000000000000002");
  CHECK(got.codes[1] == ";4000000000000002=2812101?");
  CHECK(got.codes[2] == "LT1.aB-_");
  CHECK(got.troubles.empty());
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("a keyboard-wedge device that cannot be grabbed is not read at all") {
  asio::io_context io;
  EvdevSettings settings;
  settings.device = "/dev/null";  // a character device that refuses EVIOCGRAB
  settings.retry = std::chrono::milliseconds(20);
  EvdevScanner scanner(io, "wedge", settings);
  Received got;
  scanner.start(got.callbacks());
  REQUIRE(run_until(io, [&] { return !got.troubles.empty(); }));
  CHECK(got.troubles[0].find("cannot grab /dev/null for this agent alone") == 0);
  CHECK(got.codes.empty());
}

TEST_CASE("the key decoder follows both shift keys, caps lock and autorepeat") {
  KeyDecoder keys(KeyMap::us());
  CHECK(keys.key(KEY_A, 1) == 'a');
  CHECK_FALSE(keys.key(KEY_A, 0));
  keys.key(KEY_RIGHTSHIFT, 1);
  CHECK(keys.key(KEY_SLASH, 1) == '?');
  keys.key(KEY_RIGHTSHIFT, 0);
  keys.key(KEY_CAPSLOCK, 1);
  keys.key(KEY_CAPSLOCK, 0);
  CHECK(keys.key(KEY_B, 1) == 'B');
  CHECK(keys.key(KEY_B, 2) == 'B');  // autorepeat types again
  CHECK(keys.key(KEY_1, 1) == '1');  // caps lock leaves digits alone
  CHECK_FALSE(keys.key(KEY_F1, 1));
  KeyMap german = KeyMap::us();
  german.set(KEY_Y, 'z', 'Z');
  KeyDecoder de(german);
  CHECK(de.key(KEY_Y, 1) == 'z');
}

TEST_CASE("a TCP scanner takes one code per line from each connection, on loopback only") {
  asio::io_context io;
  TcpScanner scanner(io, "network", {});
  Received got;
  scanner.start(got.callbacks());
  asio::ip::tcp::socket a(io), b(io);
  a.connect({asio::ip::make_address("127.0.0.1"), scanner.port()});
  b.connect({asio::ip::make_address("127.0.0.1"), scanner.port()});
  asio::write(a, asio::buffer(std::string("4000000000")));
  asio::write(b, asio::buffer(std::string("LT1.x.y\n")));
  asio::write(a, asio::buffer(std::string("000002\r\n")));
  REQUIRE(run_until(io, [&] { return got.codes.size() == 2; }));
  std::sort(got.codes.begin(), got.codes.end());  // two connections: either may come first
  CHECK(got.codes == std::vector<std::string>{"4000000000000002", "LT1.x.y"});
  CHECK_THROWS_WITH_AS(TcpScanner(io, "wide", {"0.0.0.0", 0}), "a TCP scanner listens on loopback only, not on 0.0.0.0",
                       std::invalid_argument);
}

TEST_CASE("a scripted scanner delivers through the same callbacks, and nothing once stopped") {
  asio::io_context io;
  ScriptedScanner scanner(io, "script");
  Received got;
  scanner.start(got.callbacks());
  scanner.scan("4000000000000002");
  REQUIRE(run_until(io, [&] { return got.codes.size() == 1; }));
  scanner.stop();
  scanner.scan("4000000000000010");
  io.restart();
  io.poll();
  CHECK(got.codes.size() == 1);
}
