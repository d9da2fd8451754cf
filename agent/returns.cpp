// Voids and refunds: the entries that reverse a sale, in whole or in part.
//
// Both name the sale by its receipt id and carry their own receipt id, the POS's id for the
// void or the return receipt, which is their idempotency key like a sale's. Everything a
// return needs comes from the sale's journal entry: its quote (the sold lines with their
// discount, VAT and points) and the refund terms of the rulebook it was made under. A sale
// can therefore be returned after newer rulebooks have replaced its own, for as long as this
// terminal keeps its entry.

#include <optional>

#include "agent/checkout.hpp"
#include "domain/refund.hpp"
#include "sync/quote_json.hpp"
#include "sync/rulebook_json.hpp"

namespace loyalty::agent {
namespace {

using runtime::Json;
using runtime::OrderedJson;

// Returns and voids are looked for among the member's entries after the sale, at most this
// many of them.
constexpr std::size_t kMaxLaterEntries = 100'000;

std::string points_text(std::int64_t points) { return std::to_string(points) + " points"; }

// What a void or a return gives back to the member: the points redeemed that come back and the
// points earned that go (net of any shortfall kept back in money).
struct Reversal {
  std::int64_t returned = 0;
  std::int64_t clawed_back = 0;
  std::int64_t balance_change() const { return returned - clawed_back; }
  // The member's balance after, from the balance before (when the member is known).
  std::optional<std::int64_t> balance_after(std::optional<std::int64_t> before) const {
    if (!before) return std::nullopt;
    return *before + balance_change();
  }
};

// The fields every void and refund answer starts with; `balance` is the member's balance before.
OrderedJson reversal_answer(const std::string& receipt_id, const std::string& sale_id, const std::string& terminal_id,
                            const Reversal& reversal, std::optional<std::int64_t> balance) {
  OrderedJson answer;
  answer["receipt_id"] = receipt_id;
  answer["sale_receipt_id"] = sale_id;
  answer["entry"] = {{"terminal_id", terminal_id}, {"seq", 0}};
  answer["already_journaled"] = false;
  OrderedJson points;
  points["returned"] = reversal.returned;
  points["clawed_back"] = reversal.clawed_back;
  points["balance_change"] = reversal.balance_change();
  if (const auto after = reversal.balance_after(balance)) points["balance_after"] = *after;
  answer["points"] = std::move(points);
  return answer;
}

// The slip of a void or a return: its title, the points that came back and went (before any
// shortfall, which `note` explains), and the balance after when the member is known.
std::string reversal_slip(const std::string& title, std::int64_t given_back, std::int64_t taken_back,
                          const std::string& note, std::optional<std::int64_t> balance_after) {
  std::string slip = title + "\n";
  if (given_back > 0) slip += "Points given back: " + points_text(given_back) + "\n";
  if (taken_back > 0) slip += "Points taken back: " + points_text(taken_back) + "\n";
  if (!note.empty()) slip += note + "\n";
  if (balance_after) slip += "Balance: " + points_text(*balance_after) + "\n";
  return slip;
}

// The entry that reverses `reversal` of the sale `sold`, under the sale's member and rulebook.
storage::EntryDraft reversal_draft(storage::EntryKind kind, const std::string& receipt_id,
                                   const storage::EntryDraft& sold, const Reversal& reversal, std::int64_t now_ms) {
  storage::EntryDraft draft;
  draft.kind = kind;
  draft.receipt_id = receipt_id;
  draft.member_id = sold.member_id;
  draft.recorded_at_ms = now_ms;
  draft.rulebook_version = sold.rulebook_version;
  draft.points_earned = -reversal.clawed_back;
  draft.points_redeemed = -reversal.returned;
  return draft;
}

}  // namespace

struct Checkout::Sale {
  storage::JournalEntry entry;
  Json payload;                              // {"request", "answer", "refund_terms"}
  std::vector<std::int64_t> returned;        // milli-units returned so far, per sold line
  std::optional<std::int64_t> refunded_seq;  // the first return's entry
  std::optional<std::int64_t> voided_seq;
};

Checkout::Sale Checkout::find_sale(const std::string& receipt_id) {
  auto entry = journal_.find_receipt(receipt_id);
  if (!entry) {
    throw Refused(
        Refusal::sale_unknown,
        "receipt " + receipt_id + " is not in this terminal's journal: it was sold at another lane or too long ago");
  }
  if (entry->draft.kind != storage::EntryKind::sale) {
    throw Refused(Refusal::not_a_sale, "receipt " + receipt_id + " is a " +
                                           std::string(storage::to_string(entry->draft.kind)) + ", not a sale");
  }
  if (entry->draft.member_id.empty()) {
    throw Refused(Refusal::sale_without_member,
                  "receipt " + receipt_id + " had no loyalty member: there are no points to give back");
  }
  Json payload = Json::parse(entry->draft.payload);
  Sale sale{std::move(*entry), std::move(payload), {}, std::nullopt, std::nullopt};
  const std::size_t lines = sale.payload.at("answer").at("quote").at("lines").size();
  sale.returned.assign(lines, 0);
  for (const storage::JournalEntry& later :
       journal_.member_entries(sale.entry.draft.member_id, sale.entry.seq, kMaxLaterEntries)) {
    const storage::EntryKind kind = later.draft.kind;
    if (kind != storage::EntryKind::refund && kind != storage::EntryKind::void_sale) continue;
    const Json cited = Json::parse(later.draft.payload);
    if (cited.at("request").at("sale_receipt_id") != receipt_id) continue;
    if (kind == storage::EntryKind::void_sale) {
      sale.voided_seq = later.seq;
      continue;
    }
    if (!sale.refunded_seq) sale.refunded_seq = later.seq;
    for (const Json& line : cited.at("answer").at("refund").at("lines")) {
      sale.returned.at(line.at("line").get<std::size_t>()) += line.at("qty_milli").get<std::int64_t>();
    }
  }
  if (sale.voided_seq) {
    throw Refused(Refusal::sale_voided, "receipt " + receipt_id + " was voided (entry " +
                                            std::to_string(*sale.voided_seq) + "): there is nothing left to reverse");
  }
  return sale;
}

OrderedJson Checkout::void_sale(const Json& request) {
  runtime::Reader reader(request, "void");
  const std::string receipt_id = reader.string("receipt_id", storage::kMaxReceiptIdBytes);
  const std::string sale_id = reader.string("sale_receipt_id", storage::kMaxReceiptIdBytes);
  const std::string reason = reader.string_or("reason", "", 200);
  reader.finish();
  if (auto again = answer_again(receipt_id, request)) return *again;

  const Sale sale = find_sale(sale_id);
  if (sale.refunded_seq) {
    throw Refused(Refusal::sale_refunded, "receipt " + sale_id + " already has a return (entry " +
                                              std::to_string(*sale.refunded_seq) +
                                              "): return the remaining lines instead of voiding");
  }
  const storage::EntryDraft& sold = sale.entry.draft;
  const Reversal reversal{sold.points_redeemed, sold.points_earned};
  const auto balance = local_balance(sold.member_id);
  OrderedJson answer = reversal_answer(receipt_id, sale_id, journal_.terminal_id(), reversal, balance);
  answer["slip"] = reversal_slip("Loyalty: receipt " + sale_id + " voided", reversal.returned, reversal.clawed_back, "",
                                 reversal.balance_after(balance));
  answer = journal(reversal_draft(storage::EntryKind::void_sale, receipt_id, sold, reversal, clock_()), request,
                   std::move(answer));
  ++counters_.voids;
  return answer;
}

OrderedJson Checkout::refund(const Json& request) {
  runtime::Reader reader(request, "refund");
  const std::string receipt_id = reader.string("receipt_id", storage::kMaxReceiptIdBytes);
  const std::string sale_id = reader.string("sale_receipt_id", storage::kMaxReceiptIdBytes);
  const std::vector<domain::ReturnedQuantity> lines = sync::returned_lines_from_json(reader, "lines");
  reader.finish();
  if (auto again = answer_again(receipt_id, request)) return *again;

  const Sale sale = find_sale(sale_id);
  const storage::EntryDraft& sold = sale.entry.draft;
  sync::SaleDocument sold_lines;
  sync::RefundTerms terms;
  try {
    sold_lines = sync::sale_from_json(sale.payload.at("answer").at("quote"));
    terms = sync::refund_terms_from_json(sale.payload.at("refund_terms"));
  } catch (const std::exception& error) {
    throw Refused(Refusal::sale_unreadable,
                  "receipt " + sale_id + " was journaled without what a return needs: " + error.what());
  }
  const auto balance = local_balance(sold.member_id);
  domain::Refund refund;
  try {
    refund = domain::refund(terms.rules, terms.point_value, sold_lines.lines, sale.returned, lines, balance);
  } catch (const domain::InvalidInput& error) {
    throw Refused(Refusal::return_invalid, std::string("cannot return this: ") + error.what());
  }

  const Reversal reversal{refund.points_returned, refund.points_clawed_back - refund.shortfall_points};
  OrderedJson answer = reversal_answer(receipt_id, sale_id, journal_.terminal_id(), reversal, balance);
  answer["refund"] = sync::refund_to_json(refund);
  OrderedJson remaining = OrderedJson::array();
  for (std::size_t i = 0; i < sold_lines.lines.size(); ++i) {
    remaining.push_back(sold_lines.lines[i].qty_milli - refund.returned_after[i]);
  }
  answer["remaining_qty_milli"] = remaining;
  const std::string shortfall =
      refund.shortfall_points > 0
          ? "Kept from the refund for " + points_text(refund.shortfall_points) + " no longer held"
          : "";
  answer["slip"] = reversal_slip("Loyalty: return to receipt " + sale_id, refund.points_returned,
                                 refund.points_clawed_back, shortfall, reversal.balance_after(balance));

  answer = journal(reversal_draft(storage::EntryKind::refund, receipt_id, sold, reversal, clock_()), request,
                   std::move(answer));
  ++counters_.refunds;
  return answer;
}

}  // namespace loyalty::agent
