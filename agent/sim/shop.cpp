#include "agent/sim/shop.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "drivers/codes.hpp"

namespace loyalty::sim {
namespace {

std::string digit_to_check(const std::string& digits, bool (*valid)(std::string_view)) {
  for (char c = '0'; c <= '9'; ++c) {
    std::string candidate = digits + c;
    if (valid(candidate)) return candidate;
  }
  return digits + '0';  // unreachable: one of ten digits always checks
}

std::vector<Product> make_catalogue() {
  struct Row {
    const char* name;
    const char* category;
    std::int64_t price;
    std::int32_t vat_bp;
    bool weighed;
    bool excluded;
  };
  static constexpr Row rows[] = {
      {"Milk 1 l", "dairy", 8990, 1000, false, false},
      {"Rye bread", "bakery", 5490, 1000, false, false},
      {"Eggs, 10", "dairy", 11990, 1000, false, false},
      {"Cheese 200 g", "dairy", 24990, 1000, false, false},
      {"Buckwheat 900 g", "grocery", 10990, 1000, false, false},
      {"Coffee beans 1 kg", "coffee", 129900, 2200, false, false},
      {"Ground coffee 250 g", "coffee", 44900, 2200, false, false},
      {"Dark chocolate", "grocery", 11990, 2200, false, false},
      {"Olive oil 0.5 l", "grocery", 69900, 2200, false, false},
      {"Washing powder 3 kg", "household", 59900, 2200, false, false},
      {"Toothpaste", "hygiene", 18990, 2200, false, false},
      {"Red wine 0.75 l", "alcohol", 89900, 2200, false, false},
      {"Vodka 0.5 l", "alcohol", 44900, 2200, false, false},
      {"Bandage", "medical", 4990, 0, false, false},
      {"Apples", "fruit", 12999, 1000, true, false},
      {"Bananas", "fruit", 9999, 1000, true, false},
      {"Tomatoes", "vegetables", 24999, 1000, true, false},
      {"Chicken fillet", "meat", 44999, 1000, true, false},
      {"Salmon", "fish", 189900, 1000, true, false},
      {"Cigarettes", "tobacco", 21900, 2200, false, true},
      {"Gift card 1000", "gift_card", 100000, 0, false, true},
      {"Lottery ticket", "lottery", 10000, 0, false, true},
      {"Bottle deposit", "deposit", 1000, 0, false, true},
  };
  std::vector<Product> products;
  int counted = 0;
  int weighed = 0;
  for (const Row& row : rows) {
    char digits[24];
    if (row.weighed) {
      std::snprintf(digits, sizeof digits, "2000000%05d", ++weighed);
    } else {
      std::snprintf(digits, sizeof digits, "4600000%05d", ++counted);
    }
    products.push_back(
        {with_gs1_check(digits), row.name, row.category, row.price, row.vat_bp, row.weighed, row.excluded});
  }
  // The example rulebook sets a legal minimum price on this one.
  products[12].sku = "4601234567893";
  return products;
}

std::int64_t uniform(Random& random, std::int64_t low, std::int64_t high) {
  return std::uniform_int_distribution<std::int64_t>(low, high)(random);
}

json line_of(Random& random, const Product& product) {
  json line{{"sku", product.sku},
            {"name", product.name},
            {"category", product.category},
            {"unit_price", product.unit_price},
            {"vat_bp", product.vat_bp}};
  if (product.weighed) {
    line["qty_milli"] = uniform(random, 150, 2500);
  } else {
    // Mostly one piece; sometimes a few.
    line["qty"] = uniform(random, 0, 9) < 7 ? 1 : uniform(random, 2, 4);
  }
  return line;
}

}  // namespace

std::string with_gs1_check(const std::string& digits) { return digit_to_check(digits, drivers::gs1_valid); }

std::span<const Product> catalogue() {
  static const std::vector<Product> products = make_catalogue();
  return products;
}

std::string member_id(std::int64_t index) {
  char text[32];
  std::snprintf(text, sizeof text, "SIM-%07lld", static_cast<long long>(index));
  return text;
}

std::string member_card(std::int64_t index) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%s%011lld", kCardPrefix, static_cast<long long>(index));
  return digit_to_check(digits, drivers::luhn_valid);
}

std::string member_phone(std::int64_t index) {
  char text[24];
  std::snprintf(text, sizeof text, "+7900%07lld", static_cast<long long>(index % 10'000'000));
  return text;
}

std::int64_t member_balance(std::int64_t index) { return (index * 7919) % 6000; }

std::string member_tier(std::int64_t index) { return index % 5 == 0 ? "gold" : "standard"; }

json make_basket(Random& random, const std::string& receipt_id, const std::string& at) {
  const auto products = catalogue();
  std::vector<const Product*> regular;
  std::vector<const Product*> excluded;
  for (const Product& p : products) (p.excluded ? excluded : regular).push_back(&p);
  std::shuffle(regular.begin(), regular.end(), random);
  // Small baskets are the most common: 1 to 4 lines half the time, up to 12.
  const auto count =
      static_cast<std::size_t>(uniform(random, 0, 1) == 0 ? uniform(random, 1, 4) : uniform(random, 1, 12));
  json lines = json::array();
  for (std::size_t i = 0; i < count && i < regular.size(); ++i) lines.push_back(line_of(random, *regular[i]));
  if (uniform(random, 1, 12) == 1) {
    const Product& extra = *excluded[static_cast<std::size_t>(uniform(random, 0, std::ssize(excluded) - 1))];
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(uniform(random, 0, std::ssize(lines))),
                 line_of(random, extra));
  }
  return json{{"receipt_id", receipt_id},
              {"currency", "RUB"},
              {"at", at},
              {"tender", uniform(random, 1, 10) <= 7 ? "card" : "cash"},
              {"lines", std::move(lines)}};
}

json make_return(Random& random, const json& sale_basket) {
  const json& lines = sale_basket.at("lines");
  const auto count = std::ssize(lines);
  json returned = json::array();
  const std::int64_t first = uniform(random, 0, count - 1);
  const std::int64_t picks = count > 1 && uniform(random, 0, 2) == 0 ? 2 : 1;
  for (std::int64_t k = 0; k < picks; ++k) {
    const std::int64_t index = (first + k) % count;
    const json& line = lines[static_cast<std::size_t>(index)];
    json item{{"line", index}};
    if (line.contains("qty_milli")) {
      const std::int64_t sold = line["qty_milli"].get<std::int64_t>();
      item["qty_milli"] = uniform(random, 0, 1) == 0 ? sold : uniform(random, 1, sold);
    } else {
      item["qty"] = uniform(random, 1, line["qty"].get<std::int64_t>());
    }
    returned.push_back(std::move(item));
  }
  return returned;
}

}  // namespace loyalty::sim
