// The lane: what this checkout's scanners read, turned into events the POS shows. A scanned
// loyalty card or app code becomes "member_presented" with the member view; anything else
// becomes "scan_refused" with a message for the cashier ("a product barcode, not a loyalty
// card"). Raw codes never leave the agent, in events or in logs: they are card numbers.
//
// The POS takes events by long-poll, GET /v1/events?after=SEQ&wait_ms=MS (docs/pos-api.md):
// the answer comes as soon as there is an event after SEQ, or empty when the wait is over.
// The last 256 events are kept; a POS that fell further behind is told it missed some.

#ifndef LOYALTY_AGENT_LANE_HPP_
#define LOYALTY_AGENT_LANE_HPP_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <string>
#include <vector>

#include "agent/checkout.hpp"
#include "drivers/scanner.hpp"
#include "runtime/asio.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"

namespace loyalty::agent {

class LaneEvents {
 public:
  LaneEvents(asio::any_io_executor executor, runtime::Clock clock, std::size_t keep = 256);

  // Adds the event with the next sequence number and its time; wakes every waiting poll.
  std::int64_t publish(runtime::OrderedJson event);
  // {"events": [...], "last": SEQ, "missed": bool}: the events after `after`, waiting up to
  // `wait` for the first.
  Task<runtime::OrderedJson> poll(std::int64_t after, std::chrono::milliseconds wait);
  // Wakes every waiting poll; later polls answer at once (the agent is stopping).
  void stop();

  std::int64_t last_seq() const { return next_seq_ - 1; }
  // Polls waiting for an event now.
  std::int64_t waiting() const { return static_cast<std::int64_t>(waiting_.size()); }

 private:
  runtime::OrderedJson collect(std::int64_t after) const;

  asio::any_io_executor executor_;
  runtime::Clock clock_;
  std::size_t keep_;
  std::deque<runtime::OrderedJson> events_;
  std::int64_t next_seq_ = 1;
  std::list<asio::steady_timer*> waiting_;
  bool stopped_ = false;
};

class Lane {
 public:
  // `checkout`, `events` and `log` must outlive the lane.
  Lane(Checkout& checkout, LaneEvents& events, runtime::Log& log) : checkout_(checkout), events_(events), log_(log) {}

  // Starts the scanner with this lane's callbacks; the scanner must outlive the lane's use.
  void attach(drivers::Scanner& scanner);
  // Identifies a scanned code and publishes what it was.
  void scanned(const std::string& scanner, const std::string& code);

  // Per scanner: codes read, trouble reported, the last trouble.
  runtime::OrderedJson scanners_json() const;

 private:
  struct ScannerState {
    std::string name;
    std::int64_t codes = 0;
    std::int64_t troubles = 0;
    std::string last_trouble;
  };
  ScannerState& state(const std::string& name);

  Checkout& checkout_;
  LaneEvents& events_;
  runtime::Log& log_;
  std::vector<ScannerState> scanners_;
};

}  // namespace loyalty::agent

#endif  // LOYALTY_AGENT_LANE_HPP_
