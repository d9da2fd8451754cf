#include "ledger/audit.hpp"

#include <map>
#include <optional>
#include <set>

#include "domain/quote.hpp"
#include "sync/basket_json.hpp"
#include "sync/datetime.hpp"
#include "sync/rulebook_json.hpp"

namespace loyalty::ledger {
namespace {

constexpr std::size_t kAuditRun = 1000;

std::string cannot_price(std::string_view why) { return "the sale cannot be priced again: " + std::string(why); }

// A published rulebook as the audit uses it: parsed once per version, or why it cannot be.
struct AuditRules {
  std::optional<domain::Rulebook> rules;
  std::string error;
};

AuditRules parse_rules(const std::string& document) {
  try {
    return {sync::rulebook_from_json(runtime::parse_json(document, "rulebook")), ""};
  } catch (const std::exception& error) {
    return {std::nullopt, error.what()};
  }
}

}  // namespace

std::string clock_problem(std::int64_t recorded_at_ms, std::optional<std::int64_t> previous_at_ms,
                          std::int64_t last_upload_ms) {
  const auto shown = [](std::int64_t ms) { return sync::format_rfc3339_utc(ms / 1000); };
  const auto span = [](std::int64_t ms) {
    const std::int64_t minutes = ms / 60'000;
    return minutes >= 2 * 24 * 60 ? std::to_string(minutes / (24 * 60)) + " days"
           : minutes >= 120       ? std::to_string(minutes / 60) + " hours"
                                  : std::to_string(minutes) + " minutes";
  };
  if (recorded_at_ms > last_upload_ms + kClockToleranceMs) {
    return "clock: recorded at " + shown(recorded_at_ms) + ", " + span(recorded_at_ms - last_upload_ms) +
           " after the ledger last received this terminal's entries (" + shown(last_upload_ms) + ")";
  }
  if (previous_at_ms && recorded_at_ms < *previous_at_ms - kClockToleranceMs) {
    return "clock: recorded at " + shown(recorded_at_ms) + ", " + span(*previous_at_ms - recorded_at_ms) +
           " before the entry journaled before it (" + shown(*previous_at_ms) + ")";
  }
  return "";
}

std::string audit_sale(const storage::JournalEntry& entry, const domain::Rulebook& rules) {
  const storage::EntryDraft& d = entry.draft;
  try {
    const runtime::Json payload = runtime::parse_json(d.payload, "payload");
    if (!payload.is_object() || !payload.contains("request") || !payload["request"].contains("basket")) {
      return "the payload holds no basket to price again";
    }
    sync::BasketDocument basket = sync::basket_from_json(payload["request"]["basket"]);
    sync::check_basket_against(basket, rules);
    basket.basket.at = d.recorded_at_ms / 1000;  // the time it was priced at (the POS's, if believed)
    basket.basket.redeem = d.points_redeemed;    // what the limits of the day allowed
    std::optional<domain::Member> member;
    if (!d.member_id.empty()) {
      member = domain::Member{d.member_id, "", d.points_redeemed, domain::MemberStatus::active};
      if (payload.contains("member") && payload["member"].is_object()) {
        const runtime::Json& m = payload["member"];
        member->tier = m.value("tier", "");
        member->balance = std::max<std::int64_t>(m.value("balance", std::int64_t{0}), d.points_redeemed);
        if (m.value("status", "") == domain::status_name(domain::MemberStatus::blocked)) {
          member->status = domain::MemberStatus::blocked;
        }
      }
    }
    const domain::Quote again = domain::quote(rules, basket.basket, member ? &*member : nullptr);
    std::string problem;
    if (again.redeemed != d.points_redeemed) {
      problem += "redeemed " + std::to_string(d.points_redeemed) + ", priced again " + std::to_string(again.redeemed);
    }
    // A journal written before sales without a member earned 0 records what they would earn.
    const bool earned_agrees =
        again.earned == d.points_earned || (d.member_id.empty() && again.would_earn == d.points_earned);
    if (!earned_agrees) {
      problem += (problem.empty() ? "" : "; ") + std::string("earned ") + std::to_string(d.points_earned) +
                 ", priced again " + std::to_string(again.earned);
    }
    return problem;
  } catch (const std::exception& error) {
    return cannot_price(error.what());
  }
}

AuditSummary audit(LedgerStore& store) {
  AuditSummary summary;
  std::map<std::int64_t, std::optional<AuditRules>> parsed;  // by version; nullopt: not published
  const auto rules_of = [&](std::int64_t version) -> const std::optional<AuditRules>& {
    auto found = parsed.find(version);
    if (found == parsed.end()) {
      const auto published = store.rulebook(version);
      found = parsed.emplace(version, published ? std::optional(parse_rules(published->document)) : std::nullopt).first;
    }
    return found->second;
  };
  std::set<std::int64_t> waiting;
  for (Terminal terminal : store.terminals()) {
    bool stopped = false;
    // The time of the entry before the next one audited: a clock that went back shows there.
    std::optional<std::int64_t> previous_at;
    if (terminal.audited_through > 0 && terminal.audited_through < terminal.head_seq) {
      const auto before = store.entries(terminal.terminal_id, terminal.audited_through, 1);
      if (!before.empty()) previous_at = before.front().entry.draft.recorded_at_ms;
    }
    while (!stopped && terminal.audited_through < terminal.head_seq) {
      const auto run = store.entries(terminal.terminal_id, terminal.audited_through + 1, kAuditRun);
      if (run.empty()) break;
      // From the same state again when the store runs the transaction again.
      const AuditSummary summary_before = summary;
      const std::set<std::int64_t> waiting_before = waiting;
      const std::int64_t audited_before = terminal.audited_through;
      const std::optional<std::int64_t> previous_before = previous_at;
      store.transaction([&] {
        summary = summary_before;
        waiting = waiting_before;
        terminal.audited_through = audited_before;
        previous_at = previous_before;
        stopped = false;
        for (const sync::WireEntry& wire : run) {
          const storage::JournalEntry& entry = wire.entry;
          if (entry.draft.kind != storage::EntryKind::sale) {
            ++summary.skipped;
          } else {
            const auto& rulebook = rules_of(entry.draft.rulebook_version);
            if (!rulebook) {
              waiting.insert(entry.draft.rulebook_version);
              stopped = true;
              break;
            }
            ++summary.sales;
            std::string problem = rulebook->rules ? audit_sale(entry, *rulebook->rules) : cannot_price(rulebook->error);
            const std::string clock = clock_problem(entry.draft.recorded_at_ms, previous_at, terminal.last_upload_ms);
            if (!clock.empty()) {
              ++summary.clock_problems;
              problem += (problem.empty() ? "" : "; ") + clock;
            }
            if (!problem.empty()) {
              ++summary.mismatches;
              store.add_mismatch({entry.terminal_id, entry.seq, entry.draft.receipt_id, entry.draft.rulebook_version,
                                  std::move(problem)});
            }
          }
          terminal.audited_through = entry.seq;
          previous_at = entry.draft.recorded_at_ms;
        }
        // Re-read: an upload may have moved the head meanwhile; only the audit mark changes.
        auto current = store.lock_terminal(terminal.terminal_id);
        current->audited_through = terminal.audited_through;
        store.save_terminal(*current);
      });
    }
  }
  summary.waiting_for_rulebooks.assign(waiting.begin(), waiting.end());
  return summary;
}

}  // namespace loyalty::ledger
