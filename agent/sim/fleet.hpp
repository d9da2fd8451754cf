// The fleet simulator: many terminals uploading to the ledger at once, each with its own key,
// certificate and journal, through the agent's own uplink over mutual TLS: the ledger
// service's load test, and Black Friday's catch-up as a demo.
//
// prepare_fleet makes, in a directory, each terminal's key, certificate signing request and a
// source journal of realistic sales: baskets from the lane simulator's shop, priced and
// journaled by the agent's checkout against a rulebook, so that each entry's payload is what
// an agent keeps (the request, the answer with its per-line VAT split, the refund terms), and
// signed. The chain's CA then issues the certificates and enrolls the terminals
// (`loyalty-ledger pki issue --csr-dir`), and the ledger imports the members (members.jsonl).
//
// run_fleet starts every terminal's uplink against the ledger and journals the terminal's
// sales into a live journal from its source: all at once (the backlog after an outage), or at
// a steady rate per terminal (the peak hour). It measures entries acknowledged per second, the
// latency from an entry's journaling to the ledger's acknowledgement of it, each batch's round
// trip, and the online authorizations it asks for meanwhile.
//
// Directory: fleet.json (what was prepared), member.secret, members.jsonl, keys/ID.key,
// csr/ID.csr, certs/ID.crt (issued by the CA), source/ID.db, and what a run makes: live/ID.db,
// members.db (the member cache the fleet's terminals share) and uplink.log.

#ifndef LOYALTY_AGENT_SIM_FLEET_HPP_
#define LOYALTY_AGENT_SIM_FLEET_HPP_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sync/uplink.hpp"

namespace loyalty::sim {

struct FleetPlan {
  std::filesystem::path dir;
  std::int64_t terminals = 100;
  std::int64_t entries = 100;  // sales per terminal
  std::int64_t members = 10'000;
  std::int64_t terminals_per_store = 10;
  std::uint64_t seed = 1;
  std::filesystem::path rulebook;  // the rulebook JSON the checkout prices with
};

// The terminal ids of a plan: fleet-0001, fleet-0002, ... (store fleet-s001 for the first
// terminals_per_store of them, and so on).
std::string fleet_terminal_id(std::int64_t index);
std::string fleet_store_id(std::int64_t index, std::int64_t terminals_per_store);

struct FleetPrepared {
  std::int64_t terminals = 0;
  std::int64_t entries = 0;
  std::int64_t payload_bytes = 0;  // of every entry's payload
  std::int64_t journal_bytes = 0;  // of the source journal files
  double seconds = 0;
  nlohmann::json to_json() const;
};

// Writes the plan's directory; a directory prepared before is refused (its keys would change
// under enrolled terminals). `progress`, when set, gets a line every 100 terminals.
FleetPrepared prepare_fleet(const FleetPlan& plan, std::ostream* progress);

struct FleetRun {
  std::filesystem::path dir;  // prepared
  std::vector<sync::LedgerAddress> ledgers;
  std::string server_name;   // checked against the ledger's certificate; default: the host
  std::filesystem::path ca;  // the chain's CA certificate
  double rate = 0;           // sales per terminal per second; 0: every sale journaled at the start
  std::size_t batch_entries = 500;
  double authorizations_per_s = 20;  // online authorizations asked over the whole fleet
  // Whether the terminals pull the member feed and the rulebook (after their first batches,
  // then every pull_every), as agents do, or only upload.
  bool pull = true;
  std::chrono::seconds pull_every{60};
  std::chrono::seconds timeout{600};  // gives up on what is not acknowledged by then
  std::uint64_t seed = 1;
  // The instances' admin listeners (plain HTTP, loopback): their answer times by route are
  // read from /metrics before and after the run.
  std::vector<sync::LedgerAddress> admins;
};

// What the ledger's request duration histograms counted during a run, for one route: how many
// requests, and the bucket bound (ms) under which the p50 and the p99 of them were answered.
struct LedgerTimes {
  std::int64_t count = 0;
  double p50_at_most_ms = 0;
  double p99_at_most_ms = 0;
};

struct FleetReport {
  std::int64_t terminals = 0;
  std::int64_t entries = 0;       // journaled
  std::int64_t acknowledged = 0;  // of them, acknowledged by the ledger
  double seconds = 0;             // from the first entry journaled to the last acknowledged
  std::int64_t batches = 0;
  std::int64_t failures = 0;     // uplink rounds that failed (and were retried)
  std::int64_t busy = 0;         // uploads the ledger asked to send again (503 ledger_busy)
  std::vector<double> ack_ms;    // per entry, journaled -> acknowledged
  std::vector<double> batch_ms;  // per batch, sent -> acknowledgement
  std::vector<double> authorize_ms;
  std::int64_t authorizations = 0;
  std::int64_t approved = 0;
  std::int64_t authorize_fallbacks = 0;             // no answer in the uplink's deadline
  std::vector<std::string> problems;                // terminals left with entries unacknowledged, and why
  std::map<std::string, LedgerTimes> ledger_times;  // by route, when the admin listeners were given

  double entries_per_s() const { return seconds > 0 ? static_cast<double>(acknowledged) / seconds : 0; }
  nlohmann::json to_json() const;
  nlohmann::json ledger_json() const;
  void print(std::ostream& out) const;
};

// Runs the fleet until every entry is acknowledged or the timeout passes. Raises the
// process's open-file limit to what it may (each terminal keeps two journals and two
// connections open).
FleetReport run_fleet(const FleetRun& run);

}  // namespace loyalty::sim

#endif  // LOYALTY_AGENT_SIM_FLEET_HPP_
