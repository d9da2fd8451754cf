#include "agent/cli.hpp"

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "agent/config.hpp"
#include "agent/daemon.hpp"
#include "agent/journal_cli.hpp"
#include "domain/quote.hpp"
#include "domain/refund.hpp"
#include "runtime/options.hpp"
#include "storage/files.hpp"
#include "storage/terminal_key.hpp"
#include "sync/basket_json.hpp"
#include "sync/datetime.hpp"
#include "sync/quote_json.hpp"
#include "sync/rulebook_json.hpp"
#include "sync/tls.hpp"

namespace loyalty::agent {
namespace {

using runtime::exit_failed;
using runtime::exit_ok;
using runtime::exit_usage;
using runtime::Options;
using runtime::parse_options;
using runtime::require;

constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;

constexpr std::string_view kUsage =
    "usage: loyalty-agent <command> [options]\n"
    "\n"
    "commands:\n"
    "  run --config FILE\n"
    "         Runs the agent daemon: the POS API on loopback, logs as JSON lines on stderr.\n"
    "  check-config --config FILE\n"
    "         Checks the configuration and the files it names (secrets, keys, rulebook) as run\n"
    "         would, without starting: exit status 0 when run would start, 78 when not.\n"
    "  quote  --rulebook FILE --basket FILE [--member FILE] [--at TIME] [--compact | --text]\n"
    "         Prints the quote for a basket: points earned, redemption per line, VAT.\n"
    "  refund --rulebook FILE --sale FILE --return FILE [--compact | --text]\n"
    "         Prints the refund of each return step against a sale (a quote's output).\n"
    "  journal verify --journal FILE [--public-key PEM_FILE] [--quick]\n"
    "         Checks the database and the hash chain and signatures of every entry.\n"
    "  journal export --journal FILE --out FILE (--pending | --from SEQ [--to SEQ])\n"
    "         Writes signed entries to a new standalone file for the ledger's replay.\n"
    "  journal sign --journal FILE --key KEY_FILE\n"
    "         Signs entries journaled but not yet signed when the agent stopped.\n"
    "  journal stats --journal FILE [--json]\n"
    "         Counts entries, pending uploads, points and bytes on disk.\n"
    "  enroll --config FILE --out CSR_FILE\n"
    "         Creates the terminal key if missing and writes a certificate request naming the\n"
    "         terminal and its store, for the central team's loyalty-ledger pki issue.\n"
    "  version\n"
    "\n"
    "Options take their value as --name VALUE or --name=VALUE; COMMAND --help describes one.\n"
    "TIME is RFC 3339, e.g. 2026-11-27T10:15:00+03:00; it overrides the basket's \"at\".\n"
    "Exit status: 0 done, 1 bad input (the message names the file and the field), 2 usage;\n"
    "run: 78 for a configuration that is wrong, 75 to be started again (docs/deploy.md).\n";

// A failure to report: which file, and what is wrong with it.
struct InputError {
  std::string file;
  std::string message;
};

runtime::Json read_document(const std::string& file, const std::string& document) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError{file, "cannot open " + document + " file"};
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) throw InputError{file, document + " file is larger than 16 MiB"};
  }
  if (in.bad()) throw InputError{file, "cannot read " + document + " file"};
  try {
    return runtime::parse_json(text, document);
  } catch (const runtime::JsonError& e) {
    throw InputError{file, e.what()};
  }
}

// Runs `read` on a document, attributing its errors to `file`.
template <class F>
auto from_file(const std::string& file, F read) {
  try {
    return read();
  } catch (const runtime::JsonError& e) {
    throw InputError{file, e.what()};
  }
}

domain::Rulebook load_rulebook(const std::string& file) {
  const runtime::Json doc = read_document(file, "rulebook");
  return from_file(file, [&] { return sync::rulebook_from_json(doc); });
}

// A receipt-like summary for people: one row per line, then VAT, limits and points.
void print_text(std::ostream& out, const domain::Rulebook& rules, const domain::Basket& basket,
                const domain::Quote& q) {
  const int e = rules.currency.exponent;
  const auto money = [e](domain::Minor m) { return domain::format_minor(m, e); };
  const auto column = [](const std::string& text, std::size_t width) {
    return text.size() >= width ? text + " " : std::string(width - text.size(), ' ') + text;
  };
  out << "rulebook " << rules.id << " v" << rules.version << ", " << rules.currency.code << "\n";
  out << std::string(28, ' ') << column("gross", 12) << column("points off", 12) << column("pays", 12)
      << column("VAT", 10) << column("redeemed", 10) << column("earned", 8) << "\n";
  for (std::size_t i = 0; i < q.lines.size(); ++i) {
    const domain::QuoteLine& l = q.lines[i];
    std::string name = basket.lines[i].name.empty() ? basket.lines[i].sku : basket.lines[i].name;
    // At most 27 characters, cut and padded by characters, not bytes (names are UTF-8: a
    // Cyrillic letter is two bytes, and a cut between them is not text).
    std::size_t characters = 0;
    std::size_t cut = 0;
    for (; cut < name.size(); ++cut) {
      const bool starts = (static_cast<unsigned char>(name[cut]) & 0xC0) != 0x80;
      if (starts && characters == 27) break;
      characters += starts ? 1 : 0;
    }
    name.resize(cut);
    out << name << std::string(28 - characters, ' ') << column(money(l.gross), 12) << column(money(l.discount), 12)
        << column(money(l.gross - l.discount), 12) << column(money(l.vat), 10)
        << column(std::to_string(l.points_redeemed), 10) << column(std::to_string(l.points_earned), 8) << "\n";
  }
  for (const domain::RateTotal& r : q.rates)
    out << "VAT " << (r.vat_bp ? domain::format_minor(*r.vat_bp, 2) + "%" : std::string("out of scope")) << ": net "
        << money(r.net) << ", VAT " << money(r.vat) << ", gross " << money(r.gross) << "\n";
  std::string binding;
  for (domain::Limit l : q.binding) binding += (binding.empty() ? "" : ", ") + std::string(domain::to_string(l));
  out << "points: requested " << q.requested << ", redeemed " << q.redeemed << " (" << money(q.discount)
      << "), limited by " << binding << "; earned " << q.earned;
  if (q.earned_bonus > 0) out << " (" << q.earned_bonus << " bonus)";
  for (const domain::AppliedCampaign& c : q.campaigns) out << " [" << c.id << "]";
  out << "\ntotal " << money(q.total) << ", payable " << money(q.payable);
  if (q.cash_rounding != 0) out << ", in cash " << money(q.cash_payable);
  out << "\n";
}

// One line per return step: each line's money, VAT and points, then the step's refund.
void print_refund_text(std::ostream& out, const domain::Rulebook& rules, const std::vector<domain::Refund>& refunds,
                       const std::vector<std::optional<domain::Points>>& balances) {
  const auto money = [&rules](domain::Minor m) { return domain::format_minor(m, rules.currency.exponent); };
  for (std::size_t s = 0; s < refunds.size(); ++s) {
    const domain::Refund& r = refunds[s];
    out << "step " << s + 1 << ":";
    for (const domain::LineRefund& l : r.lines)
      out << " line " << l.line << " x"
          << (l.qty_milli % 1000 == 0 ? std::to_string(l.qty_milli / 1000) : domain::format_minor(l.qty_milli, 3))
          << ": money " << money(l.money) << ", VAT " << money(l.vat) << ", points back " << l.points_returned
          << ", clawed back " << l.points_clawed_back << ";";
    out << " refund " << money(r.money_paid) << ", balance " << (r.balance_change >= 0 ? "+" : "") << r.balance_change;
    if (balances[s]) out << " (now " << *balances[s] << ")";
    out << "\n";
  }
}

void print(std::ostream& out, const runtime::OrderedJson& document, bool compact) {
  out << (compact ? document.dump() : document.dump(2)) << "\n";
}

int quote_command(const Options& options, std::ostream& out) {
  const std::string& rulebook_file = options.value("--rulebook");
  const std::string& basket_file = options.value("--basket");
  const domain::Rulebook rules = load_rulebook(rulebook_file);
  const runtime::Json basket_doc = read_document(basket_file, "basket");
  sync::BasketDocument basket = from_file(basket_file, [&] {
    sync::BasketDocument b = sync::basket_from_json(basket_doc);
    sync::check_basket_against(b, rules);
    return b;
  });
  if (auto at = options.values.find("--at"); at != options.values.end()) {
    auto instant = sync::parse_rfc3339(at->second);
    if (!instant) throw InputError{"--at", "must be an RFC 3339 time like 2026-11-27T10:15:00+03:00"};
    basket.basket.at = *instant;
  } else if (!basket.has_time) {
    basket.basket.at =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  std::optional<domain::Member> member;
  if (auto m = options.values.find("--member"); m != options.values.end()) {
    const runtime::Json member_doc = read_document(m->second, "member");
    member = from_file(m->second, [&] { return sync::member_from_json(member_doc, rules); });
  }
  domain::Quote q;
  try {
    q = domain::quote(rules, basket.basket, member ? &*member : nullptr);
  } catch (const std::exception& e) {
    throw InputError{basket_file, std::string("basket cannot be quoted: ") + e.what()};
  }
  if (options.has("--text"))
    print_text(out, rules, basket.basket, q);
  else
    print(out, sync::quote_to_json(rules, basket.basket, q), options.has("--compact"));
  return exit_ok;
}

int refund_command(const Options& options, std::ostream& out) {
  const domain::Rulebook rules = load_rulebook(options.value("--rulebook"));
  const std::string& sale_file = options.value("--sale");
  const std::string& return_file = options.value("--return");
  const runtime::Json sale_doc = read_document(sale_file, "sale");
  const sync::SaleDocument sale = from_file(sale_file, [&] { return sync::sale_from_json(sale_doc); });
  if (sale.currency != rules.currency.code)
    throw InputError{sale_file, "sale.currency: \"" + sale.currency + "\" does not match the rulebook's currency \"" +
                                    std::string(rules.currency.code) + "\""};
  const runtime::Json return_doc = read_document(return_file, "return");
  const sync::ReturnDocument request = from_file(return_file, [&] { return sync::return_from_json(return_doc); });

  // Compute every step first; a bad step fails the whole command before anything is printed.
  std::vector<domain::Refund> refunds;
  std::vector<std::optional<domain::Points>> balances;  // the member's balance after each step, if known
  std::vector<std::int64_t> returned(sale.lines.size(), 0);
  std::optional<domain::Points> balance = request.member_balance;
  for (std::size_t s = 0; s < request.steps.size(); ++s) {
    try {
      refunds.push_back(
          domain::refund(rules.refund, rules.redemption.point_value, sale.lines, returned, request.steps[s], balance));
    } catch (const std::exception& e) {
      throw InputError{return_file, "return.steps[" + std::to_string(s) + "]: " + e.what()};
    }
    returned = refunds.back().returned_after;
    if (balance) *balance += refunds.back().balance_change;
    balances.push_back(balance);
  }

  if (options.has("--text")) {
    print_refund_text(out, rules, refunds, balances);
    return exit_ok;
  }
  runtime::OrderedJson steps = runtime::OrderedJson::array();
  for (const domain::Refund& r : refunds) steps.push_back(sync::refund_to_json(r));
  runtime::OrderedJson result;
  if (!sale.receipt_id.empty()) result["receipt_id"] = sale.receipt_id;
  result["currency"] = sale.currency;
  result["vat_mode"] = rules.refund.vat == domain::RefundVat::recompute ? "recompute" : "cumulative";
  result["steps"] = steps;
  runtime::OrderedJson remaining = runtime::OrderedJson::array();
  for (std::size_t i = 0; i < sale.lines.size(); ++i) remaining.push_back(sale.lines[i].qty_milli - returned[i]);
  result["remaining_qty_milli"] = remaining;
  if (balance) result["member_balance_after"] = *balance;
  print(out, result, options.has("--compact"));
  return exit_ok;
}

// Writes the terminal's certificate request. The key is the journal's signing key, so the
// certificate the central team issues also enrolls the key the ledger verifies entries with.
int enroll_command(const Options& options, std::ostream& out) {
  const std::string& file = options.value("--config");
  Config config;
  try {
    config = load_config(file);
  } catch (const runtime::JsonError& e) {
    throw InputError{file, e.what()};
  }
  std::filesystem::create_directories(config.data_dir);
  const storage::TerminalKey key = storage::load_or_create_terminal_key(config.key_path());
  const std::string csr = sync::make_terminal_csr(key.key, config.terminal_id, config.store_id);
  storage::write_file_atomically(options.value("--out"), csr, 0644);
  out << (key.origin == storage::KeyOrigin::created ? "created terminal key " : "using terminal key ")
      << config.key_path().string() << "\nwrote certificate request for terminal " << config.terminal_id << " of store "
      << config.store_id << " to " << options.value("--out") << "\n";
  return exit_ok;
}

}  // namespace

int run_cli(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? exit_usage : exit_ok;
  }
  const std::string_view command = args[0];
  const auto rest = args.subspan(1);
  if (runtime::wants_help(rest)) {
    out << runtime::command_usage(kUsage, command);
    return exit_ok;
  }
  try {
    if (command == "version" || command == "--version") {
      out << "loyalty-agent " << LOYALTY_VERSION << "\n";
      return exit_ok;
    }
    if (command == "quote") {
      auto options =
          parse_options(rest, {"--rulebook", "--basket", "--member", "--at"}, {"--compact", "--text"}, kUsage, err);
      if (!options || !require(*options, {"--rulebook", "--basket"}, kUsage, err)) return exit_usage;
      return quote_command(*options, out);
    }
    if (command == "journal") return journal_command(rest, out, err);
    if (command == "run") {
      const auto options = parse_options(rest, {"--config"}, {}, kUsage, err);
      if (!options || !require(*options, {"--config"}, kUsage, err)) return exit_usage;
      return run_daemon(options->value("--config"), err);
    }
    if (command == "check-config") {
      const auto options = parse_options(rest, {"--config"}, {}, kUsage, err);
      if (!options || !require(*options, {"--config"}, kUsage, err)) return exit_usage;
      return check_config(options->value("--config"), out, err);
    }
    if (command == "enroll") {
      const auto options = parse_options(rest, {"--config", "--out"}, {}, kUsage, err);
      if (!options || !require(*options, {"--config", "--out"}, kUsage, err)) return exit_usage;
      return enroll_command(*options, out);
    }
    if (command == "refund") {
      auto options = parse_options(rest, {"--rulebook", "--sale", "--return"}, {"--compact", "--text"}, kUsage, err);
      if (!options || !require(*options, {"--rulebook", "--sale", "--return"}, kUsage, err)) return exit_usage;
      return refund_command(*options, out);
    }
  } catch (const InputError& e) {
    err << "loyalty-agent: " << e.file << ": " << e.message << "\n";
    return exit_failed;
  } catch (const std::exception& e) {  // a file that cannot be read or written, names and all
    err << "loyalty-agent: " << e.what() << "\n";
    return exit_failed;
  }
  err << "loyalty-agent: unknown command '" << command << "'\n" << kUsage;
  return exit_usage;
}

}  // namespace loyalty::agent
