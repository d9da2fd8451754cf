#include "ledger/report.hpp"

#include <map>
#include <set>
#include <sstream>

#include "domain/money.hpp"
#include "sync/rulebook_json.hpp"

namespace loyalty::ledger {
namespace {

using domain::Wide;

// Money of `points` at `value` minor units per point, rounded half away from zero.
Wide money(std::int64_t points, const domain::Ratio& value) {
  return domain::rdiv(Wide{points} * value.num, value.den);
}

void add(ReportLine& into, const ReportLine& line) {
  into.entries += line.entries;
  into.issued += line.issued;
  into.redeemed += line.redeemed;
  into.expired += line.expired;
  into.liability_points += line.liability_points;
  if (into.liability_minor && line.liability_minor) {
    *into.liability_minor += *line.liability_minor;
  } else {
    into.liability_minor.reset();
  }
  into.conflicts += line.conflicts;
  into.mismatches += line.mismatches;
  into.held += line.held;
}

std::string money_text(const std::optional<std::int64_t>& minor, int exponent) {
  return minor ? domain::format_minor(*minor, exponent) : "";
}

std::string label(const ReportLine& line) {
  if (line.store_id.empty()) return "TOTAL";
  if (line.terminal_id.empty()) return line.store_id + " (store)";
  return line.store_id + " / " + line.terminal_id;
}

}  // namespace

Report build_report(LedgerStore& store) {
  Report report;
  // Point values of the published rulebooks, by version.
  std::map<std::int64_t, domain::Ratio> values;
  std::optional<domain::Ratio> newest;
  if (const auto latest = store.latest_rulebook()) {
    const auto rules = sync::rulebook_from_json(runtime::parse_json(latest->document, "rulebook"));
    report.currency = rules.currency.code;
    report.exponent = rules.currency.exponent;
    newest = rules.redemption.point_value;
    values[latest->version] = *newest;
  }
  const auto value_of = [&](std::int64_t version) -> std::optional<domain::Ratio> {
    if (const auto found = values.find(version); found != values.end()) return found->second;
    const auto published = store.rulebook(version);
    if (!published) return std::nullopt;
    const auto rules = sync::rulebook_from_json(runtime::parse_json(published->document, "rulebook"));
    return values[version] = rules.redemption.point_value;
  };

  std::map<std::string, std::size_t> index;
  std::set<std::int64_t> missing;
  std::map<std::string, Wide> money_by_terminal;
  for (const TerminalTotals& totals : store.terminal_totals()) {
    ReportLine line;
    line.store_id = totals.store_id;
    line.terminal_id = totals.terminal_id;
    line.acknowledged_through = totals.head_seq;
    line.expired = totals.expired;
    line.conflicts = totals.conflicts;
    line.mismatches = totals.mismatches;
    line.held = totals.held;
    index[totals.terminal_id] = report.terminals.size();
    report.terminals.push_back(line);
    money_by_terminal[totals.terminal_id] = newest ? -money(totals.expired, *newest) : 0;
  }
  for (const ReportRow& row : store.report_rows()) {
    ReportLine& line = report.terminals[index.at(row.terminal_id)];
    line.entries += row.entries;
    line.issued += row.earned;
    line.redeemed += row.redeemed;
    if (const auto value = value_of(row.rulebook_version)) {
      money_by_terminal[row.terminal_id] += money(row.earned - row.redeemed, *value);
    } else {
      missing.insert(row.rulebook_version);
    }
  }
  // Money is given for every line or for none, so that no subtotal mixes known and unknown
  // values. (Expired points come from entries, so a ledger without rulebooks has missing
  // versions whenever it has expired points.)
  for (ReportLine& line : report.terminals) {
    line.liability_points = line.issued - line.redeemed - line.expired;
    if (missing.empty()) line.liability_minor = domain::narrow(money_by_terminal[line.terminal_id], "liability");
  }
  report.missing_rulebooks.assign(missing.begin(), missing.end());

  report.total.liability_minor = missing.empty() ? std::optional<std::int64_t>(0) : std::nullopt;
  for (const ReportLine& line : report.terminals) {
    if (report.stores.empty() || report.stores.back().store_id != line.store_id) {
      ReportLine subtotal;
      subtotal.store_id = line.store_id;
      subtotal.liability_minor = report.total.liability_minor;
      report.stores.push_back(subtotal);
    }
    add(report.stores.back(), line);
    add(report.total, line);
  }
  return report;
}

std::string report_table(const Report& report) {
  std::vector<const ReportLine*> lines;
  for (const ReportLine& store_line : report.stores) {
    for (const ReportLine& line : report.terminals) {
      if (line.store_id == store_line.store_id) lines.push_back(&line);
    }
    lines.push_back(&store_line);
  }
  lines.push_back(&report.total);

  const std::vector<std::string> headers{"store / terminal",
                                         "entries",
                                         "issued",
                                         "redeemed",
                                         "expired",
                                         "liability pts",
                                         "liability " + report.currency,
                                         "conflicts",
                                         "mismatches",
                                         "held"};
  std::vector<std::vector<std::string>> cells;
  for (const ReportLine* line : lines) {
    cells.push_back({label(*line), std::to_string(line->entries), std::to_string(line->issued),
                     std::to_string(line->redeemed), std::to_string(line->expired),
                     std::to_string(line->liability_points), money_text(line->liability_minor, report.exponent),
                     std::to_string(line->conflicts), std::to_string(line->mismatches), std::to_string(line->held)});
  }
  std::vector<std::size_t> widths;
  for (const std::string& header : headers) widths.push_back(header.size());
  for (const auto& row : cells) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::ostringstream out;
  const auto print = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string pad(widths[i] - row[i].size(), ' ');
      out << (i == 0 ? row[i] + pad : "  " + pad + row[i]);
    }
    out << "\n";
  };
  print(headers);
  for (const auto& row : cells) print(row);
  if (!report.missing_rulebooks.empty()) {
    out << "liability in money left out: rulebook versions not published to this ledger:";
    for (std::int64_t version : report.missing_rulebooks) out << " " << version;
    out << "\n";
  }
  return out.str();
}

std::string csv_field(std::string_view text) {
  // A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before
  // one) as a formula: such text gets a leading apostrophe, which shows as text.
  const bool formula = !text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos;
  const bool quoted = formula || text.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quoted) return std::string(text);
  std::string field = formula ? "\"'" : "\"";
  for (const char c : text) {
    if (c == '"') field += '"';
    field += c;
  }
  field += '"';
  return field;
}

std::string report_csv(const Report& report) {
  std::ostringstream out;
  out << "store_id,terminal_id,entries,acknowledged_through,issued,redeemed,expired,liability_points,"
         "liability_money,currency,conflicts,mismatches,held\r\n";
  const auto row = [&](const ReportLine& line) {
    out << csv_field(line.store_id) << ',' << csv_field(line.terminal_id) << ',' << line.entries << ','
        << line.acknowledged_through << ',' << line.issued << ',' << line.redeemed << ',' << line.expired << ','
        << line.liability_points << ',' << money_text(line.liability_minor, report.exponent) << ','
        << csv_field(report.currency) << ',' << line.conflicts << ',' << line.mismatches << ',' << line.held << "\r\n";
  };
  for (const ReportLine& line : report.terminals) row(line);
  for (const ReportLine& line : report.stores) row(line);
  row(report.total);
  return out.str();
}

runtime::OrderedJson report_json(const Report& report) {
  const auto line_json = [&](const ReportLine& line) {
    runtime::OrderedJson j;
    if (!line.store_id.empty()) j["store_id"] = line.store_id;
    if (!line.terminal_id.empty()) {
      j["terminal_id"] = line.terminal_id;
      j["acknowledged_through"] = line.acknowledged_through;
    }
    j["entries"] = line.entries;
    j["issued"] = line.issued;
    j["redeemed"] = line.redeemed;
    j["expired"] = line.expired;
    j["liability_points"] = line.liability_points;
    j["liability_minor"] = line.liability_minor ? runtime::OrderedJson(*line.liability_minor) : runtime::OrderedJson();
    j["conflicts"] = line.conflicts;
    j["mismatches"] = line.mismatches;
    j["held"] = line.held;
    return j;
  };
  runtime::OrderedJson out;
  out["currency"] = report.currency;
  out["exponent"] = report.exponent;
  out["terminals"] = runtime::OrderedJson::array();
  for (const ReportLine& line : report.terminals) out["terminals"].push_back(line_json(line));
  out["stores"] = runtime::OrderedJson::array();
  for (const ReportLine& line : report.stores) out["stores"].push_back(line_json(line));
  out["total"] = line_json(report.total);
  out["missing_rulebooks"] = report.missing_rulebooks;
  return out;
}

}  // namespace loyalty::ledger
