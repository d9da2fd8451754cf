#include "agent/sim/lane_sim.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <ostream>

#include "agent/sim/shop.hpp"
#include "sync/datetime.hpp"

namespace loyalty::sim {
namespace {

using Steady = std::chrono::steady_clock;

double micros(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1000.0; }

std::int64_t get_int(const json& object, const char* key) {
  return object.is_object() && object.contains(key) && object[key].is_number_integer() ? object[key].get<std::int64_t>()
                                                                                       : 0;
}

// What bound an answer's redemption: an offline limit ("offline_per_receipt", ...), the
// ledger's partial or refused authorization ("online_partial", "online_declined", ...), or ""
// when nothing did.
std::string binding_of(const json& answer) {
  if (answer.contains("offline") && answer["offline"].is_object() && answer["offline"]["binding"].is_string()) {
    return answer["offline"]["binding"].get<std::string>();
  }
  if (!answer.contains("authorization") || !answer["authorization"].is_object()) return "";
  const json& authorization = answer["authorization"];
  const std::string outcome = authorization.value("outcome", "");
  if (outcome == "approved") {
    return get_int(authorization, "points") < get_int(answer["points"], "requested") ? "online_partial" : "";
  }
  return outcome == "asked_at_commit" || outcome == "not_asked" ? "" : "online_" + outcome;
}

// "8 (900) 000-00-42" for +79000000042: the way a cashier types a national number.
std::string typed_phone(const std::string& e164) {
  const std::string n = e164.substr(2);
  return "8 (" + n.substr(0, 3) + ") " + n.substr(3, 3) + "-" + n.substr(6, 2) + "-" + n.substr(8);
}

std::string typed_card(const std::string& digits) {
  std::string text;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && i % 4 == 0) text += ' ';
    text += digits[i];
  }
  return text;
}

// One sale the lane may take back later.
struct Sale {
  std::string receipt;
  json basket;
};

struct Member {
  json view;                        // the agent's member view
  std::string how;                  // "scanned card", "card code", "typed card", "phone"
  std::chrono::nanoseconds took{};  // the identify call; zero for a scan
};

class SimLane {
 public:
  SimLane(const SimSettings& settings, SimReport& report, int lane, asio::any_io_executor executor)
      : settings_(settings),
        report_(report),
        lane_(lane),
        random_(settings.seed * 1'000'003 + static_cast<std::uint64_t>(lane)),
        pos_(executor, settings.agent, settings.token),
        scanner_(executor) {}

  Task<void> run() {
    try {
      if (lane_ == 1 && settings_.scanner) co_await open_scanner();
      for (std::int64_t n = 1; n <= settings_.receipts; ++n) co_await sell(n);
    } catch (const std::exception& e) {
      problem(std::string("lane stopped: ") + e.what());
    }
  }

 private:
  bool chance(int percent) { return std::uniform_int_distribution<int>(1, 100)(random_) <= percent; }
  std::int64_t uniform(std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>(low, high)(random_);
  }
  void problem(std::string what) { report_.problems.push_back("lane " + std::to_string(lane_) + ": " + what); }

  // A POS told it is too fast (429, the agent's per-connection rate limit) waits and sends
  // the request again, as a cashier would; the waits are counted, not timed as latency.
  Task<PosReply> post(const std::string& endpoint, const json& body) {
    for (int attempt = 0;; ++attempt) {
      PosReply reply = co_await pos_.post("/v1/" + endpoint, body);
      if (reply.status != 429 || attempt == 100) {
        report_.latency_us[endpoint].push_back(micros(reply.took));
        co_return reply;
      }
      ++report_.rate_limited;
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
    }
  }

  // A refusal the lane provoked on purpose: it must come with `code`.
  void expect_refusal(const PosReply& reply, const std::string& code, const std::string& what) {
    if (reply.error_code() == code) {
      ++report_.expected_refusals;
    } else {
      problem(what + ": expected " + code + ", got " + std::to_string(reply.status) + " " + reply.body.dump());
    }
  }

  Task<void> open_scanner() {
    auto [ec] = co_await scanner_.async_connect(settings_.scanner->address, use_tuple);
    if (ec)
      throw std::runtime_error("cannot connect to the scanner at " + settings_.scanner->text + ": " + ec.message());
    PosReply events = co_await pos_.call(http::verb::get, "/v1/events?after=0&wait_ms=0");
    if (events.status != 200) throw std::runtime_error("GET /v1/events answered " + std::to_string(events.status));
    events_seen_ = get_int(events.body, "last");
    scanning_ = true;
  }

  // Sends a code down the scanner's line and waits (up to 10 s) for the lane event it causes.
  Task<json> scan(const std::string& code) {
    const std::string line = code + "\n";
    auto [ec, n] = co_await asio::async_write(scanner_, asio::buffer(line), use_tuple);
    if (ec) throw std::runtime_error("the scanner connection failed: " + ec.message());
    const auto deadline = Steady::now() + std::chrono::seconds(10);
    while (Steady::now() < deadline) {
      PosReply reply =
          co_await pos_.call(http::verb::get, "/v1/events?after=" + std::to_string(events_seen_) + "&wait_ms=5000",
                             nullptr, std::chrono::seconds(15));
      if (reply.status != 200) throw std::runtime_error("GET /v1/events answered " + std::to_string(reply.status));
      events_seen_ = get_int(reply.body, "last");
      for (const json& event : reply.body["events"]) {
        if (event["type"] == "member_presented" || event["type"] == "scan_refused") co_return event;
      }
    }
    throw std::runtime_error("no lane event within 10 s of a scan");
  }

  Task<std::optional<Member>> present_member() {
    const std::int64_t index = uniform(0, settings_.members - 1);
    const std::string card = member_card(index);
    const std::int64_t roll = uniform(1, 100);
    Member member;
    if (roll <= 60 && scanning_) {
      if (chance(3)) {  // a product barcode scanned at the loyalty prompt
        const auto products = catalogue();
        const json event = co_await scan("]E0" + products[static_cast<std::size_t>(uniform(0, 3))].sku);
        if (event["type"] == "scan_refused" && event["code"] == "code_not_loyalty") {
          ++report_.expected_refusals;
        } else {
          problem("a product barcode at the scanner gave " + event.dump());
        }
      }
      json event = co_await scan("]C0" + card);
      ++report_.scans;
      if (event["type"] != "member_presented") {
        problem("the card of " + member_id(index) + " at the scanner gave " + event.dump());
        co_return std::nullopt;
      }
      member.view = event["member"];
      member.how = "scanned card";
    } else {
      json request;
      if (roll <= 60) {
        request["code"] = "]C0" + card;  // read by the POS's own scanner
        member.how = "card code";
      } else if (roll <= 85) {
        if (chance(3)) {  // a typo in the last digit
          std::string wrong = card;
          wrong.back() = static_cast<char>('0' + (wrong.back() - '0' + 1) % 10);
          const json typed{{"card", typed_card(wrong)}};
          const PosReply typo = co_await post("identify", typed);
          expect_refusal(typo, "card_invalid", "a mistyped card number");
        }
        request["card"] = typed_card(card);
        member.how = "typed card";
      } else {
        request["phone"] = typed_phone(member_phone(index));
        member.how = "phone";
      }
      const PosReply reply = co_await post("identify", request);
      if (reply.status != 200) {
        problem("identify " + member_id(index) + " by " + member.how + ": " + std::to_string(reply.status) + " " +
                reply.body.dump());
        co_return std::nullopt;
      }
      member.view = reply.body["member"];
      member.took = reply.took;
    }
    if (member.view["id"] != member_id(index)) {
      problem("identify " + member_id(index) + " by " + member.how + " found " + member.view.dump());
      co_return std::nullopt;
    }
    co_return member;
  }

  // PREFIX-L<lane>-<n, five digits>.
  std::string receipt_id(std::int64_t n) const {
    char text[96];
    std::snprintf(text, sizeof text, "%s-L%d-%05lld", settings_.receipt_prefix.c_str(), lane_,
                  static_cast<long long>(n));
    return text;
  }

  Task<void> sell(std::int64_t n) {
    const std::string receipt = receipt_id(n);
    std::optional<Member> member;
    if (chance(75)) member = co_await present_member();  // not in a ?: (GCC 12, see pos_api.cpp)
    const std::string at = settings_.at.empty() ? sync::format_rfc3339_utc(std::time(nullptr)) : settings_.at;
    json basket = make_basket(random_, receipt, at);
    for (const json& line : basket["lines"]) {
      ++report_.lines;
      if (line.contains("qty_milli")) ++report_.weighed_lines;
      if (std::ranges::any_of(catalogue(), [&](const Product& p) { return p.sku == line["sku"] && p.excluded; })) {
        ++report_.excluded_lines;
      }
    }
    const std::int64_t balance = member ? get_int(member->view, "balance") : 0;
    std::int64_t requested = 0;
    if (member && balance >= 100 && chance(35)) {
      requested = chance(15) ? balance : uniform(100, std::min<std::int64_t>(balance, 3000)) / 10 * 10;
      basket["redeem_points"] = requested;
    }
    json request{{"basket", basket}};
    if (member) request["member_id"] = member->view["id"];

    const PosReply quote = co_await post("quote", request);
    if (quote.status != 200) {
      problem("quote " + receipt + ": " + std::to_string(quote.status) + " " + quote.body.dump());
      co_return;
    }
    const PosReply commit = co_await post("commit", request);
    if (commit.status != 200) {
      problem("commit " + receipt + ": " + std::to_string(commit.status) + " " + commit.body.dump());
      co_return;
    }
    const json& points = commit.body["points"];
    const std::int64_t redeemed = get_int(points, "redeemed");
    const std::int64_t earned = get_int(points, "earned");
    // Other lanes' commits between this quote and commit move the shared offline limits (a
    // member's, the terminal's); online, the ledger may hold less than the quote showed, or
    // not answer in time (the commit then falls back to the offline limits). Otherwise the
    // commit must price exactly as quoted.
    const auto shared_limit = [](const json& answer) {
      const std::string limit = binding_of(answer);
      return limit == "offline_per_member" || limit == "offline_per_terminal";
    };
    const bool online_cut = quote.body.contains("authorization") &&
                            (!commit.body.contains("authorization") || get_int(commit.body["authorization"], "points") <
                                                                           get_int(quote.body["points"], "redeemed"));
    const bool may_differ =
        online_cut || (settings_.lanes > 1 && (shared_limit(quote.body) || shared_limit(commit.body)));
    if (!may_differ &&
        (redeemed != get_int(quote.body["points"], "redeemed") || earned != get_int(quote.body["points"], "earned"))) {
      problem("commit " + receipt + " points " + points.dump() + " differ from its quote's " +
              quote.body["points"].dump());
    }
    if (chance(3)) {  // the POS lost the answer and sends the commit again
      const PosReply again = co_await post("commit", request);
      ++report_.retries;
      if (again.status != 200 || again.body["already_journaled"] != true ||
          again.body["entry"] != commit.body["entry"]) {
        problem("a retried commit of " + receipt + " answered " + again.body.dump());
      }
    }
    ++report_.receipts;
    ++(member ? report_.member_sales : report_.anonymous_sales);
    if (member && member->took.count() > 0) {
      report_.sale_us.push_back(micros(member->took + quote.took + commit.took));
    }
    report_.points_earned += earned;
    report_.points_redeemed += redeemed;
    if (requested > 0) {
      ++report_.redemptions;
      report_.points_requested += requested;
    }
    const json& totals = commit.body["quote"]["totals"];
    report_.sales_money += get_int(totals, "payable");
    const std::string binding = binding_of(commit.body);
    if (requested > 0 && !binding.empty()) ++report_.binding[binding];
    narrate_sale(receipt, member, basket, commit.body, requested);

    if (member && chance(3)) {
      co_await void_sale(receipt, redeemed, earned);
    } else if (member && chance(10)) {
      for_return_.push_back(Sale{receipt, basket});
    }
    if (!for_return_.empty() && chance(8)) {
      const Sale sale = std::move(for_return_.front());
      for_return_.pop_front();
      co_await give_back(sale);
    }
  }

  Task<void> void_sale(const std::string& receipt, std::int64_t redeemed, std::int64_t earned) {
    // (Each request is built before the co_await: GCC 12 rejects a braced json inside one.)
    const json request{{"receipt_id", receipt + "-V"}, {"sale_receipt_id", receipt}, {"reason", "card declined"}};
    const PosReply reply = co_await post("void", request);
    if (reply.status != 200) {
      problem("void " + receipt + ": " + std::to_string(reply.status) + " " + reply.body.dump());
      co_return;
    }
    const json& points = reply.body["points"];
    if (get_int(points, "returned") != redeemed || get_int(points, "clawed_back") != earned) {
      problem("void " + receipt + " gave " + points.dump() + " for a sale that redeemed " + std::to_string(redeemed) +
              " and earned " + std::to_string(earned));
    }
    ++report_.voids;
    report_.points_returned += redeemed;
    report_.points_clawed_back += earned;
    if (settings_.narrate) {
      *settings_.narrate << "lane " << lane_ << "  " << receipt << "-V  void of " << receipt
                         << " (card declined): " << redeemed << " points given back, " << earned << " taken back\n";
    }
  }

  Task<void> give_back(const Sale& sale) {
    const json lines = make_return(random_, sale.basket);
    const json request{{"receipt_id", sale.receipt + "-R"}, {"sale_receipt_id", sale.receipt}, {"lines", lines}};
    const PosReply reply = co_await post("refund", request);
    if (reply.status != 200) {
      problem("refund " + sale.receipt + ": " + std::to_string(reply.status) + " " + reply.body.dump());
      co_return;
    }
    const std::int64_t returned = get_int(reply.body["points"], "returned");
    const std::int64_t clawed = get_int(reply.body["points"], "clawed_back");
    const std::int64_t money = get_int(reply.body["refund"], "money_paid");
    ++report_.refunds;
    report_.points_returned += returned;
    report_.points_clawed_back += clawed;
    report_.money_refunded += money;
    if (settings_.narrate) {
      *settings_.narrate << "lane " << lane_ << "  " << sale.receipt << "-R  return of " << lines.size()
                         << " line(s) of " << sale.receipt << ": " << money_text(money) << " RUB back, " << returned
                         << " points given back, " << clawed << " taken back\n";
    }
  }

  void narrate_sale(const std::string& receipt, const std::optional<Member>& member, const json& basket,
                    const json& commit, std::int64_t requested) {
    if (!settings_.narrate) return;
    std::ostream& out = *settings_.narrate;
    out << "lane " << lane_ << "  " << receipt << "  " << basket["lines"].size() << " lines  "
        << money_text(get_int(commit["quote"]["totals"], "payable")) << " RUB  ";
    if (!member) {
      out << "no member\n";
      return;
    }
    const json& points = commit["points"];
    out << member->view["id"].get<std::string>() << " (" << member->view["tier"].get<std::string>() << ", "
        << member->how << ")  earned " << get_int(points, "earned");
    if (requested > 0) {
      out << ", redeemed " << get_int(points, "redeemed") << " of " << requested;
      if (const std::string binding = binding_of(commit); !binding.empty()) out << " (" << binding << ")";
    }
    out << ", balance " << get_int(points, "balance_after") << "\n";
    if (requested > 0 && !slip_shown_) {  // the first redemption's slip, as the receipt prints it
      slip_shown_ = true;
      std::string slip = commit["slip"].get<std::string>();
      for (std::size_t at = 0; at < slip.size(); at = slip.find('\n', at) + 1) {
        out << "    | " << slip.substr(at, slip.find('\n', at) - at) << "\n";
        if (slip.find('\n', at) == std::string::npos) break;
      }
    }
  }

  const SimSettings& settings_;
  SimReport& report_;
  int lane_;
  Random random_;
  PosClient pos_;
  asio::generic::stream_protocol::socket scanner_;
  bool scanning_ = false;
  std::int64_t events_seen_ = 0;
  std::deque<Sale> for_return_;
  bool slip_shown_ = false;
};

std::string latency_line(const std::vector<double>& values) {
  char text[96];
  std::snprintf(text, sizeof text, "p50 %.0f us, p99 %.0f us (%zu calls)", percentile(values, 50),
                percentile(values, 99), values.size());
  return text;
}

// Every lane concurrently on this executor. (Apart from run_lanes so that no coroutine frame
// outside this file's anonymous namespace holds a SimLane: GCC warns about that in a unity
// build.)
Task<void> run_all(const SimSettings& settings, SimReport& report) {
  const auto executor = co_await asio::this_coro::executor;
  const auto started = Steady::now();
  std::vector<std::unique_ptr<SimLane>> lanes;
  for (int lane = 1; lane <= settings.lanes; ++lane) {
    lanes.push_back(std::make_unique<SimLane>(settings, report, lane, executor));
  }
  // Every lane runs concurrently on this executor; the timer is the latch they release.
  asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
  std::size_t running = lanes.size();
  for (auto& lane : lanes) {
    asio::co_spawn(executor, lane->run(), [&](std::exception_ptr) {
      if (--running == 0) all_done.cancel();
    });
  }
  if (running > 0) co_await all_done.async_wait(use_tuple);
  report.elapsed = Steady::now() - started;
}

}  // namespace

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::ranges::sort(values);
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

std::string money_text(std::int64_t minor) {
  char text[32];
  const char* sign = minor < 0 ? "-" : "";
  const std::int64_t magnitude = minor < 0 ? -minor : minor;
  std::snprintf(text, sizeof text, "%s%lld.%02lld", sign, static_cast<long long>(magnitude / 100),
                static_cast<long long>(magnitude % 100));
  return text;
}

Task<void> run_lanes(const SimSettings& settings, SimReport& report) { co_await run_all(settings, report); }

json SimReport::to_json() const {
  json latency = json::object();
  for (const auto& [endpoint, values] : latency_us) {
    latency[endpoint] = {
        {"calls", values.size()}, {"p50_us", percentile(values, 50)}, {"p99_us", percentile(values, 99)}};
  }
  latency["sale"] = {
      {"calls", sale_us.size()}, {"p50_us", percentile(sale_us, 50)}, {"p99_us", percentile(sale_us, 99)}};
  return json{{"receipts", receipts},
              {"member_sales", member_sales},
              {"anonymous_sales", anonymous_sales},
              {"scans", scans},
              {"lines", lines},
              {"weighed_lines", weighed_lines},
              {"excluded_lines", excluded_lines},
              {"redemptions", redemptions},
              {"points_requested", points_requested},
              {"points_redeemed", points_redeemed},
              {"points_earned", points_earned},
              {"sales_money", sales_money},
              {"retries", retries},
              {"voids", voids},
              {"refunds", refunds},
              {"points_returned", points_returned},
              {"points_clawed_back", points_clawed_back},
              {"money_refunded", money_refunded},
              {"expected_refusals", expected_refusals},
              {"rate_limited", rate_limited},
              {"offline_binding", binding},
              {"problems", problems},
              {"latency", latency},
              {"elapsed_s", std::chrono::duration<double>(elapsed).count()}};
}

void SimReport::print(std::ostream& out) const {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.2f s (%.0f receipts/s)", seconds,
                seconds > 0 ? static_cast<double>(receipts) / seconds : 0.0);
  out << "sales       " << receipts << " in " << rate << ": " << member_sales << " with a member (" << scans
      << " scanned at the lane's scanner), " << anonymous_sales << " without\n"
      << "lines       " << lines << ", " << weighed_lines << " weighed, " << excluded_lines
      << " excluded from the programme (tobacco, gift cards, lottery, deposits)\n"
      << "points      earned " << points_earned << "; redeemed " << points_redeemed << " of " << points_requested
      << " requested in " << redemptions << " redemptions\n";
  if (!binding.empty()) {
    out << "offline     redemptions cut by";
    for (const auto& [limit, count] : binding) out << " " << limit << " x" << count;
    out << "\n";
  }
  out << "money       " << money_text(sales_money) << " RUB paid, " << money_text(money_refunded) << " RUB refunded\n"
      << "returns     " << voids << " voids, " << refunds << " returns: " << points_returned << " points given back, "
      << points_clawed_back << " taken back\n"
      << "retries     " << retries << " commits sent twice, answered from the journal\n"
      << "mistakes    " << expected_refusals << " deliberate (mistyped cards, products at the loyalty prompt), "
      << "refused as expected\n";
  if (rate_limited > 0) out << "rate limit  " << rate_limited << " requests waited 100 ms after a 429\n";
  for (const auto& [endpoint, values] : latency_us) {
    char name[16];
    std::snprintf(name, sizeof name, "%-11s ", endpoint.c_str());
    out << name << latency_line(values) << "\n";
  }
  if (!sale_us.empty()) out << "sale        " << latency_line(sale_us) << " identify + quote + commit\n";
  if (problems.empty()) {
    out << "problems    none\n";
  } else {
    out << "problems    " << problems.size() << ":\n";
    for (const std::string& p : problems) out << "  " << p << "\n";
  }
}

}  // namespace loyalty::sim
