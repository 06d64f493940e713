#pragma once

// A participant's local durable state (one RocksDB in the client's
// state_dir), so that neither a crash nor a reconnect loses a case or
// applies one twice:
//
// - processed ids: the message ids already handed to the partner system,
//   with their outcome, kept `retention` after they were recorded (they
//   must outlive any redelivery: the broker's maximum time-to-live, and the
//   time an operator may take to replay a dead letter);
// - effects: key/value state the handler writes while handling a delivery,
//   committed in the same synced batch as the delivery's processed id
//   (either both are durable or neither is);
// - outbox: envelopes submitted but not yet answered by the broker, kept
//   (synced) before they are sent and removed once answered, so a process
//   killed in between submits the very same envelope again on restart;
// - hand-offs: what a handler still has to do to hand a processed delivery
//   to the partner system (say, rename a synced hidden file into the
//   partner's folder), recorded in the same synced write as the processed
//   id and forgotten once done: after a crash between the two, the client
//   finishes it when it starts instead of handling the delivery again.
//
// After a failed write (disk full, I/O error) RocksDB refuses every write;
// the next write first makes the store writable again: DB::Resume, or,
// once a probe file can be written, closing and opening it again (at most
// once a second). Nothing synced is lost either way.
//
// Thread-safety: all methods may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace relais::sdk {

class LocalStore;

// Handler state staged while handling deliveries, committed with their
// processed ids (LocalStore::Commit). Reads see the store, then what the
// enclosing stages wrote, then what this one wrote.
class Effects {
 public:
  void Put(std::string key, std::string value) {
    writes_[std::move(key)] = std::move(value);
  }
  void Delete(std::string key) { writes_[std::move(key)] = std::nullopt; }
  // The value of `key` as it will be once committed.
  Result<std::optional<std::string>> Get(const std::string& key) const;
  // A stage on top of this one (one delivery within a batch): its writes
  // join this one by Absorb, or are dropped with it.
  Effects Stage() const { return Effects(store_, this); }
  void Absorb(Effects&& stage);
  bool empty() const { return writes_.empty(); }

 private:
  friend class LocalStore;
  Effects(const LocalStore* store, const Effects* base)
      : store_(store), base_(base) {}
  const LocalStore* store_;
  const Effects* base_;
  std::map<std::string, std::optional<std::string>> writes_;
};

class LocalStore {
 public:
  enum class Outcome : uint8_t { kProcessed = 0, kRejected = 1 };
  struct Options {
    // How long a processed id is remembered. Default: 100 days (the broker's
    // default max_ttl_days is 90).
    std::chrono::hours retention{24 * 100};
  };

  // Opens or creates the store in `dir`. IOError naming the folder if it
  // cannot (including a damaged store: it is never silently reset).
  static Result<std::unique_ptr<LocalStore>> Open(const std::string& dir,
                                                  Options options);
  ~LocalStore();

  // --- processed ids and effects
  // True if `message_id` was recorded; its outcome in `*outcome` if given.
  Result<bool> Contains(std::string_view message_id,
                        Outcome* outcome = nullptr) const;
  struct Entry {
    std::string message_id;
    Outcome outcome = Outcome::kProcessed;
    // Recorded as a pending hand-off with the id when not empty.
    std::string hand_off;
  };
  // A fresh, empty set of effects to stage writes in.
  Effects NewEffects() const { return Effects(this, nullptr); }
  // Records `entries` (and their hand-offs) and applies `effects` with one
  // synced write: all or none are durable when this returns. The keys of
  // the hand-offs recorded, in entry order, go to `*hand_off_keys` if given
  // (cleared if the write fails). InvalidArgument for a hand-off whose
  // message id is longer than 255 bytes.
  Status Commit(const std::vector<Entry>& entries, const Effects& effects,
                int64_t at_ms, std::vector<uint64_t>* hand_off_keys = nullptr);
  struct HandOff {
    uint64_t key = 0;
    std::string message_id;
    std::string record;
  };
  // Every hand-off recorded and not forgotten, in the order recorded.
  Result<std::vector<HandOff>> HandOffs() const;
  // Forgets completed hand-offs (not synced: one forgotten by a write that
  // a crash undid is merely completed again, which must be harmless).
  Status ForgetHandOffs(const std::vector<uint64_t>& keys);
  // Forgets processed ids recorded before `now_ms - retention`, at most
  // `limit` of them; returns how many.
  Result<uint64_t> Prune(int64_t now_ms, uint64_t limit = 100000);
  // The committed value of effect `key`, or nullopt.
  Result<std::optional<std::string>> GetEffect(const std::string& key) const;
  // Calls `fn` for every committed effect whose key starts with `prefix`,
  // in key order, until it returns false.
  Status ForEachEffect(
      std::string_view prefix,
      const std::function<bool(std::string_view, std::string_view)>& fn) const;

  // --- outbox
  // Keeps `envelopes` with one synced write; returns their outbox keys, in
  // the same order (keys grow: restored envelopes keep their order). The
  // same write removes the answered envelopes kept under `answered`.
  Result<std::vector<uint64_t>> Keep(
      const std::vector<std::string_view>& envelopes,
      const std::vector<uint64_t>& answered = {});
  // The first of `n` new outbox keys, in order, for KeepUnder: a submit can
  // be sent under its key while it is being kept.
  uint64_t ReserveOutboxKeys(size_t n);
  struct ToKeep {
    uint64_t key;  // from ReserveOutboxKeys
    std::string_view envelope;
  };
  // Keeps each envelope under its key with one synced write, then removes
  // in that write those kept under `answered` (one answered before it was
  // kept is thus never left behind).
  Status KeepUnder(const std::vector<ToKeep>& envelopes,
                   const std::vector<uint64_t>& answered = {});
  // Removes answered envelopes (not synced: after a crash they are merely
  // submitted again, and the broker answers with their first receipts).
  Status Forget(const std::vector<uint64_t>& keys);
  struct Kept {
    uint64_t key;
    std::string envelope;
  };
  // Everything kept and not forgotten, oldest first.
  Result<std::vector<Kept>> Outbox() const;

 private:
  LocalStore(std::string dir, Options options);
  // Opens the database into db_ and cf_ (mu_ held exclusively).
  Status OpenDb();
  void CloseDb();
  // Writes `batch` (synced if `sync`); a failure makes the store recover
  // before its next write.
  Status Write(rocksdb::WriteBatch* batch, bool sync, const char* what);
  // Makes the store writable again after a failed write (see above).
  Status Recover();

  const std::string dir_;
  const Options options_;
  // Guards db_ and cf_: shared for reads and writes, exclusive to reopen.
  mutable std::shared_mutex mu_;
  std::unique_ptr<rocksdb::DB> db_;
  // default (processed ids), processed_by_time, effects, outbox, hand_offs
  std::vector<rocksdb::ColumnFamilyHandle*> cf_;
  std::atomic<uint64_t> next_outbox_key_{1};
  std::atomic<uint64_t> next_hand_off_key_{1};
  std::atomic<bool> failed_{false};
  std::mutex recover_mu_;
  std::chrono::steady_clock::time_point next_reopen_;  // recover_mu_
};

}  // namespace relais::sdk
