#include "agent/lane.hpp"

namespace loyalty::agent {

using runtime::OrderedJson;

LaneEvents::LaneEvents(asio::any_io_executor executor, runtime::Clock clock, std::size_t keep)
    : executor_(std::move(executor)), clock_(std::move(clock)), keep_(keep) {}

std::int64_t LaneEvents::publish(OrderedJson event) {
  OrderedJson stamped;
  stamped["seq"] = next_seq_;
  stamped["at_ms"] = clock_();
  for (auto& [key, value] : event.items()) stamped[key] = std::move(value);
  events_.push_back(std::move(stamped));
  if (events_.size() > keep_) events_.pop_front();
  for (asio::steady_timer* timer : waiting_) timer->cancel();
  return next_seq_++;
}

OrderedJson LaneEvents::collect(std::int64_t after) const {
  OrderedJson answer;
  OrderedJson list = OrderedJson::array();
  for (const OrderedJson& event : events_) {
    if (event["seq"].get<std::int64_t>() > after) list.push_back(event);
  }
  const std::int64_t oldest = events_.empty() ? next_seq_ : events_.front()["seq"].get<std::int64_t>();
  answer["events"] = std::move(list);
  answer["last"] = last_seq();
  answer["missed"] = after + 1 < oldest && after < last_seq();
  return answer;
}

Task<OrderedJson> LaneEvents::poll(std::int64_t after, std::chrono::milliseconds wait) {
  if (last_seq() <= after && !stopped_ && wait.count() > 0) {
    asio::steady_timer timer(executor_, wait);
    const auto registered = waiting_.insert(waiting_.end(), &timer);
    co_await timer.async_wait(use_tuple);
    waiting_.erase(registered);
  }
  co_return collect(after);
}

void LaneEvents::stop() {
  stopped_ = true;
  for (asio::steady_timer* timer : waiting_) timer->cancel();
}

Lane::ScannerState& Lane::state(const std::string& name) {
  for (ScannerState& s : scanners_) {
    if (s.name == name) return s;
  }
  scanners_.push_back(ScannerState{name, 0, 0, {}});
  return scanners_.back();
}

void Lane::attach(drivers::Scanner& scanner) {
  const std::string name = scanner.name();
  state(name);
  scanner.start({[this, name](std::string code) { scanned(name, code); },
                 [this, name](std::string problem) {
                   ScannerState& s = state(name);
                   ++s.troubles;
                   s.last_trouble = problem;
                   log_.warning("scanner_trouble", problem, {{"scanner", name}});
                 }});
}

void Lane::scanned(const std::string& scanner, const std::string& code) {
  ++state(scanner).codes;
  OrderedJson event;
  try {
    OrderedJson identified = checkout_.identify(runtime::Json{{"code", code}});
    event["type"] = "member_presented";
    event["scanner"] = scanner;
    event["identified_by"] = identified["identified_by"];
    event["member"] = std::move(identified["member"]);
    if (identified.contains("notice")) event["notice"] = identified["notice"];
  } catch (const Refused& refused) {
    checkout_.count_refusal();
    event["type"] = "scan_refused";
    event["scanner"] = scanner;
    event["code"] = refused.code();
    event["message"] = refused.what();
  } catch (const runtime::JsonError& error) {
    event["type"] = "scan_refused";
    event["scanner"] = scanner;
    event["code"] = "code_damaged";
    event["message"] = "the scan could not be read: scan again";
  }
  const std::string type = event["type"].get<std::string>();
  OrderedJson fields{{"scanner", scanner}};
  if (event.contains("code")) fields["code"] = event["code"];
  const std::int64_t seq = events_.publish(std::move(event));
  fields["seq"] = seq;
  log_.info(type, type == "member_presented" ? "member presented at a scanner" : "scan refused", std::move(fields));
}

OrderedJson Lane::scanners_json() const {
  OrderedJson list = OrderedJson::array();
  for (const ScannerState& s : scanners_) {
    list.push_back({{"name", s.name}, {"codes", s.codes}, {"troubles", s.troubles}, {"last_trouble", s.last_trouble}});
  }
  return list;
}

}  // namespace loyalty::agent
