#include "domain/rulebook.hpp"

#include <algorithm>

namespace loyalty::domain {

const CategoryRule* Rulebook::category(std::string_view name) const {
  auto it = categories.find(name);
  return it == categories.end() ? nullptr : &it->second;
}

const SkuRule* Rulebook::sku(std::string_view code) const {
  auto it = skus.find(code);
  return it == skus.end() ? nullptr : &it->second;
}

const Tier* Rulebook::tier(std::string_view name) const {
  auto it = std::find_if(tiers.begin(), tiers.end(), [name](const Tier& t) { return t.name == name; });
  return it == tiers.end() ? nullptr : &*it;
}

}  // namespace loyalty::domain
