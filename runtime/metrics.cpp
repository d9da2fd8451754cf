#include "runtime/metrics.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace loyalty::runtime {
namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

std::string series(std::string_view name, std::string_view labels, std::string_view more = "") {
  std::string out(name);
  if (labels.empty() && more.empty()) return out;
  out += '{';
  out += labels;
  if (!labels.empty() && !more.empty()) out += ',';
  out += more;
  out += '}';
  return out;
}

}  // namespace

void Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) ++buckets_[i];
  }
  ++count_;
  sum_ += seconds;
}

void Histogram::write(std::string& out, std::string_view name, std::string_view labels) const {
  const std::string bucket = std::string(name) + "_bucket";
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    out += series(bucket, labels, "le=\"" + number(kBounds[i]) + "\"") + " " + std::to_string(buckets_[i]) + "\n";
  }
  out += series(bucket, labels, "le=\"+Inf\"") + " " + std::to_string(count_) + "\n";
  out += series(std::string(name) + "_sum", labels) + " " + number(sum_) + "\n";
  out += series(std::string(name) + "_count", labels) + " " + std::to_string(count_) + "\n";
}

std::optional<std::int64_t> resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0;
  std::int64_t resident = 0;
  if (!(statm >> size >> resident)) return std::nullopt;
  return resident * static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
}

void write_process_metrics(std::string& out, std::string_view name, std::string_view version) {
  const std::string n(name);
  out += "# HELP " + n + "_build_info The release running, as its label.\n# TYPE " + n + "_build_info gauge\n" + n +
         "_build_info{version=\"" + std::string(version) + "\"} 1\n";
  if (const auto resident = resident_memory_bytes()) {
    out += "# HELP " + n + "_resident_memory_bytes Resident memory of the process.\n# TYPE " + n +
           "_resident_memory_bytes gauge\n" + n + "_resident_memory_bytes " + std::to_string(*resident) + "\n";
  }
}

std::string prometheus_label(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace loyalty::runtime
