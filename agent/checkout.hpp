// The cashier's flow on one terminal, independent of HTTP: identify a member, quote a basket,
// commit it to the journal. Requests and answers are JSON documents (docs/pos-api.md); every
// refusal is a Refused with a stable code and a message a cashier screen can show. Which HTTP
// status a refusal gets is the POS API's business (agent/pos_api.cpp), not the checkout's.
//
// Offline policy (docs/design.md, "Offline"): a redemption the ledger did not authorize online
// (no link, or no answer within the deadline) is held to the rulebook's offline limits. The outage is counted from the
// ledger's last acknowledgement: the points redeemed in pending entries count against the
// member's and the terminal's limits. The answer names the limit that bound.

#ifndef LOYALTY_AGENT_CHECKOUT_HPP_
#define LOYALTY_AGENT_CHECKOUT_HPP_

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "domain/rulebook.hpp"
#include "drivers/scanned_code.hpp"
#include "runtime/clock.hpp"
#include "runtime/json_reader.hpp"
#include "storage/journal.hpp"
#include "storage/member_cache.hpp"
#include "sync/authorization.hpp"
#include "sync/basket_json.hpp"

namespace loyalty::agent {

// Why the checkout refused a request; refusal_code() is its stable name, the `code` of the
// POS API's error answer (docs/pos-api.md, Errors).
enum class Refusal {
  identifier_required,  // identify without exactly one identifier
  member_unknown,       // no member with this identifier, or not cached here
  sale_unknown,         // a void or return of a receipt this terminal never journaled
  receipt_conflict,     // a receipt id journaled before with another request
  sale_voided,          // a return or void of a sale already voided
  sale_refunded,        // a void of a sale with returns, or more returned than sold
  no_rulebook,          // the terminal has no rulebook yet
  code_not_loyalty,     // a scanned product barcode
  code_damaged,         // a check digit or format that does not hold
  code_refused,         // a card of a range not ours, an expired or forged app code
  code_unknown,         // nothing a scanner of ours reads
  card_invalid,         // a typed card number that cannot be one
  phone_invalid,        // a typed phone number that cannot be one
  basket_invalid,       // a basket the rule engine cannot quote
  entry_invalid,        // a sale the journal would not keep
  not_a_sale,           // a void or return citing a receipt that is no sale
  sale_without_member,  // a return of points of a sale that had no member
  sale_unreadable,      // a journaled sale whose payload this release cannot read
  return_invalid,       // a return the refund terms do not allow
};

std::string_view refusal_code(Refusal refusal);

class Refused : public std::runtime_error {
 public:
  Refused(Refusal refusal, const std::string& message) : std::runtime_error(message), refusal_(refusal) {}
  Refusal refusal() const { return refusal_; }
  std::string_view code() const { return refusal_code(refusal_); }

 private:
  Refusal refusal_;
};

struct CheckoutCounters {
  std::int64_t identified = 0;
  std::int64_t unknown_members = 0;
  std::int64_t quotes = 0;
  std::int64_t commits = 0;
  std::int64_t voids = 0;
  std::int64_t refunds = 0;
  std::int64_t retries = 0;                // commits, voids and refunds answered from the journal
  std::int64_t refused = 0;                // 4xx answers
  std::int64_t basket_times_replaced = 0;  // baskets whose "at" was too far from the terminal's clock
};

// A quote or commit request, read once and strictly: the basket and the member it names.
// `document` is the request as the POS sent it: a retried commit is compared by it, and the
// journal keeps it.
struct SaleRequest {
  runtime::Json document;
  sync::BasketDocument basket;
  std::optional<std::string> member_id;
};

enum class SaleCall { quote, commit };

// Reads {"basket": ..., "member_id"?: ...}; a commit's basket must have its receipt_id (the
// idempotency key). Throws runtime::JsonError naming the path ("commit.basket.lines[2].qty").
SaleRequest read_sale_request(runtime::Json document, SaleCall call);

// A commit that would redeem points for a known member: what to ask the ledger for.
struct RedemptionAsk {
  std::string member_id;
  std::string receipt_id;
  std::int64_t points = 0;
};

// A basket's "at" further than this from the terminal's clock is not believed (a POS with a
// wrong clock would otherwise price sales into past or future campaigns).
inline constexpr std::int64_t kDefaultClockToleranceS = 300;

class Checkout {
 public:
  // `journal`, `members` and `hasher` must outlive the Checkout.
  Checkout(storage::Journal& journal, storage::MemberCache& members, const storage::IdentifierHasher& hasher,
           std::string phone_country_code, runtime::Clock clock);

  // Replaces the rulebook quotes and commits use (at start and on reload).
  void set_rulebook(domain::Rulebook rules);
  const domain::Rulebook* rulebook() const { return rules_ ? &*rules_ : nullptr; }

  // Card ranges and token issuers for scanned and typed codes (at start and on reload).
  void set_code_rules(drivers::CodeRules rules) { codes_ = std::move(rules); }
  // How far a basket's "at" may be from the terminal's clock before the terminal's is used.
  void set_clock_tolerance(std::int64_t seconds) { clock_tolerance_s_ = seconds; }

  // Finds the member behind exactly one of: "code" (as a scanner read it), "card" (typed),
  // "phone" (typed), "app_id".
  runtime::OrderedJson identify(const runtime::Json& request);
  // `online`: the ledger can be asked at commit, so the offline limits do not bound the quote.
  runtime::OrderedJson quote(const SaleRequest& request, bool online = false);
  // Journals the sale durably and then answers; a retried receipt id answers from the journal.
  // `online` is the ledger's answer to redemption_ask(), when it came in time; without it the
  // offline limits apply.
  runtime::OrderedJson commit(const SaleRequest& request,
                              const std::optional<sync::OnlineAuthorization>& online = std::nullopt);
  // What a commit request would ask the ledger to hold, or nothing when it redeems no points,
  // names no member, or is a retry of a journaled receipt.
  std::optional<RedemptionAsk> redemption_ask(const SaleRequest& request);
  // Reverses a whole sale: the points it redeemed come back, the points it earned go.
  runtime::OrderedJson void_sale(const runtime::Json& request);
  // Returns lines of an earlier sale, in whole or in part, by the refund terms the sale
  // recorded (docs/redemption.md, section 4).
  runtime::OrderedJson refund(const runtime::Json& request);

  const CheckoutCounters& counters() const { return counters_; }
  void count_refusal() { ++counters_.refused; }

 private:
  struct Priced;
  struct Sale;
  // Online: `online` bounds the redemption (the points the ledger holds, or none asked yet
  // for a quote); offline (nullptr): the rulebook's offline limits do.
  Priced price(const SaleRequest& request, SaleCall call, const sync::OnlineAuthorization* online);
  const domain::Rulebook& rules() const;
  // The stored answer when `receipt_id` was journaled before with this same request; throws
  // receipt_conflict when it was journaled with another.
  std::optional<runtime::OrderedJson> answer_again(const std::string& receipt_id, const runtime::Json& request);
  // Appends `draft` with the payload {"request", "answer", extra...} and puts the entry's
  // sequence into the answer.
  runtime::OrderedJson journal(storage::EntryDraft draft, const runtime::Json& request, runtime::OrderedJson answer,
                               runtime::OrderedJson payload = runtime::OrderedJson::object());
  // The sale a void or refund names, with the returns and void that cite it.
  Sale find_sale(const std::string& receipt_id);
  // The member's balance as this terminal sees it, if the member is cached.
  std::optional<std::int64_t> local_balance(const std::string& member_id);

  storage::Journal& journal_;
  storage::MemberCache& members_;
  const storage::IdentifierHasher& hasher_;
  std::string phone_country_code_;
  runtime::Clock clock_;
  std::optional<domain::Rulebook> rules_;
  drivers::CodeRules codes_;
  std::int64_t clock_tolerance_s_ = kDefaultClockToleranceS;
  CheckoutCounters counters_;
};

}  // namespace loyalty::agent

#endif  // LOYALTY_AGENT_CHECKOUT_HPP_
