// The loyalty-agent command line, run in process with the real readers and the domain.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/cli.hpp"
#include "runtime/options.hpp"

using namespace loyalty::agent;
using loyalty::runtime::exit_failed;
using loyalty::runtime::exit_ok;
using loyalty::runtime::exit_usage;

namespace {

struct Run {
  int status;
  std::string out;
  std::string err;
};

Run run(std::vector<std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::ostringstream out, err;
  const int status = run_cli(views, out, err);
  return {status, out.str(), err.str()};
}

std::string example(const char* name) { return std::string(LOYALTY_SOURCE_DIR) + "/examples/" + name; }

// A file in a fresh temporary directory, removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    dir_ = std::filesystem::temp_directory_path() /
           ("loyalty-cli-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "-" +
            std::to_string(std::hash<std::string>{}(text)));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "doc.json").string();
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove_all(dir_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

}  // namespace

TEST_CASE("quote prints the E1 sale from the example files") {
  const Run r = run({"quote", "--rulebook", example("rulebook-ru.json"), "--basket", example("basket-ru.json"),
                     "--member", example("member-ru.json")});
  REQUIRE(r.status == exit_ok);
  CHECK(r.err.empty());
  const auto q = nlohmann::json::parse(r.out);
  CHECK(q["points"]["redeemed"] == 300);
  CHECK(q["points"]["earned"] == 71);
  CHECK(q["totals"]["payable"] == 142911);
  CHECK(q["lines"][0]["discount"] == 4679);
  CHECK(q["lines"][2]["unit_price_after"] == 10744);
  CHECK(q["vat"][0]["vat"] == 19360);
}

TEST_CASE("quote --at moves the sale into the Black Friday campaign window") {
  const Run r = run({"quote", "--rulebook", example("rulebook-ru.json"), "--basket", example("basket-ru.json"),
                     "--member", example("member-ru.json"), "--at", "2026-11-27T00:00:00+03:00", "--compact"});
  REQUIRE(r.status == exit_ok);
  const auto q = nlohmann::json::parse(r.out);
  CHECK(q["points"]["earned"] == 142);
  CHECK(q["campaigns"][0]["id"] == "black-friday-x2");
  CHECK(r.out.find('\n') == r.out.size() - 1);  // compact: one line
}

TEST_CASE("quote without a member redeems nothing and says why") {
  const Run r = run({"quote", "--rulebook", example("rulebook-ru.json"), "--basket", example("basket-ru.json")});
  REQUIRE(r.status == exit_ok);
  const auto q = nlohmann::json::parse(r.out);
  CHECK(q["points"]["redeemed"] == 0);
  CHECK(q["binding"] == nlohmann::json::array({"no_member"}));
}

TEST_CASE("refund of the E15 steps prints each step and the balance after") {
  const Run sale = run({"quote", "--rulebook", example("rulebook-ru.json"), "--basket", example("basket-ru.json"),
                        "--member", example("member-ru.json")});
  REQUIRE(sale.status == exit_ok);
  const TempFile sale_file(sale.out);
  const Run r = run({"refund", "--rulebook", example("rulebook-ru.json"), "--sale", sale_file.path(), "--return",
                     example("return-ru.json")});
  REQUIRE(r.status == exit_ok);
  const auto doc = nlohmann::json::parse(r.out);
  REQUIRE(doc["steps"].size() == 3);
  CHECK(doc["steps"][0]["money"] == 14860);
  CHECK(doc["steps"][0]["vat"] == 1351);
  CHECK(doc["steps"][1]["money"] == 13258);
  CHECK(doc["steps"][2]["money"] == 7431);
  CHECK(doc["steps"][2]["lines"][0]["points_returned"] == 16);
  CHECK(doc["remaining_qty_milli"] == nlohmann::json::array({0, 1000, 0}));
  // 771 after the sale (1000 - 300 + 71), then +24, +21, +12.
  CHECK(doc["member_balance_after"] == 771 + 24 + 21 + 12);
}

TEST_CASE("returning more than was sold fails with the step and the line named") {
  const Run sale = run({"quote", "--rulebook", example("rulebook-ru.json"), "--basket", example("basket-ru.json"),
                        "--member", example("member-ru.json")});
  const TempFile sale_file(sale.out);
  const TempFile ret(R"({"steps": [{"lines": [{"line": 0, "qty": 2}]}, {"lines": [{"line": 0, "qty": 2}]}]})");
  const Run r =
      run({"refund", "--rulebook", example("rulebook-ru.json"), "--sale", sale_file.path(), "--return", ret.path()});
  CHECK(r.status == exit_failed);
  CHECK(r.out.empty());
  CHECK(r.err.find("return.steps[1]: line 0: returning 2000 milli-units but only 1000 are left to return") !=
        std::string::npos);
}

TEST_CASE("a bad file gives a message naming the file and the field, and prints no result") {
  const TempFile bad(R"({"currency": "RUB", "lines": [{"sku": "x", "unit_price": 100, "qty": 1.5, "vat_bp": 1000}]})");
  const Run r = run({"quote", "--rulebook", example("rulebook-ru.json"), "--basket", bad.path()});
  CHECK(r.status == exit_failed);
  CHECK(r.out.empty());
  CHECK(r.err == "loyalty-agent: " + bad.path() + ": basket.lines[0].qty: must be a whole number, got 1.5\n");

  const Run missing = run({"quote", "--rulebook", "/nonexistent/rulebook.json", "--basket", bad.path()});
  CHECK(missing.status == exit_failed);
  CHECK(missing.err == "loyalty-agent: /nonexistent/rulebook.json: cannot open rulebook file\n");

  const TempFile broken("{ \"format\": 1,");
  const Run malformed = run({"quote", "--rulebook", broken.path(), "--basket", bad.path()});
  CHECK(malformed.status == exit_failed);
  CHECK(malformed.err.find("rulebook: malformed JSON at line 1") != std::string::npos);
}

TEST_CASE("a number too large, a key twice or a control character in a file exits 1 naming the field") {
  const TempFile huge(
      R"({"currency": "RUB", "lines": [{"sku": "x", "unit_price": 100, "qty": 1e400, "vat_bp": 1000}]})");
  const Run too_large = run({"quote", "--rulebook", example("rulebook-ru.json"), "--basket", huge.path()});
  CHECK(too_large.status == exit_failed);
  CHECK(too_large.err ==
        "loyalty-agent: " + huge.path() + ": basket.lines[0].qty: is a number too large to represent\n");

  const TempFile twice(
      R"({"currency": "RUB", "lines": [{"sku": "x", "unit_price": 100, "qty": 1, "qty": 2, "vat_bp": 1000}]})");
  const Run repeated = run({"quote", "--rulebook", example("rulebook-ru.json"), "--basket", twice.path()});
  CHECK(repeated.status == exit_failed);
  CHECK(repeated.err.find("basket.lines[0].qty: is given twice") != std::string::npos);

  const TempFile sale(R"({"lines": [{"qty_milli": 1e999}]})");
  const Run refund = run({"refund", "--rulebook", example("rulebook-ru.json"), "--sale", sale.path(), "--return",
                          example("return-ru.json")});
  CHECK(refund.status == exit_failed);
  CHECK(refund.err.find("is a number too large to represent") != std::string::npos);

  const TempFile control(
      R"({"currency": "RUB", "lines": [{"sku": "x\u0000", "unit_price": 100, "qty": 1, "vat_bp": 1000}]})");
  const Run nul = run({"quote", "--rulebook", example("rulebook-ru.json"), "--basket", control.path()});
  CHECK(nul.status == exit_failed);
  CHECK(nul.err.find("basket.lines[0].sku: must not contain control characters") != std::string::npos);
}

TEST_CASE("usage errors exit 2 with the usage text") {
  CHECK(run({}).status == exit_usage);
  CHECK(run({"quote", "--rulebook", example("rulebook-ru.json")}).err.find("missing --basket") != std::string::npos);
  CHECK(run({"quote", "--basket"}).status == exit_usage);
  CHECK(run({"quote", "--colour", "red"}).err.find("unknown option '--colour'") != std::string::npos);
  CHECK(run({"frobnicate"}).status == exit_usage);
  CHECK(run({"help"}).status == exit_ok);
  CHECK(run({"version"}).out.rfind("loyalty-agent ", 0) == 0);
}

TEST_CASE("quote --text prints a receipt-like summary with the binding limit") {
  const Run r = run({"quote", "--rulebook", example("rulebook-ru.json"), "--basket", example("basket-ru.json"),
                     "--member", example("member-ru.json"), "--text"});
  REQUIRE(r.status == exit_ok);
  CHECK(r.out.find("Milk 1 l                          269.70       46.79      222.91     20.26        47      11\n") !=
        std::string::npos);
  CHECK(r.out.find("points: requested 300, redeemed 300 (300.00), limited by request; earned 71\n") !=
        std::string::npos);
  CHECK(r.out.find("total 1729.11, payable 1429.11\n") != std::string::npos);
}

TEST_CASE("quote --text cuts and pads names by characters, so Cyrillic names stay text and line up") {
  std::ifstream in(example("basket-ru.json"));
  nlohmann::json basket = nlohmann::json::parse(in);
  basket["lines"][0]["name"] = "Молоко пастеризованное 3,2 % жирности, 1 литр";  // 45 characters, 80 bytes
  basket["lines"][1]["name"] = "Хлеб";
  const TempFile file(basket.dump());
  const Run r = run({"quote", "--rulebook", example("rulebook-ru.json"), "--basket", file.path(), "--text"});
  REQUIRE(r.status == exit_ok);
  // Its first 27 characters and one of padding; "Хлеб" and 24.
  CHECK(r.out.find("\nМолоко пастеризованное 3,2  ") != std::string::npos);
  CHECK(r.out.find("3,2 %") == std::string::npos);
  CHECK(r.out.find("\nХлеб" + std::string(24, ' ')) != std::string::npos);
  // Whole UTF-8 (a strict dump throws on a cut letter), and the columns line up: every line of
  // a sale line is 28 + 64 characters wide.
  CHECK_NOTHROW(nlohmann::json(r.out).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict));
  std::istringstream lines(r.out);
  int rows = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("Молоко") && !line.starts_with("Хлеб")) continue;
    ++rows;
    const auto characters =
        std::count_if(line.begin(), line.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
    CHECK(characters == 28 + 64);
  }
  CHECK(rows == 2);
}

TEST_CASE("the man page describes every command the usage text lists") {
  const Run help = run({"help"});
  std::ifstream in(std::string(LOYALTY_SOURCE_DIR) + "/docs/man/loyalty-agent.8");
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE_FALSE(page.empty());
  std::istringstream lines(help.out);
  int commands = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("  ") || line.starts_with("   ")) continue;
    // "  journal verify --journal FILE ..." names the command "journal verify".
    std::string command =
        line.substr(2, line.find(" --") == std::string::npos ? std::string::npos : line.find(" --") - 2);
    while (!command.empty() && command.back() == ' ') command.pop_back();
    CAPTURE(command);
    CHECK(page.find(".B " + command) != std::string::npos);
    ++commands;
  }
  CHECK(commands >= 10);
}
