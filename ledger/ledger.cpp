#include "ledger/ledger.hpp"

#include <algorithm>

#include "ledger/members.hpp"

namespace loyalty::ledger {
namespace {

constexpr std::int64_t kDayMs = 24LL * 60 * 60 * 1000;
constexpr std::size_t kExpiryChunk = 1000;

// Expires what is left of `lot` from `account`.
void expire_lot(Account& account, Lot& lot) {
  account.balance -= lot.remaining;
  lot.expired += lot.remaining;
  lot.remaining = 0;
}

std::string entry_name(std::string_view terminal_id, std::int64_t seq) {
  return std::string(terminal_id) + "#" + std::to_string(seq);
}

// Checks what can be checked without the store: one terminal, hash links, the last signature.
void verify_batch(const Terminal& terminal, std::span<const sync::WireEntry> entries) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const storage::JournalEntry& e = entries[i].entry;
    if (e.terminal_id != terminal.terminal_id) {
      throw Refusal("wrong_terminal", "terminal " + terminal.terminal_id + " may upload only its own journal; entry " +
                                          std::to_string(e.seq) + " belongs to terminal " + e.terminal_id);
    }
    if (i > 0) {
      const storage::JournalEntry& before = entries[i - 1].entry;
      if (e.seq != before.seq + 1) {
        throw Refusal("broken_chain", "entry " + entry_name(e.terminal_id, e.seq) + " does not follow entry " +
                                          std::to_string(before.seq));
      }
      if (e.prev_hash != before.hash) {
        throw Refusal("broken_chain", "entry " + entry_name(e.terminal_id, e.seq) +
                                          " does not link to the hash of entry " + std::to_string(before.seq) +
                                          ": an entry was changed, removed or reordered");
      }
    }
  }
  const storage::JournalEntry& last = entries.back().entry;
  if (!last.signature) {
    throw Refusal("unsigned_entry", "entry " + entry_name(last.terminal_id, last.seq) +
                                        " ends the batch without a signature: only signed entries may be sent");
  }
  if (!storage::PublicKey(terminal.public_key).verify(last.hash, *last.signature)) {
    throw Refusal("bad_signature", "the signature of entry " + entry_name(last.terminal_id, last.seq) +
                                       " does not verify with the key terminal " + terminal.terminal_id +
                                       " enrolled: the entries were changed or signed by another key");
  }
}

}  // namespace

std::string_view to_string(Authorization::Outcome outcome) {
  switch (outcome) {
    case Authorization::Outcome::approved: return "approved";
    case Authorization::Outcome::declined: return "declined";
    case Authorization::Outcome::member_unknown: return "member_unknown";
    case Authorization::Outcome::member_blocked: return "member_blocked";
  }
  return "declined";
}

Ledger::Ledger(LedgerStore& store, LedgerSettings settings) : store_(store), settings_(settings) {}

Terminal Ledger::enroll(std::string_view terminal_id, std::string_view store_id, const storage::PublicKeyBytes& key,
                        std::int64_t now_ms) {
  try {
    storage::validate_terminal_id(terminal_id);
  } catch (const storage::InvalidEntry& error) {
    throw Refusal("terminal_id_invalid", error.what());
  }
  try {
    storage::validate_store_id(store_id);
  } catch (const storage::InvalidEntry& error) {
    throw Refusal("store_id_invalid", error.what());
  }
  Terminal result;
  store_.transaction([&] {
    auto existing = store_.terminal(terminal_id);
    if (existing && existing->public_key != key && existing->head_seq > 0) {
      throw Refusal("key_mismatch", "terminal " + std::string(terminal_id) +
                                        " is enrolled with another key and the ledger holds " +
                                        std::to_string(existing->head_seq) +
                                        " entries signed with it: enroll the new device under a new terminal id");
    }
    result = existing.value_or(Terminal{});
    if (!existing) {
      result.terminal_id = terminal_id;
      result.enrolled_at_ms = now_ms;
    }
    result.store_id = store_id;
    result.public_key = key;
    result.revoked_at_ms.reset();
    store_.save_terminal(result);
  });
  return result;
}

void Ledger::revoke(std::string_view terminal_id, std::int64_t now_ms) {
  store_.transaction([&] {
    auto terminal = store_.terminal(terminal_id);
    if (!terminal) throw Refusal("terminal_unknown", "terminal " + std::string(terminal_id) + " is not enrolled");
    if (!terminal->revoked_at_ms) terminal->revoked_at_ms = now_ms;
    store_.save_terminal(*terminal);
  });
}

std::pair<std::int64_t, std::int64_t> Ledger::import_members(std::span<const MemberRecord> members,
                                                             std::int64_t now_ms) {
  std::int64_t created = 0;
  std::int64_t updated = 0;
  store_.transaction([&] {
    for (const MemberRecord& record : members) {
      auto existing = store_.account(record.member_id);
      Account account = existing.value_or(Account{});
      account.member_id = record.member_id;
      account.tier = record.tier;
      account.status = record.status;
      if (!existing && record.balance > 0) {
        account.balance = record.balance;
        add_lot(record.member_id, "", 0, record.balance, record.balance, now_ms);
      }
      store_.save_account(account);
      store_.set_member_keys(record.member_id, record.keys);
      ++(existing ? updated : created);
    }
  });
  return {created, updated};
}

sync::Ack Ledger::ingest(std::string_view terminal_id, std::span<const sync::WireEntry> entries, std::int64_t now_ms) {
  sync::Ack ack;
  ack.terminal_id = terminal_id;
  store_.transaction([&] {
    auto terminal = store_.terminal(terminal_id);
    if (!terminal) {
      throw Refusal("terminal_unknown", "terminal " + std::string(terminal_id) + " is not enrolled at this ledger");
    }
    if (terminal->revoked_at_ms) {
      throw Refusal("terminal_revoked", "terminal " + std::string(terminal_id) + " was revoked");
    }
    if (!entries.empty()) verify_batch(*terminal, entries);

    std::size_t fresh = 0;  // the first entry above the head
    while (fresh < entries.size() && entries[fresh].entry.seq <= terminal->head_seq) {
      const storage::JournalEntry& e = entries[fresh].entry;
      if (store_.entry_hash(terminal_id, e.seq) != e.hash) {
        throw Refusal("entry_differs", "entry " + entry_name(terminal_id, e.seq) +
                                           " differs from the entry with that sequence the ledger applied before");
      }
      ++ack.duplicates;
      ++fresh;
    }
    const auto rest = entries.subspan(fresh);
    if (!rest.empty() && rest.front().entry.seq > terminal->head_seq + 1) {
      for (const sync::WireEntry& wire : rest) store_.hold_back(wire);
      ack.held_back = static_cast<std::int64_t>(rest.size());
    } else if (!rest.empty()) {
      if (rest.front().entry.prev_hash != terminal->head_hash) {
        throw Refusal("broken_chain", "entry " + entry_name(terminal_id, rest.front().entry.seq) +
                                          " does not link to entry " + std::to_string(terminal->head_seq) +
                                          " the ledger holds");
      }
      apply_run(*terminal, rest, now_ms);
      ack.applied = static_cast<std::int64_t>(rest.size());
      // Entries held back after the gap this batch filled.
      for (;;) {
        const auto run = store_.held_run(terminal_id, terminal->head_seq + 1);
        if (run.empty()) break;
        store_.drop_held(terminal_id, run.back().entry.seq);
        if (run.front().entry.prev_hash != terminal->head_hash) break;  // another chain: the terminal resends
        apply_run(*terminal, run, now_ms);
      }
    }
    terminal->last_upload_ms = now_ms;
    store_.save_terminal(*terminal);
    ack.acknowledged_through = terminal->head_seq;
    ack.member_cursor = store_.member_cursor();
  });
  return ack;
}

void Ledger::apply_run(Terminal& terminal, std::span<const sync::WireEntry> run, std::int64_t now_ms) {
  for (const sync::WireEntry& wire : run) apply(wire, now_ms);
  terminal.head_seq = run.back().entry.seq;
  terminal.head_hash = run.back().entry.hash;
}

void Ledger::apply(const sync::WireEntry& wire, std::int64_t now_ms) {
  store_.insert_entry(wire, now_ms);
  const storage::JournalEntry& entry = wire.entry;
  const storage::EntryDraft& d = entry.draft;
  if (d.member_id.empty()) return;
  store_.consume_hold(entry.terminal_id, d.receipt_id);
  Account account = account_of(d.member_id);
  const std::int64_t spent = std::max<std::int64_t>(d.points_redeemed, 0) + std::max<std::int64_t>(-d.points_earned, 0);
  if (spent > 0) {
    std::vector<Lot> lots = store_.open_lots(d.member_id);
    // Points whose time had come when the entry was recorded could not be spent by it.
    for (Lot& lot : lots) {
      if (lot.expires_at_ms > d.recorded_at_ms) break;
      expire_lot(account, lot);
      store_.save_lot(lot);
    }
    if (d.points_redeemed > 0) {
      const std::int64_t available = std::max<std::int64_t>(account.balance, 0);
      if (d.points_redeemed > available) {
        store_.add_conflict({d.member_id, entry.terminal_id, entry.seq, d.receipt_id, d.points_redeemed, available,
                             account.last_redeem_terminal, account.last_redeem_seq, d.recorded_at_ms});
      }
      account.last_redeem_terminal = entry.terminal_id;
      account.last_redeem_seq = entry.seq;
    }
    spend(account, lots, spent);
  }
  const std::int64_t credited =
      std::max<std::int64_t>(d.points_earned, 0) + std::max<std::int64_t>(-d.points_redeemed, 0);
  if (credited > 0) credit(account, entry, credited);
  if (spent > 0 || credited > 0 || account.cursor == 0) store_.save_account(account);
}

Account Ledger::account_of(std::string_view member_id) {
  if (auto found = store_.account(member_id)) return std::move(*found);
  Account fresh;
  fresh.member_id = member_id;
  return fresh;
}

void Ledger::spend(Account& account, std::vector<Lot>& lots, std::int64_t points) {
  account.balance -= points;
  for (Lot& lot : lots) {
    if (points == 0) break;
    if (lot.remaining == 0) continue;
    const std::int64_t taken = std::min(points, lot.remaining);
    lot.remaining -= taken;
    points -= taken;
    store_.save_lot(lot);
  }
}

void Ledger::credit(Account& account, const storage::JournalEntry& entry, std::int64_t points) {
  const std::int64_t debt = std::max<std::int64_t>(-account.balance, 0);
  account.balance += points;
  const std::int64_t left = points - std::min(points, debt);
  if (left > 0) add_lot(account.member_id, entry.terminal_id, entry.seq, points, left, entry.draft.recorded_at_ms);
}

void Ledger::add_lot(const std::string& member_id, const std::string& terminal_id, std::int64_t seq,
                     std::int64_t points, std::int64_t remaining, std::int64_t earned_at_ms) {
  Lot lot;
  lot.member_id = member_id;
  lot.terminal_id = terminal_id;
  lot.seq = seq;
  lot.points = points;
  lot.remaining = remaining;
  lot.earned_at_ms = earned_at_ms;
  lot.expires_at_ms = earned_at_ms + settings_.expiry_days * kDayMs;
  store_.save_lot(lot);
}

Authorization Ledger::authorize(std::string_view terminal_id, const AuthorizeRequest& request, std::int64_t now_ms) {
  Authorization result;
  store_.transaction([&] {
    const auto account = store_.account(request.member_id);
    store_.consume_hold(terminal_id, request.receipt_id);
    if (!account) {
      result.outcome = Authorization::Outcome::member_unknown;
      return;
    }
    result.available = std::max<std::int64_t>(account->balance, 0) - store_.held_points(request.member_id, now_ms);
    result.available = std::max<std::int64_t>(result.available, 0);
    if (account->status == domain::MemberStatus::blocked) {
      result.outcome = Authorization::Outcome::member_blocked;
      return;
    }
    if (result.available == 0) {
      result.outcome = Authorization::Outcome::declined;
      return;
    }
    // Like a card payment's partial approval: what is there is held, the rest is paid in money.
    const std::int64_t points = std::min(request.points, result.available);
    Hold hold{
        0, request.member_id, std::string(terminal_id), request.receipt_id, points, now_ms + settings_.hold_ttl_ms};
    store_.add_hold(hold);
    result.outcome = Authorization::Outcome::approved;
    result.points = points;
    result.expires_at_ms = hold.expires_at_ms;
  });
  return result;
}

std::int64_t Ledger::expire(std::int64_t now_ms) {
  std::int64_t expired = 0;
  for (;;) {
    std::size_t found = 0;
    store_.transaction([&] {
      std::vector<Lot> lots = store_.expiring_lots(now_ms, kExpiryChunk);
      found = lots.size();
      for (Lot& lot : lots) {
        Account account = account_of(lot.member_id);
        expired += lot.remaining;
        expire_lot(account, lot);
        store_.save_lot(lot);
        store_.save_account(account);
      }
      if (found < kExpiryChunk) store_.drop_expired_holds(now_ms);
    });
    if (found < kExpiryChunk) break;
  }
  return expired;
}

}  // namespace loyalty::ledger
