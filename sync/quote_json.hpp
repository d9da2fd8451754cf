// The JSON forms of quotes and refunds (docs/quote.md).
#ifndef LOYALTY_SYNC_QUOTE_JSON_HPP_
#define LOYALTY_SYNC_QUOTE_JSON_HPP_

#include <optional>
#include <string>
#include <vector>

#include "domain/quote.hpp"
#include "domain/refund.hpp"
#include "runtime/json_reader.hpp"

namespace loyalty::sync {

// The quote as the POS and the journal see it: per line, per VAT rate, limits, points and
// totals, every amount in integer minor units (docs/quote.md).
runtime::OrderedJson quote_to_json(const domain::Rulebook& rules, const domain::Basket& basket,
                                   const domain::Quote& quote);

// A sale as a refund needs it, read back from a quote document.
struct SaleDocument {
  std::string currency;
  std::string receipt_id;
  std::vector<domain::SoldLine> lines;
};
// Reads the fields of a quote document that refunds use and checks that they agree with
// each other. Fields it does not use are ignored. Throws JsonError under "sale".
SaleDocument sale_from_json(const runtime::Json& document);

// A return: steps of (line, quantity), applied in order; the member's balance, if known.
struct ReturnDocument {
  std::vector<std::vector<domain::ReturnedQuantity>> steps;
  std::optional<domain::Points> member_balance;
};
// Reads the array `key` of `in`: the lines of one return step, each {"line", "qty"} for counted
// goods or {"line", "qty_milli"} for weighed goods. Throws JsonError.
std::vector<domain::ReturnedQuantity> returned_lines_from_json(runtime::Reader& in, std::string_view key);

// Reads a return document; line indexes and quantities are checked against `sale` when the
// steps are applied. Throws JsonError under "return".
ReturnDocument return_from_json(const runtime::Json& document);

runtime::OrderedJson refund_to_json(const domain::Refund& refund);

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_QUOTE_JSON_HPP_
