// The reconciliation report for finance: per store and terminal, what the ledger applied and
// what it means for the programme's liability (the points members hold, valued in money).
//
//   issued     points earned, net of points clawed back by returns
//   redeemed   points redeemed, net of points given back by returns
//   expired    points of lots earned at the terminal that expired unspent
//   liability  issued - redeemed - expired, in points and in money: each entry's points at the
//              point value of the rulebook version it cites, expired points at the value of
//              the newest rulebook. Money is left out (null) when a cited rulebook has not been
//              published to this ledger.
//   conflicts  offline over-redemptions recorded against the terminal's entries
//   mismatches sales whose recomputation disagrees with what they recorded
//   held       entries kept aside after a gap (a journal is incomplete at the ledger)

#ifndef LOYALTY_LEDGER_REPORT_HPP_
#define LOYALTY_LEDGER_REPORT_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/store.hpp"
#include "runtime/json_reader.hpp"

namespace loyalty::ledger {

struct ReportLine {
  std::string store_id;     // "" on the total line
  std::string terminal_id;  // "" on store subtotal and total lines
  std::int64_t entries = 0;
  std::int64_t acknowledged_through = 0;
  std::int64_t issued = 0;
  std::int64_t redeemed = 0;
  std::int64_t expired = 0;
  std::int64_t liability_points = 0;
  std::optional<std::int64_t> liability_minor;
  std::int64_t conflicts = 0;
  std::int64_t mismatches = 0;
  std::int64_t held = 0;
};

struct Report {
  std::string currency;  // of the newest published rulebook; "" when none
  int exponent = 2;
  std::vector<ReportLine> terminals;  // by store, then terminal
  std::vector<ReportLine> stores;
  ReportLine total;
  std::vector<std::int64_t> missing_rulebooks;  // cited by entries, not published here
};

Report build_report(LedgerStore& store);

std::string report_table(const Report& report);
std::string report_csv(const Report& report);
// One CSV field as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break,
// quotes doubled; text a spreadsheet would run as a formula (starting with = + - @, a tab or a
// carriage return) quoted behind an apostrophe, so that it shows as the text it is.
std::string csv_field(std::string_view text);
runtime::OrderedJson report_json(const Report& report);

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_REPORT_HPP_
