#include "ledger/ledger.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <set>
#include <tuple>

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

// Whether the entry takes points from its member's lots (a redemption or a clawback).
bool spends(const storage::EntryDraft& d) { return d.points_redeemed > 0 || d.points_earned < 0; }

void sort_unique(std::vector<std::string>& ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

// The members of these entries, and those of them who spend points, each sorted without
// repeats: the order lock_accounts takes them in.
template <class Runs>
std::pair<std::vector<std::string>, std::vector<std::string>> members_of(const Runs& runs) {
  std::pair<std::vector<std::string>, std::vector<std::string>> out;
  for (const std::span<const sync::WireEntry> run : runs) {
    for (const sync::WireEntry& wire : run) {
      const storage::EntryDraft& d = wire.entry.draft;
      if (d.member_id.empty()) continue;
      out.first.push_back(d.member_id);
      if (spends(d)) out.second.push_back(d.member_id);
    }
  }
  sort_unique(out.first);
  sort_unique(out.second);
  return out;
}

// A member's lots in the order they are spent and expire: the store's key order.
bool spent_before(const Lot& a, const Lot& b) {
  return std::tie(a.expires_at_ms, a.terminal_id, a.seq) < std::tie(b.expires_at_ms, b.terminal_id, b.seq);
}

}  // namespace

void MemberState::add_lot(Lot lot) {
  const auto at = std::upper_bound(lots.begin(), lots.end(), lot,
                                   [](const Lot& l, const OpenLot& o) { return spent_before(l, o.lot); });
  lots.insert(at, OpenLot{std::move(lot), true});
}

WorkingSet::WorkingSet(LedgerStore& store, std::vector<std::string> member_ids) : store_(&store) {
  add(member_ids, member_ids);
}

void WorkingSet::add(std::span<const std::string> member_ids, std::span<const std::string> with_lots) {
  std::vector<std::string> missing;
  for (const std::string& id : member_ids) {
    if (!members_.contains(id)) missing.push_back(id);
  }
  if (!missing.empty()) {
    for (Account& account : store_->lock_accounts(missing)) {
      std::string id = account.member_id;
      members_[std::move(id)].account = std::move(account);
    }
    for (std::string& id : missing) {
      MemberState& member = members_[id];
      if (member.account.member_id.empty()) member.account.member_id = std::move(id);
    }
  }
  std::vector<std::string> unread;
  for (const std::string& id : with_lots) {
    const auto found = members_.find(id);
    if (found != members_.end() && !found->second.lots_read) unread.push_back(id);
  }
  if (!unread.empty()) read_lots(unread);
}

void WorkingSet::read_lots(std::span<const std::string> member_ids) {
  std::map<std::string, std::vector<OpenLot>, std::less<>> stored;
  for (Lot& lot : store_->open_lots(member_ids)) {
    const std::string id = lot.member_id;
    stored[id].push_back(OpenLot{std::move(lot), false});
  }
  for (const std::string& id : member_ids) {
    MemberState& member = members_.at(id);
    // Lots added in memory before these were read, merged into their places.
    std::vector<OpenLot> merged = std::move(stored[id]);
    const auto middle = static_cast<std::ptrdiff_t>(merged.size());
    std::move(member.lots.begin(), member.lots.end(), std::back_inserter(merged));
    std::inplace_merge(merged.begin(), merged.begin() + middle, merged.end(),
                       [](const OpenLot& a, const OpenLot& b) { return spent_before(a.lot, b.lot); });
    member.lots = std::move(merged);
    member.lots_read = true;
  }
}

MemberState& WorkingSet::member(const std::string& member_id) {
  const auto found = members_.find(member_id);
  if (found != members_.end()) return found->second;
  const std::string ids[] = {member_id};
  add(ids, {});
  return members_.at(member_id);
}

std::vector<OpenLot>& WorkingSet::lots(MemberState& member) {
  if (!member.lots_read) {
    const std::string ids[] = {member.account.member_id};
    read_lots(ids);
  }
  return member.lots;
}

void WorkingSet::collect(StoreChanges& changes) {
  for (auto& [id, member] : members_) {
    if (member.dirty) changes.accounts.push_back(member.account);
    for (const OpenLot& open : member.lots) {
      if (open.dirty) changes.lots.push_back(open.lot);
    }
  }
}

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
    auto existing = store_.lock_terminal(terminal_id);
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
    auto terminal = store_.lock_terminal(terminal_id);
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
    created = updated = 0;
    std::vector<std::string> ids;
    for (const MemberRecord& record : members) ids.push_back(record.member_id);
    sort_unique(ids);
    WorkingSet working(store_, std::move(ids));
    StoreChanges changes;
    for (const MemberRecord& record : members) {
      MemberState& member = working.member(record.member_id);
      const bool existing = member.account.cursor != 0;
      member.account.tier = record.tier;
      member.account.status = record.status;
      if (!existing && record.balance > 0) {
        member.account.balance = record.balance;
        add_lot(member, "", 0, record.balance, record.balance, now_ms);
      }
      member.dirty = true;
      changes.member_keys.emplace_back(record.member_id, record.keys);
      ++(existing ? updated : created);
    }
    working.collect(changes);
    store_.write(changes);
  });
  return {created, updated};
}

Terminal Ledger::uploading(std::string_view terminal_id) {
  auto terminal = store_.lock_terminal(terminal_id);
  if (!terminal) {
    throw Refusal("terminal_unknown", "terminal " + std::string(terminal_id) + " is not enrolled at this ledger");
  }
  if (terminal->revoked_at_ms)
    throw Refusal("terminal_revoked", "terminal " + std::string(terminal_id) + " was revoked");
  return *terminal;
}

sync::Ack Ledger::ingest(std::string_view terminal_id, std::span<const sync::WireEntry> entries, std::int64_t now_ms) {
  sync::Ack ack;
  store_.transaction([&] {
    ack = sync::Ack{};
    ack.terminal_id = terminal_id;
    Terminal terminal = uploading(terminal_id);
    StoreChanges changes;
    changes.applied_at_ms = now_ms;
    WorkingSet members(store_);
    std::vector<std::vector<sync::WireEntry>> held;
    if (!accept(terminal, terminal.head_seq, entries, members, changes, held, ack)) {
      throw std::logic_error("a batch found entries above the head the store holds");
    }
    members.collect(changes);
    terminal.last_upload_ms = now_ms;
    changes.terminals.push_back(terminal);
    store_.write(changes);
    ack.acknowledged_through = terminal.head_seq;
    ack.member_cursor = store_.member_cursor();
  });
  return ack;
}

bool Ledger::accept(Terminal& terminal, std::int64_t stored_head, std::span<const sync::WireEntry> entries,
                    WorkingSet& members, StoreChanges& changes, std::vector<std::vector<sync::WireEntry>>& held,
                    sync::Ack& ack) {
  if (entries.empty()) return true;
  verify_batch(terminal, entries);
  const std::string& terminal_id = terminal.terminal_id;
  std::size_t fresh = 0;  // the first entry above the head
  while (fresh < entries.size() && entries[fresh].entry.seq <= terminal.head_seq) ++fresh;
  if (fresh > 0) {
    if (entries[fresh - 1].entry.seq > stored_head) return false;
    const auto stored = store_.entry_hashes(terminal_id, entries.front().entry.seq, entries[fresh - 1].entry.seq);
    for (std::size_t i = 0; i < fresh; ++i) {
      const storage::JournalEntry& e = entries[i].entry;
      if (i >= stored.size() || stored[i].first != e.seq || stored[i].second != e.hash) {
        throw Refusal("entry_differs", "entry " + entry_name(terminal_id, e.seq) +
                                           " differs from the entry with that sequence the ledger applied before");
      }
    }
  }
  ack.duplicates = static_cast<std::int64_t>(fresh);
  const auto rest = entries.subspan(fresh);
  if (!rest.empty() && rest.front().entry.seq > terminal.head_seq + 1) {
    for (const sync::WireEntry& wire : rest) changes.held.push_back(&wire);
    ack.held_back = static_cast<std::int64_t>(rest.size());
  } else if (!rest.empty()) {
    if (rest.front().entry.prev_hash != terminal.head_hash) {
      throw Refusal("broken_chain", "entry " + entry_name(terminal_id, rest.front().entry.seq) +
                                        " does not link to entry " + std::to_string(terminal.head_seq) +
                                        " the ledger holds");
    }
    // Entries held back after a gap this batch fills, applied with it.
    std::vector<sync::WireEntry> next = store_.held_run(terminal_id, rest.back().entry.seq + 1);
    if (!next.empty()) {
      changes.drop_held.emplace_back(terminal_id, next.back().entry.seq);
      if (next.front().entry.prev_hash != rest.back().entry.hash) next.clear();  // another chain: the terminal resends
    }
    const std::span<const sync::WireEntry> runs[] = {rest, next};
    const auto [ids, spenders] = members_of(runs);
    members.add(ids, spenders);
    apply_run(terminal, rest, members, changes);
    if (!next.empty()) {
      held.push_back(std::move(next));
      apply_run(terminal, held.back(), members, changes);
    }
    ack.applied = static_cast<std::int64_t>(rest.size());
  }
  return true;
}

std::vector<PartOutcome> Ledger::ingest_parts(std::span<const ReplayPart> parts, std::size_t run, std::int64_t now_ms) {
  std::vector<PartOutcome> outcomes;
  store_.transaction([&] {
    outcomes.assign(parts.size(), PartOutcome{});
    // What the group changed since it last wrote. A terminal met again in another file is
    // written first, so that its held entries and the hashes of what it applied are in the store.
    std::optional<WorkingSet> members;
    StoreChanges changes;
    // The terminals touched since the group last wrote: each as it is now, with the head the
    // store holds and the file that touched it.
    struct Touched {
      Terminal terminal;
      std::int64_t stored_head = 0;
      std::size_t file = 0;
    };
    std::map<std::string, Touched, std::less<>> terminals;
    std::vector<std::vector<sync::WireEntry>> held;
    std::set<std::size_t> refused_files;
    const auto start = [&](std::size_t from) {
      members.emplace(store_);
      changes = StoreChanges{};
      changes.applied_at_ms = now_ms;
      std::vector<std::span<const sync::WireEntry>> runs;
      for (std::size_t i = from; i < parts.size(); ++i) runs.push_back(parts[i].entries);
      const auto [ids, spenders] = members_of(runs);
      members->add(ids, spenders);
    };
    const auto flush = [&] {
      members->collect(changes);
      for (auto& [id, touched] : terminals) changes.terminals.push_back(touched.terminal);
      store_.write(changes);
      terminals.clear();
      held.clear();
    };
    const auto touch = [&](const ReplayPart& part) -> Touched& {
      Terminal terminal = uploading(part.terminal_id);
      const std::int64_t head = terminal.head_seq;
      return terminals.insert_or_assign(part.terminal_id, Touched{std::move(terminal), head, part.file}).first->second;
    };
    start(0);
    for (std::size_t p = 0; p < parts.size(); ++p) {
      const ReplayPart& part = parts[p];
      PartOutcome& outcome = outcomes[p];
      if (part.entries.empty() || refused_files.contains(part.file)) continue;
      const auto found = terminals.find(part.terminal_id);
      Touched* touched = found == terminals.end() ? nullptr : &found->second;
      if (touched != nullptr && touched->file != part.file) {
        flush();
        start(p);
        touched = nullptr;
      }
      for (std::size_t first = 0; first < part.entries.size(); first += run) {
        const auto entries = part.entries.subspan(first, std::min(run, part.entries.size() - first));
        try {
          if (touched == nullptr) touched = &touch(part);
          sync::Ack ack;
          if (!accept(touched->terminal, touched->stored_head, entries, *members, changes, held, ack)) {
            // It repeats entries applied since the group last wrote: written, they can be compared.
            flush();
            start(p);
            touched = &touch(part);
            if (!accept(touched->terminal, touched->stored_head, entries, *members, changes, held, ack)) {
              throw std::logic_error("a replayed run found entries above the head the store holds");
            }
          }
          touched->terminal.last_upload_ms = now_ms;
          outcome.accepted += static_cast<std::int64_t>(entries.size());
          outcome.applied += ack.applied;
          outcome.duplicates += ack.duplicates;
          outcome.held_back += ack.held_back;
          outcome.acknowledged_through = touched->terminal.head_seq;
        } catch (const Refusal& refusal) {
          outcome.refusal = refusal;
          outcome.refused_at = entries.front().entry.seq;
          refused_files.insert(part.file);
          break;
        }
      }
    }
    flush();
  });
  return outcomes;
}

void Ledger::apply_run(Terminal& terminal, std::span<const sync::WireEntry> run, WorkingSet& members,
                       StoreChanges& changes) {
  for (const sync::WireEntry& wire : run) apply(wire, members, changes);
  terminal.head_seq = run.back().entry.seq;
  terminal.head_hash = run.back().entry.hash;
}

void Ledger::apply(const sync::WireEntry& wire, WorkingSet& members, StoreChanges& changes) {
  changes.entries.push_back(&wire);
  const storage::JournalEntry& entry = wire.entry;
  const storage::EntryDraft& d = entry.draft;
  if (d.member_id.empty()) return;
  changes.consumed_holds.emplace_back(entry.terminal_id, d.receipt_id);
  MemberState& member = members.member(d.member_id);
  Account& account = member.account;
  const std::int64_t spent = std::max<std::int64_t>(d.points_redeemed, 0) + std::max<std::int64_t>(-d.points_earned, 0);
  if (spent > 0) {
    // Points whose time had come when the entry was recorded could not be spent by it.
    for (OpenLot& open : members.lots(member)) {
      if (open.lot.expires_at_ms > d.recorded_at_ms) break;
      if (open.lot.remaining == 0) continue;
      expire_lot(account, open.lot);
      open.dirty = true;
    }
    if (d.points_redeemed > 0) {
      const std::int64_t available = std::max<std::int64_t>(account.balance, 0);
      if (d.points_redeemed > available) {
        changes.conflicts.push_back({d.member_id, entry.terminal_id, entry.seq, d.receipt_id, d.points_redeemed,
                                     available, account.last_redeem_terminal, account.last_redeem_seq,
                                     d.recorded_at_ms});
      }
      account.last_redeem_terminal = entry.terminal_id;
      account.last_redeem_seq = entry.seq;
    }
    spend(member, spent);
  }
  const std::int64_t credited =
      std::max<std::int64_t>(d.points_earned, 0) + std::max<std::int64_t>(-d.points_redeemed, 0);
  if (credited > 0) credit(member, entry, credited);
  if (spent > 0 || credited > 0 || account.cursor == 0) member.dirty = true;
}

void Ledger::spend(MemberState& member, std::int64_t points) {
  member.account.balance -= points;
  for (OpenLot& open : member.lots) {
    if (points == 0) break;
    if (open.lot.remaining == 0) continue;
    const std::int64_t taken = std::min(points, open.lot.remaining);
    open.lot.remaining -= taken;
    open.dirty = true;
    points -= taken;
  }
}

void Ledger::credit(MemberState& member, const storage::JournalEntry& entry, std::int64_t points) {
  const std::int64_t debt = std::max<std::int64_t>(-member.account.balance, 0);
  member.account.balance += points;
  const std::int64_t left = points - std::min(points, debt);
  if (left > 0) add_lot(member, entry.terminal_id, entry.seq, points, left, entry.draft.recorded_at_ms);
}

void Ledger::add_lot(MemberState& member, const std::string& terminal_id, std::int64_t seq, std::int64_t points,
                     std::int64_t remaining, std::int64_t earned_at_ms) {
  Lot lot;
  lot.member_id = member.account.member_id;
  lot.terminal_id = terminal_id;
  lot.seq = seq;
  lot.points = points;
  lot.remaining = remaining;
  lot.earned_at_ms = earned_at_ms;
  lot.expires_at_ms = earned_at_ms + settings_.expiry_days * kDayMs;
  member.add_lot(std::move(lot));
}

Authorization Ledger::authorize(std::string_view terminal_id, const AuthorizeRequest& request, std::int64_t now_ms) {
  Authorization result;
  store_.transaction([&] {
    result = Authorization{};
    store_.consume_hold(terminal_id, request.receipt_id);
    if (!store_.account(request.member_id)) {
      result.outcome = Authorization::Outcome::member_unknown;
      return;
    }
    // Locked: two authorizations for one member, on two ledger processes, wait for each other.
    const std::string ids[] = {request.member_id};
    const auto locked = store_.lock_accounts(ids);
    const std::optional<Account> account = locked.empty() ? std::nullopt : std::optional(locked.front());
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
    std::int64_t chunk_expired = 0;
    store_.transaction([&] {
      chunk_expired = 0;
      const std::vector<Lot> due = store_.expiring_lots(now_ms, kExpiryChunk);
      found = due.size();
      std::vector<std::string> ids;
      for (const Lot& lot : due) ids.push_back(lot.member_id);
      sort_unique(ids);
      // Read again under the members' locks: an upload may have spent some of them meanwhile.
      WorkingSet working(store_, std::move(ids));
      working.for_each([&](MemberState& member) {
        for (OpenLot& open : member.lots) {
          if (open.lot.expires_at_ms > now_ms) break;
          if (open.lot.remaining == 0) continue;
          chunk_expired += open.lot.remaining;
          expire_lot(member.account, open.lot);
          open.dirty = true;
          member.dirty = true;
        }
      });
      StoreChanges changes;
      working.collect(changes);
      store_.write(changes);
    });
    expired += chunk_expired;
    if (found < kExpiryChunk) break;
  }
  // Apart from the lots: a transaction that holds the member feed's counter (above) does not
  // also wait for holds an upload is consuming.
  store_.transaction([&] { store_.drop_expired_holds(now_ms); });
  return expired;
}

}  // namespace loyalty::ledger
