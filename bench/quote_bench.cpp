// Quote latency for baskets of 1, 10, 100 and 1000 lines, with the JSON parse and the
// serialization of the same basket and quote measured beside it in the same run, and the
// strict parse beside nlohmann's own.
//
// Prints one JSON object per line: {"bench": "quote", "op": ..., "lines": ..., "p50_us": ...,
// "p99_us": ..., "iterations": ...}, then ratios of the quote to the JSON parse of its own
// basket (the bare baseline: reading the input the quote works on). The budget from
// docs/design.md (a 100-line quote under 50 microseconds) is reported, never asserted.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "domain/quote.hpp"
#include "sync/basket_json.hpp"
#include "sync/quote_json.hpp"
#include "sync/rulebook_json.hpp"

using namespace loyalty;
using Steady = std::chrono::steady_clock;

namespace {

// A realistic basket: mixed VAT rates, weighed goods, an excluded category, a SKU with a
// legal minimum price, prior promotions on some lines; a campaign runs at the sale time.
runtime::Json make_basket(std::size_t lines, std::mt19937_64& rng) {
  auto pick = [&rng](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  runtime::Json basket{{"receipt_id", "bench"},
                       {"currency", "RUB"},
                       {"at", "2026-11-27T12:00:00+03:00"},
                       {"tender", "card"},
                       {"redeem_points", 1000000}};
  static const char* kCategories[] = {"dairy", "grocery", "coffee", "fruit", "tobacco", "household"};
  static const std::int64_t kRates[] = {1000, 2200, 1000, 2200, 0};
  runtime::Json items = runtime::Json::array();
  for (std::size_t i = 0; i < lines; ++i) {
    runtime::Json line{{"sku", i % 17 == 0 ? "4601234567893" : "sku-" + std::to_string(i)},
                       {"name", "Article " + std::to_string(i)},
                       {"category", kCategories[pick(0, 5)]},
                       {"unit_price", pick(100, 500000)},
                       {"vat_bp", kRates[pick(0, 4)]}};
    if (pick(0, 3) == 0)
      line["qty_milli"] = pick(50, 3000);
    else
      line["qty"] = pick(1, 6);
    if (pick(0, 9) == 0) line["prior_discount"] = 50;
    items.push_back(line);
  }
  basket["lines"] = items;
  return basket;
}

struct Stats {
  double p50_us;
  double p99_us;
  std::size_t iterations;
};

template <class F>
Stats measure(std::size_t iterations, F&& op) {
  for (std::size_t i = 0; i < iterations / 10 + 1; ++i) op();  // warm caches and the allocator
  std::vector<double> samples;
  samples.reserve(iterations);
  for (std::size_t i = 0; i < iterations; ++i) {
    const auto start = Steady::now();
    op();
    samples.push_back(std::chrono::duration<double, std::micro>(Steady::now() - start).count());
  }
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], samples[std::min(samples.size() - 1, samples.size() * 99 / 100)], iterations};
}

void report(const char* op, std::size_t lines, const Stats& s) {
  std::printf("{\"bench\":\"quote\",\"op\":\"%s\",\"lines\":%zu,\"p50_us\":%.3f,\"p99_us\":%.3f,\"iterations\":%zu}\n",
              op, lines, s.p50_us, s.p99_us, s.iterations);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string source = argc > 1 ? argv[1] : LOYALTY_SOURCE_DIR;
  const double scale = std::getenv("LOYALTY_BENCH_SCALE") ? std::atof(std::getenv("LOYALTY_BENCH_SCALE")) : 1.0;
  const domain::Rulebook rules =
      sync::rulebook_from_json(runtime::parse_json(read_file(source + "/examples/rulebook-ru.json"), "rulebook"));
  const domain::Member member{"bench", "gold", 10'000'000, domain::MemberStatus::active};
  std::mt19937_64 rng(20261127);

  for (const std::size_t lines : {std::size_t{1}, std::size_t{10}, std::size_t{100}, std::size_t{1000}}) {
    const std::string text = make_basket(lines, rng).dump();
    const sync::BasketDocument doc = sync::basket_from_json(runtime::parse_json(text, "basket"));
    const auto iterations = static_cast<std::size_t>(scale * (lines >= 1000 ? 2000 : lines >= 100 ? 10000 : 50000));

    domain::Quote q;
    const Stats quote = measure(iterations, [&] { q = domain::quote(rules, doc.basket, &member); });
    std::size_t parsed_lines = 0;
    const Stats parse = measure(iterations, [&] {
      parsed_lines += sync::basket_from_json(runtime::parse_json(text, "basket")).basket.lines.size();
    });
    // The strict parse (a key given twice, the path of a number too large) beside nlohmann's
    // own parse of the same text, the bare baseline it wraps.
    std::size_t values = 0;
    const Stats strict = measure(iterations, [&] { values += runtime::parse_json(text, "basket").size(); });
    const Stats bare = measure(iterations, [&] { values += runtime::Json::parse(text).size(); });
    std::size_t bytes = 0;
    const Stats serialize =
        measure(iterations, [&] { bytes += sync::quote_to_json(rules, doc.basket, q).dump().size(); });
    report("quote", lines, quote);
    report("parse_basket", lines, parse);
    report("serialize_quote", lines, serialize);
    report("parse_json_strict", lines, strict);
    report("parse_json_bare", lines, bare);
    const std::string budget =
        lines == 100 ? std::string(",\"budget_us\":50,\"p99_within_budget\":") + (quote.p99_us < 50 ? "true" : "false")
                     : std::string();
    std::printf(
        "{\"bench\":\"quote\",\"op\":\"ratio\",\"lines\":%zu,\"quote_over_parse_p50\":%.3f,"
        "\"strict_over_bare_parse_p50\":%.3f,\"basket_bytes\":%zu,\"redeemed\":%lld,\"earned\":%lld%s}\n",
        lines, quote.p50_us / parse.p50_us, strict.p50_us / bare.p50_us, text.size(),
        static_cast<long long>(q.redeemed), static_cast<long long>(q.earned), budget.c_str());
    if (parsed_lines == 0 || bytes == 0 || values == 0) return 1;  // keeps the measured work from being optimised away
  }
  return 0;
}
