#include "agent/checkout.hpp"

#include <algorithm>

#include "domain/money.hpp"
#include "domain/quote.hpp"
#include "drivers/codes.hpp"
#include "storage/local_balance.hpp"
#include "sync/basket_json.hpp"
#include "sync/datetime.hpp"
#include "sync/quote_json.hpp"
#include "sync/rulebook_json.hpp"

namespace loyalty::agent {
namespace {

using runtime::Json;
using runtime::OrderedJson;

OrderedJson member_json(const storage::MemberView& view) {
  OrderedJson m;
  m["id"] = view.member.member_id;
  m["tier"] = view.member.tier;
  m["status"] = domain::status_name(view.member.status);
  m["balance"] = view.local_balance;
  m["synced_balance"] = view.member.balance;
  m["unsynced_points"] = view.unsettled_points;
  return m;
}

// The domain's quote for the basket and member; a basket the domain refuses is unprocessable.
domain::Quote quote_basket(const domain::Rulebook& rulebook, const domain::Basket& basket,
                           const std::optional<storage::MemberView>& view) {
  std::optional<domain::Member> member;
  if (view) {
    member = domain::Member{view->member.member_id, view->member.tier, view->local_balance, view->member.status};
  }
  try {
    return domain::quote(rulebook, basket, member ? &*member : nullptr);
  } catch (const std::exception& error) {
    throw Refused(Refusal::basket_invalid, std::string("the basket cannot be quoted: ") + error.what());
  }
}

}  // namespace

SaleRequest read_sale_request(Json document, SaleCall call) {
  if (!document.is_object()) throw runtime::JsonError("request", "must be a JSON object");
  SaleRequest request;
  runtime::Reader reader(document, call == SaleCall::commit ? "commit" : "quote");
  const Json* basket = reader.value("basket");
  if (!basket) throw runtime::JsonError(reader.path_of("basket"), "is required");
  request.basket = sync::basket_from_json(*basket);
  if (call == SaleCall::commit && request.basket.basket.receipt_id.empty()) {
    throw runtime::JsonError("basket.receipt_id", "is required to commit: it is the idempotency key");
  }
  if (reader.has("member_id")) request.member_id = reader.string("member_id", storage::kMaxMemberIdBytes);
  reader.finish();
  request.document = std::move(document);  // the reader, which refers to it, is done
  return request;
}

std::string_view refusal_code(Refusal refusal) {
  switch (refusal) {
    case Refusal::identifier_required: return "identifier_required";
    case Refusal::member_unknown: return "member_unknown";
    case Refusal::sale_unknown: return "sale_unknown";
    case Refusal::receipt_conflict: return "receipt_conflict";
    case Refusal::sale_voided: return "sale_voided";
    case Refusal::sale_refunded: return "sale_refunded";
    case Refusal::no_rulebook: return "no_rulebook";
    case Refusal::code_not_loyalty: return "code_not_loyalty";
    case Refusal::code_damaged: return "code_damaged";
    case Refusal::code_refused: return "code_refused";
    case Refusal::code_unknown: return "code_unknown";
    case Refusal::card_invalid: return "card_invalid";
    case Refusal::phone_invalid: return "phone_invalid";
    case Refusal::basket_invalid: return "basket_invalid";
    case Refusal::entry_invalid: return "entry_invalid";
    case Refusal::not_a_sale: return "not_a_sale";
    case Refusal::sale_without_member: return "sale_without_member";
    case Refusal::sale_unreadable: return "sale_unreadable";
    case Refusal::return_invalid: return "return_invalid";
  }
  return "refused";
}

struct Checkout::Priced {
  sync::BasketDocument basket;
  std::optional<storage::MemberView> member;
  domain::Quote quote;
  OrderedJson offline;        // the offline limits, or null when online
  OrderedJson authorization;  // the ledger's answer, or null when offline
  OrderedJson time;           // which time the sale was priced at, and why
};

Checkout::Checkout(storage::Journal& journal, storage::MemberCache& members, const storage::IdentifierHasher& hasher,
                   std::string phone_country_code, runtime::Clock clock)
    : journal_(journal),
      members_(members),
      hasher_(hasher),
      phone_country_code_(std::move(phone_country_code)),
      clock_(std::move(clock)) {}

void Checkout::set_rulebook(domain::Rulebook rules) { rules_ = std::move(rules); }

const domain::Rulebook& Checkout::rules() const {
  if (!rules_) throw Refused(Refusal::no_rulebook, "the terminal has no rulebook yet: loyalty is not available");
  return *rules_;
}

OrderedJson Checkout::identify(const Json& request) {
  runtime::Reader reader(request, "identify");
  const bool code = reader.has("code"), card = reader.has("card"), phone = reader.has("phone"),
             app = reader.has("app_id");
  if (int{code} + int{card} + int{phone} + int{app} != 1) {
    throw Refused(Refusal::identifier_required, "send exactly one of code, card, phone or app_id");
  }
  std::optional<storage::MemberView> view;
  std::string by;
  if (code) {
    const drivers::ScannedCode scanned =
        drivers::classify_code(reader.string("code", drivers::kMaxScanBytes), codes_, clock_() / 1000);
    reader.finish();
    switch (scanned.kind) {
      case drivers::CodeKind::card:
        view = storage::local_view(hasher_.key(storage::IdentifierKind::card, scanned.value), members_, journal_);
        by = "card";
        break;
      case drivers::CodeKind::member_token:
        if (const auto cached = members_.find_member(scanned.value)) {
          view = storage::local_view(*cached, members_, journal_);
        }
        by = "app";
        break;
      case drivers::CodeKind::product:
        throw Refused(Refusal::code_not_loyalty, scanned.problem + ": scan the member's card or app");
      case drivers::CodeKind::damaged: throw Refused(Refusal::code_damaged, scanned.problem);
      case drivers::CodeKind::refused: throw Refused(Refusal::code_refused, scanned.problem);
      case drivers::CodeKind::unknown: throw Refused(Refusal::code_unknown, scanned.problem);
    }
  } else {
    storage::Digest key{};
    if (card) {
      const drivers::CardNumber number = drivers::normalize_card(reader.string("card", 64), codes_.cards);
      if (!number.problem.empty()) throw Refused(Refusal::card_invalid, number.problem);
      key = hasher_.key(storage::IdentifierKind::card, number.digits);
      by = "card";
    } else if (phone) {
      const auto number = drivers::normalize_phone(reader.string("phone", 64), phone_country_code_);
      if (!number) throw Refused(Refusal::phone_invalid, "not a phone number: check the digits");
      key = hasher_.key(storage::IdentifierKind::phone, *number);
      by = "phone";
    } else {
      key = hasher_.key(storage::IdentifierKind::app, reader.string("app_id", 128));
      by = "app";
    }
    reader.finish();
    view = storage::local_view(key, members_, journal_);
  }
  if (!view) {
    ++counters_.unknown_members;
    throw Refused(Refusal::member_unknown, "no member with this " + by + ": ask for another card or go on without");
  }
  ++counters_.identified;
  OrderedJson answer;
  answer["member"] = member_json(*view);
  answer["identified_by"] = by;
  if (view->member.status == domain::MemberStatus::blocked) {
    answer["notice"] = "this card is blocked: points cannot be redeemed";
  }
  return answer;
}

Checkout::Priced Checkout::price(const SaleRequest& request, SaleCall call, const sync::OnlineAuthorization* online) {
  const domain::Rulebook& rulebook = rules();
  const bool for_commit = call == SaleCall::commit;
  Priced priced{request.basket, std::nullopt, {}, nullptr, nullptr, OrderedJson::object()};
  sync::check_basket_against(priced.basket, rulebook);
  domain::Basket& basket = priced.basket.basket;
  const std::int64_t now_s = clock_() / 1000;
  priced.time["source"] = "basket";
  if (!priced.basket.has_time) {
    basket.at = now_s;
    priced.time["source"] = "terminal";
  } else if (basket.at > now_s + clock_tolerance_s_ || basket.at < now_s - clock_tolerance_s_) {
    // The POS's clock is wrong: the sale happens now, whatever it says.
    priced.time["source"] = "terminal";
    priced.time["basket_at"] = sync::format_rfc3339_utc(basket.at);
    priced.time["difference_s"] = basket.at - now_s;
    basket.at = now_s;
    ++counters_.basket_times_replaced;
  }
  if (request.member_id) {
    const auto cached = members_.find_member(*request.member_id);
    if (!cached) {
      throw Refused(Refusal::member_unknown, "member " + *request.member_id + " is not known at this terminal");
    }
    priced.member = storage::local_view(*cached, members_, journal_);
  }

  const domain::Points requested = basket.redeem;
  if (online) {
    // The ledger holds what it approved; a quote has asked nothing yet and is bounded by the
    // member's balance only.
    if (for_commit) basket.redeem = std::min(basket.redeem, online->points);
    priced.quote = quote_basket(rulebook, basket, priced.member);
    priced.quote.requested = requested;
    OrderedJson authorization;
    authorization["online"] = true;
    authorization["outcome"] = for_commit ? online->outcome : "asked_at_commit";
    if (for_commit) {
      authorization["points"] = online->points;
      authorization["available"] = online->available;
    }
    priced.authorization = std::move(authorization);
    return priced;
  }

  // Offline limits: the request is clamped to what is left, and the tightest one is named.
  const domain::OfflineLimits& limits = rulebook.offline;
  const auto used = journal_.pending_redemptions(priced.member ? priced.member->member.member_id : "");
  const domain::Points member_left = std::max<domain::Points>(0, limits.per_member_per_outage - used.member);
  const domain::Points terminal_left = std::max<domain::Points>(0, limits.per_terminal_total - used.terminal);
  std::pair<domain::Points, std::string_view> bound{limits.per_receipt, "offline_per_receipt"};
  if (member_left < bound.first) bound = {member_left, "offline_per_member"};
  if (terminal_left < bound.first) bound = {terminal_left, "offline_per_terminal"};
  basket.redeem = std::min(basket.redeem, bound.first);
  priced.quote = quote_basket(rulebook, basket, priced.member);
  priced.quote.requested = requested;
  OrderedJson offline;
  offline["per_receipt"] = limits.per_receipt;
  offline["member_left"] = member_left;
  offline["terminal_left"] = terminal_left;
  if (requested > bound.first && priced.quote.redeemed == bound.first) {
    offline["binding"] = bound.second;
    offline["message"] = "offline: at most " + std::to_string(bound.first) + " points can be redeemed";
  } else {
    offline["binding"] = nullptr;
  }
  priced.offline = std::move(offline);
  return priced;
}

OrderedJson Checkout::quote(const SaleRequest& request, bool online) {
  const sync::OnlineAuthorization not_asked;
  Priced priced = price(request, SaleCall::quote, online ? &not_asked : nullptr);
  ++counters_.quotes;
  OrderedJson answer = sync::quote_to_json(rules(), priced.basket.basket, priced.quote);
  answer["time"] = std::move(priced.time);
  if (priced.member) answer["member"] = member_json(*priced.member);
  answer["offline"] = std::move(priced.offline);
  if (!priced.authorization.is_null()) answer["authorization"] = std::move(priced.authorization);
  return answer;
}

std::optional<RedemptionAsk> Checkout::redemption_ask(const SaleRequest& request) {
  if (!rules_ || !request.member_id) return std::nullopt;
  const domain::Basket& basket = request.basket.basket;
  RedemptionAsk ask{*request.member_id, basket.receipt_id, basket.redeem};
  if (ask.points <= 0 || ask.member_id.empty() || journal_.find_receipt(ask.receipt_id)) {
    return std::nullopt;
  }
  return ask;
}

std::optional<OrderedJson> Checkout::answer_again(const std::string& receipt_id, const Json& request) {
  auto existing = journal_.find_receipt(receipt_id);
  if (!existing) return std::nullopt;
  OrderedJson stored = OrderedJson::parse(existing->draft.payload);
  if (Json(stored.at("request")) != request) {
    throw Refused(Refusal::receipt_conflict, "receipt " + receipt_id +
                                                 " was already journaled with a different request (entry " +
                                                 std::to_string(existing->seq) + "): use a new receipt id");
  }
  ++counters_.retries;
  OrderedJson answer = std::move(stored.at("answer"));
  answer["entry"]["seq"] = existing->seq;
  answer["already_journaled"] = true;
  return answer;
}

OrderedJson Checkout::journal(storage::EntryDraft draft, const Json& request, OrderedJson answer, OrderedJson payload) {
  OrderedJson stored;
  stored["request"] = request;
  stored["answer"] = answer;
  for (auto& [key, value] : payload.items()) stored[key] = std::move(value);
  draft.payload = stored.dump();
  try {
    storage::validate(draft);
  } catch (const storage::InvalidEntry& error) {
    throw Refused(Refusal::entry_invalid, error.what());
  }
  // The sequence is known only once appended; the stored answer carries 0 and the answer
  // sent (now and on retries) the real one.
  const storage::AppendResult appended = journal_.append(draft, clock_());
  answer["entry"]["seq"] = appended.entry.seq;
  return answer;
}

std::optional<std::int64_t> Checkout::local_balance(const std::string& member_id) {
  const auto cached = members_.find_member(member_id);
  if (!cached) return std::nullopt;
  return storage::local_view(*cached, members_, journal_).local_balance;
}

OrderedJson Checkout::commit(const SaleRequest& request, const std::optional<sync::OnlineAuthorization>& online) {
  // A retried commit answers from the journal, whatever the rulebook or the balance now say.
  if (auto again = answer_again(request.basket.basket.receipt_id, request.document)) return *again;

  Priced priced = price(request, SaleCall::commit, online ? &*online : nullptr);
  const domain::Rulebook& rulebook = rules();
  const domain::Quote& q = priced.quote;
  const domain::Basket& basket = priced.basket.basket;
  const int exponent = rulebook.currency.exponent;

  OrderedJson answer;
  answer["receipt_id"] = basket.receipt_id;
  answer["entry"] = {{"terminal_id", journal_.terminal_id()}, {"seq", 0}};
  answer["already_journaled"] = false;
  OrderedJson points;
  points["redeemed"] = q.redeemed;
  points["earned"] = q.earned;
  points["discount"] = q.discount;
  if (!priced.member) points["would_earn"] = q.would_earn;
  if (priced.member) points["balance_after"] = priced.member->local_balance - q.redeemed + q.earned;
  answer["points"] = points;
  answer["quote"] = sync::quote_to_json(rulebook, basket, q);
  answer["quote"]["time"] = priced.time;
  answer["offline"] = priced.offline;
  if (!priced.authorization.is_null()) answer["authorization"] = priced.authorization;
  std::string slip;
  if (priced.member) {
    slip += "Loyalty member " + priced.member->member.member_id + "\n";
    if (q.redeemed > 0) {
      slip += "Points redeemed: " + std::to_string(q.redeemed) + " = " + domain::format_minor(q.discount, exponent) +
              " " + std::string(rulebook.currency.code) + "\n";
    }
    slip += "Points earned: " + std::to_string(q.earned) + " (credited when the terminal syncs)\n";
    slip += "Balance: " + std::to_string(points["balance_after"].get<std::int64_t>()) + " points\n";
  }
  answer["slip"] = slip;

  storage::EntryDraft draft;
  draft.kind = storage::EntryKind::sale;
  draft.receipt_id = basket.receipt_id;
  draft.member_id = priced.member ? priced.member->member.member_id : "";
  draft.recorded_at_ms = basket.at * 1000;
  draft.rulebook_version = rulebook.version;
  draft.points_earned = q.earned;
  draft.points_redeemed = q.redeemed;
  OrderedJson extra;
  extra["refund_terms"] = sync::refund_terms_to_json(rulebook);
  if (priced.member) {
    // What the quote was computed with, for the ledger's audit (ledger/audit.hpp).
    extra["member"] = {{"tier", priced.member->member.tier},
                       {"balance", priced.member->local_balance},
                       {"status", domain::status_name(priced.member->member.status)}};
  }
  answer = journal(std::move(draft), request.document, std::move(answer), std::move(extra));
  ++counters_.commits;
  return answer;
}

}  // namespace loyalty::agent
