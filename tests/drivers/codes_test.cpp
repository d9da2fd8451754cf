#include <doctest/doctest.h>

#include <vector>

#include "drivers/codes.hpp"

using namespace loyalty::drivers;

TEST_CASE("Luhn accepts valid card numbers and catches every single-digit change") {
  CHECK(luhn_valid("4000000000000002"));
  CHECK(luhn_valid("79927398713"));
  CHECK_FALSE(luhn_valid("79927398710"));
  CHECK_FALSE(luhn_valid(""));
  CHECK_FALSE(luhn_valid("4000-0000"));
  const std::string good = "4000000000000002";
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (char d = '0'; d <= '9'; ++d) {
      if (d == good[i]) continue;
      std::string changed = good;
      changed[i] = d;
      CAPTURE(changed);
      CHECK_FALSE(luhn_valid(changed));
    }
  }
}

TEST_CASE("the GS1 check digit validates EAN-13, EAN-8 and UPC-A") {
  CHECK(gs1_valid("4006381333931"));  // EAN-13
  CHECK(gs1_valid("4600000000015"));
  CHECK(gs1_valid("96385074"));      // EAN-8
  CHECK(gs1_valid("036000291452"));  // UPC-A
  CHECK_FALSE(gs1_valid("4006381333932"));
  CHECK_FALSE(gs1_valid("036000291453"));
  CHECK_FALSE(gs1_valid("1234567"));  // too short for any GS1 code
  CHECK_FALSE(gs1_valid("40063813339x1"));
}

TEST_CASE("typed card numbers are normalized, checked, and refused with the reason") {
  CHECK(normalize_card("4000 0000-0000 0002").digits == "4000000000000002");
  CHECK(normalize_card("4000 0000 0000 0003").misread);
  CHECK(normalize_card("4000 0000 0000 000O").problem == "a card number has only digits, spaces and dashes");
  CHECK(normalize_card("12345").problem.find("12 to 19 digits, this one has 5") != std::string::npos);
  CHECK_FALSE(normalize_card("").problem.empty());
}

TEST_CASE("card ranges decide which numbers belong to the programme and how they are checked") {
  const std::vector<CardRange> ranges = {{"7013", 16, CardCheck::luhn}, {"2700", 13, CardCheck::gs1}};
  CHECK(check_card("7013000000000000", ranges).digits == "7013000000000000");
  CHECK(check_card("7013000000000001", ranges).misread);
  CHECK(check_card("2700000000014", ranges).digits == "2700000000014");  // GS1 check digit 4
  CHECK(check_card("2700000000015", ranges).misread);
  const CardNumber foreign = check_card("4000000000000002", ranges);
  CHECK(foreign.digits.empty());
  CHECK_FALSE(foreign.misread);
  CHECK(foreign.problem.find("not a card of this programme") != std::string::npos);
  CHECK(check_card("70130000000000001", ranges).problem.find("not a card of this programme") != std::string::npos);
  // The longest prefix decides.
  const std::vector<CardRange> nested = {{"70", 16, CardCheck::gs1}, {"7013", 16, CardCheck::luhn}};
  CHECK(check_card("7013000000000000", nested).problem.empty());
}

TEST_CASE("phone numbers become E.164 with the configured country, or nothing") {
  CHECK(normalize_phone("8 (916) 123-45-67", "7") == "+79161234567");
  CHECK(normalize_phone("+7 916 123 45 67", "7") == "+79161234567");
  CHECK(normalize_phone("0049 30 1234567", "7") == "+49301234567");
  CHECK(normalize_phone("030 1234567", "49") == "+49301234567");
  CHECK(normalize_phone("916 123 45 67", "7") == "+79161234567");
  CHECK_FALSE(normalize_phone("++7916", "7"));
  CHECK_FALSE(normalize_phone("8 916 ABC", "7"));
  CHECK_FALSE(normalize_phone("12", "7"));
  CHECK_FALSE(normalize_phone("+7 916 123 45 67 89 01 23", "7"));
  CHECK_FALSE(normalize_phone("", "7"));
}
