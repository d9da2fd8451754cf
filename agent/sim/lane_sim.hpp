// The lane simulator: cashiers working one or many lanes through the POS API, as a POS would.
// Each receipt presents a member (a card scanned at the lane's TCP scanner, a code read by the
// POS's own scanner, a typed card number or a phone number) or none, prices a basket from the
// shop (agent/sim/shop.hpp), sometimes redeems points, quotes and commits it, and now and then
// retries a commit, voids a sale whose payment failed, or takes back part of an earlier sale.
//
// It also checks what it is told: a commit must carry the quote's points, a retried commit
// must answer from the journal with the same entry, a deliberate mistake (a mistyped card, a
// product barcode at the loyalty prompt) must be refused with the right code. Anything else is
// a problem; run() reports them and the latencies of every call.

#ifndef LOYALTY_AGENT_SIM_LANE_SIM_HPP_
#define LOYALTY_AGENT_SIM_LANE_SIM_HPP_

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/sim/pos_client.hpp"

namespace loyalty::sim {

struct SimSettings {
  Endpoint agent;
  std::string token;                // the POS API bearer token, if the agent wants one
  std::optional<Endpoint> scanner;  // the agent's TCP scanner, used by lane 1
  int lanes = 1;                    // concurrent lanes, each on its own connection
  std::int64_t receipts = 20;       // per lane
  std::int64_t members = 1000;      // synthetic members 0..members-1 (shop.hpp) the agent knows
  std::uint64_t seed = 1;
  std::string receipt_prefix = "SIM";  // receipt ids are PREFIX-L<lane>-<n>
  std::string at;                      // the sales' time (RFC 3339); empty: now
  std::ostream* narrate = nullptr;     // one line per receipt, when set
};

struct SimReport {
  std::int64_t receipts = 0;
  std::int64_t member_sales = 0;
  std::int64_t anonymous_sales = 0;
  std::int64_t scans = 0;
  std::int64_t lines = 0;
  std::int64_t weighed_lines = 0;
  std::int64_t excluded_lines = 0;
  std::int64_t redemptions = 0;
  std::int64_t points_requested = 0;
  std::int64_t points_redeemed = 0;
  std::int64_t points_earned = 0;
  std::int64_t sales_money = 0;  // payable, kopecks
  std::int64_t retries = 0;      // commits sent twice, answered from the journal
  std::int64_t voids = 0;
  std::int64_t refunds = 0;
  std::int64_t points_returned = 0;
  std::int64_t points_clawed_back = 0;
  std::int64_t money_refunded = 0;
  std::int64_t expected_refusals = 0;                     // deliberate mistakes refused as they should be
  std::int64_t rate_limited = 0;                          // 429s waited out and sent again
  std::map<std::string, std::int64_t> binding;            // offline limit that cut a redemption -> count
  std::vector<std::string> problems;                      // anything the agent got wrong
  std::map<std::string, std::vector<double>> latency_us;  // endpoint -> every call
  std::vector<double> sale_us;                            // identify + quote + commit of a member sale
  std::chrono::nanoseconds elapsed{};

  nlohmann::json to_json() const;
  void print(std::ostream& out) const;
};

// Runs every lane to the end on `io` (which the caller runs) and fills `report`.
Task<void> run_lanes(const SimSettings& settings, SimReport& report);

// The p-th percentile (0..100) of `values` by nearest rank; 0 for none.
double percentile(std::vector<double> values, double p);

// "1234.56" for 123456 kopecks.
std::string money_text(std::int64_t minor);

}  // namespace loyalty::sim

#endif  // LOYALTY_AGENT_SIM_LANE_SIM_HPP_
