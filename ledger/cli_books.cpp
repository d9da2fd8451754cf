// loyalty-ledger replay, report, audit and expire: the books after Black Friday, for the central
// team and finance.
#include "ledger/cli_commands.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <ostream>
#include <string>
#include <vector>

#include "ledger/audit.hpp"
#include "ledger/open_store.hpp"
#include "ledger/replay.hpp"
#include "ledger/report.hpp"
#include "runtime/clock.hpp"

namespace loyalty::ledger::cli {

namespace {

// "1,000,000" for 1000000. (Built by appending: GCC 12 at -O3 warns falsely (-Wrestrict) about
// std::string::insert here.)
std::string thousands(std::int64_t value) {
  const std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out(value < 0 ? 1 : 0, '-');
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "1 h 05 min", "4 min 10 s", "12 s".
std::string duration_text(double seconds) {
  const auto total = static_cast<std::int64_t>(seconds + 0.5);
  const auto two = [](std::int64_t n) { return (n < 10 ? "0" : "") + std::to_string(n); };
  if (total >= 3600) return std::to_string(total / 3600) + " h " + two(total % 3600 / 60) + " min";
  if (total >= 60) return std::to_string(total / 60) + " min " + two(total % 60) + " s";
  return std::to_string(total) + " s";
}

// Progress of a long replay on stderr: a bar redrawn in place on a terminal, a line per tenth
// of the files otherwise (logs), with the rate and the time left, reckoned from the bytes of the
// files replayed so far against those of all of them.
class ProgressBar {
 public:
  ProgressBar(std::ostream& err, std::span<const std::filesystem::path> files, bool quiet)
      : err_(err),
        files_(files.size()),
        quiet_(quiet),
        tty_(::isatty(STDERR_FILENO) == 1),
        start_(std::chrono::steady_clock::now()) {
    for (const auto& file : files) {
      std::error_code error;
      const auto size = std::filesystem::file_size(file, error);
      sizes_.push_back(error ? 0 : size);
      total_bytes_ += sizes_.back();
    }
  }

  void update(std::size_t index, std::int64_t entries, bool file_finished) {
    if (file_finished) {
      ++files_done_;
      done_entries_ += entries;
      done_bytes_ += sizes_[index];
    }
    if (quiet_ || files_ == 0) return;
    const auto now = std::chrono::steady_clock::now();
    const std::int64_t shown = done_entries_ + (file_finished ? 0 : entries);
    if (tty_) {
      if (!file_finished && now - drawn_ < std::chrono::milliseconds(100)) return;
      drawn_ = now;
      const std::size_t width = 30;
      const std::size_t filled = width * files_done_ / files_;
      err_ << "\r[" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << status(shown, now)
           << "   " << std::flush;
    } else if (file_finished && (files_done_ * 10 / files_ != last_tenth_ || files_done_ == files_)) {
      last_tenth_ = files_done_ * 10 / files_;
      err_ << "replay: " << status(shown, now) << "\n";
    }
  }
  void finish() {
    if (!quiet_ && tty_ && files_ > 0) err_ << "\n";
  }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::string status(std::int64_t entries, std::chrono::steady_clock::time_point now) const {
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    std::string text =
        std::to_string(files_done_) + "/" + std::to_string(files_) + " files, " + thousands(entries) + " entries, " +
        thousands(elapsed > 0 ? static_cast<std::int64_t>(static_cast<double>(entries) / elapsed) : 0) + " entries/s";
    if (done_bytes_ > 0 && files_done_ < files_) {
      const double left = elapsed * static_cast<double>(total_bytes_ - done_bytes_) / static_cast<double>(done_bytes_);
      text += ", about " + duration_text(left) + " left";
    }
    return text;
  }

  std::ostream& err_;
  std::size_t files_;
  bool quiet_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point drawn_{};
  std::vector<std::uintmax_t> sizes_;
  std::uintmax_t total_bytes_ = 0;
  std::uintmax_t done_bytes_ = 0;
  std::size_t files_done_ = 0;
  std::int64_t done_entries_ = 0;
  std::size_t last_tenth_ = 0;
};

int replay_files(const Options& options, std::span<const std::string_view> files, std::ostream& out,
                 std::ostream& err) {
  if (files.empty()) throw Failed{"replay needs at least one journal file"};
  const auto opened = open_store(options.value("--db"), replay_store_options());
  LedgerStore& store = *opened;
  Ledger ledger(store, settings_from(options));
  const std::vector<std::filesystem::path> paths(files.begin(), files.end());
  ProgressBar bar(err, paths, options.has("--quiet"));
  const auto group_entries = options.integer("--group-entries", kReplayGroupEntries, 1, 100'000'000);
  if (!group_entries) throw Failed{"--group-entries must be a whole number of entries from 1 to 100000000"};
  const std::vector<ReplayResult> results = replay_files(
      ledger, paths, runtime::unix_now_ms(),
      [&](std::size_t index, std::int64_t entries, bool finished) { bar.update(index, entries, finished); },
      *group_entries);
  bar.finish();
  const double seconds = bar.seconds();
  const AuditSummary audited = audit(store);

  ReplayResult sum;
  std::size_t refused = 0;
  for (const ReplayResult& r : results) {
    sum.entries += r.entries;
    sum.applied += r.applied;
    sum.duplicates += r.duplicates;
    sum.held_back += r.held_back;
    sum.unsigned_left_out += r.unsigned_left_out;
    if (!r.refusal.empty()) ++refused;
  }
  if (options.has("--json")) {
    runtime::OrderedJson summary;
    summary["files"] = results.size();
    summary["refused_files"] = refused;
    summary["entries"] = sum.entries;
    summary["applied"] = sum.applied;
    summary["duplicates"] = sum.duplicates;
    summary["held_back"] = sum.held_back;
    summary["unsigned_left_out"] = sum.unsigned_left_out;
    summary["audited_sales"] = audited.sales;
    summary["mismatches"] = audited.mismatches;
    summary["clock_mismatches"] = audited.clock_problems;
    summary["waiting_for_rulebooks"] = audited.waiting_for_rulebooks;
    summary["seconds"] = seconds;
    summary["entries_per_second"] = seconds > 0 ? static_cast<double>(sum.entries) / seconds : 0.0;
    runtime::OrderedJson list = runtime::OrderedJson::array();
    for (const ReplayResult& r : results) {
      runtime::OrderedJson file;
      file["file"] = r.file.string();
      file["terminal_id"] = r.terminal_id;
      file["entries"] = r.entries;
      file["applied"] = r.applied;
      file["duplicates"] = r.duplicates;
      file["held_back"] = r.held_back;
      file["unsigned_left_out"] = r.unsigned_left_out;
      file["acknowledged_through"] = r.acknowledged_through;
      file["refusal"] = r.refusal.empty() ? runtime::OrderedJson() : runtime::OrderedJson(r.refusal);
      list.push_back(std::move(file));
    }
    summary["results"] = std::move(list);
    out << summary.dump(2) << "\n";
  } else {
    out << "replayed " << results.size() - refused << " of " << results.size() << " files in " << std::fixed
        << std::setprecision(1) << seconds << " s";
    if (seconds > 0)
      out << " (" << thousands(static_cast<std::int64_t>(static_cast<double>(sum.entries) / seconds)) << " entries/s)";
    out << "\n";
    const auto row = [&](std::string_view name, std::int64_t value) {
      out << "  " << name << std::string(20 - name.size(), ' ') << std::setw(14) << thousands(value) << "\n";
    };
    row("entries read", sum.entries);
    row("applied", sum.applied);
    row("already applied", sum.duplicates);
    row("held back (gap)", sum.held_back);
    row("unsigned, left out", sum.unsigned_left_out);
    row("refused files", static_cast<std::int64_t>(refused));
    row("sales audited", audited.sales);
    row("audit mismatches", audited.mismatches);
    if (!audited.waiting_for_rulebooks.empty()) {
      out << "  audit waits for rulebook versions not published here:";
      for (std::int64_t version : audited.waiting_for_rulebooks) out << " " << version;
      out << "\n";
    }
    for (const ReplayResult& r : results) {
      if (!r.refusal.empty()) {
        out << "  " << r.file.string() << (r.terminal_id.empty() ? "" : " (" + r.terminal_id + ")");
        if (r.refused_at > 0) out << " from entry " << r.refused_at;
        out << ": " << r.refusal << "\n";
      } else if (r.unsigned_left_out > 0) {
        out << "  " << r.file.string() << " (" << r.terminal_id << "): " << r.unsigned_left_out
            << " unsigned entries at the end left out; sign them with loyalty-agent journal sign and replay again\n";
      }
    }
  }
  return refused == 0 ? exit_ok : exit_failed;
}

}  // namespace

int replay_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  // Options first, then the files.
  std::size_t options_end = 0;
  while (options_end < args.size() && args[options_end].starts_with("--")) {
    const std::string_view arg = args[options_end];
    options_end += arg == "--quiet" || arg == "--json" || arg.find('=') != std::string_view::npos ? 1U : 2U;
  }
  options_end = std::min(options_end, args.size());
  const auto options = parse_options(args.first(options_end), {"--db", "--expiry-days", "--group-entries"},
                                     {"--quiet", "--json"}, kUsage, err);
  if (!options || !require(*options, {"--db"}, kUsage, err)) return exit_usage;
  return replay_files(*options, args.subspan(options_end), out, err);
}

int report_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  const auto options = parse_options(args, {"--db", "--format"}, {}, kUsage, err);
  if (!options || !require(*options, {"--db"}, kUsage, err)) return exit_usage;
  const auto opened = open_store(options->value("--db"), {storage::Creation::must_exist});
  LedgerStore& store = *opened;
  const Report report = build_report(store);
  const std::string format = options->find("--format").value_or("table");
  if (format == "table") {
    out << report_table(report);
  } else if (format == "csv") {
    out << report_csv(report);
  } else if (format == "json") {
    out << report_json(report).dump(2) << "\n";
  } else {
    throw Failed{"--format must be table, csv or json, got " + format};
  }
  return exit_ok;
}

int audit_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  const auto options = parse_options(args, {"--db"}, {}, kUsage, err);
  if (!options || !require(*options, {"--db"}, kUsage, err)) return exit_usage;
  const auto opened = open_store(options->value("--db"), {storage::Creation::must_exist});
  LedgerStore& store = *opened;
  const AuditSummary audited = audit(store);
  out << "audited " << audited.sales << " sales: " << audited.mismatches << " mismatches";
  if (audited.clock_problems > 0) out << " (" << audited.clock_problems << " of them in the sale's time)";
  out << "\n";
  for (std::int64_t version : audited.waiting_for_rulebooks) {
    out << "waiting for rulebook version " << version << " to be published\n";
  }
  return audited.mismatches == 0 ? exit_ok : exit_failed;
}

int expire_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  const auto options = parse_options(args, {"--db", "--expiry-days"}, {}, kUsage, err);
  if (!options || !require(*options, {"--db"}, kUsage, err)) return exit_usage;
  const auto opened = open_store(options->value("--db"), {storage::Creation::must_exist});
  LedgerStore& store = *opened;
  Ledger ledger(store, settings_from(*options));
  out << "expired " << ledger.expire(runtime::unix_now_ms()) << " points\n";
  return exit_ok;
}

}  // namespace loyalty::ledger::cli
