// Prometheus text format (version 0.0.4) for both daemons' /metrics: a latency histogram, the
// build and the process's resident memory, written the same way by the agent and the ledger.

#ifndef LOYALTY_RUNTIME_METRICS_HPP_
#define LOYALTY_RUNTIME_METRICS_HPP_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::runtime {

// Request durations in fixed buckets from 0.5 ms to 5 s: a cumulative count per bucket, the
// count and the sum, as a Prometheus histogram has them.
class Histogram {
 public:
  static constexpr std::array<double, 13> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,    0.25,  0.5,    1.0,   2.5,  5.0};

  void observe(double seconds);
  // The series of this histogram under `name`, each with `labels` (`route="quote"`, or empty).
  void write(std::string& out, std::string_view name, std::string_view labels) const;
  std::int64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::array<std::int64_t, kBounds.size()> buckets_{};  // observations at most each bound
  std::int64_t count_ = 0;
  double sum_ = 0;
};

// The resident memory of this process (/proc/self/statm), nullopt where it cannot be read.
std::optional<std::int64_t> resident_memory_bytes();

// "# HELP/# TYPE" and the series of `name_build_info{version="..."} 1` and
// `name_resident_memory_bytes`, for a program called `name` (loyalty_agent).
// `value` as a label value of the text format: backslash, double quote and newline escaped.
std::string prometheus_label(std::string_view value);

void write_process_metrics(std::string& out, std::string_view name, std::string_view version);

}  // namespace loyalty::runtime

#endif  // LOYALTY_RUNTIME_METRICS_HPP_
