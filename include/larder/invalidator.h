// Invalidator: event-driven invalidation of a Cache by rules. When an entity (say "companies")
// is created, updated or deleted, its rule names the glob patterns to remove and the related
// entities whose patterns go too (a cascade). Keeps a bounded history and counters.
// docs/invalidation-rules.md describes rules, the JSON rule files, cascades, history and stats.
//
// Thread safety: every method may be called from any thread. Custom handlers run on the calling
// thread with no lock of the invalidator held, so they may call back into it.
// Ownership: the Invalidator uses a Cache it does not own. REQUIRES: the cache outlives it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "larder/cache.h"
#include "larder/clock.h"
#include "larder/status.h"

namespace larder {

// Frozen values: they index InvalidatorStats::by_event.
enum class InvalidationEvent : uint8_t { kCreated = 0, kUpdated = 1, kDeleted = 2 };
inline constexpr size_t kInvalidationEventCount = 3;
// "created", "updated" or "deleted".
std::string_view InvalidationEventName(InvalidationEvent event) noexcept;

// `text` with each glob metacharacter (* ? [ ] \) escaped by a backslash: a pattern matching
// exactly `text`. What `{id}` substitution applies to ids; handlers use it for literal parts.
std::string EscapeGlob(std::string_view text);

// What a custom handler is told. The views live until the handler returns.
struct InvalidationContext {
  InvalidationEvent event = InvalidationEvent::kUpdated;
  std::string_view entity{};  // the rule's entity: always the event's own, never a cascaded one
  std::string_view id{};      // one id (a batch calls the handler once per id)
  std::string_view data{};    // the caller's `data` as given (often JSON text); empty for batches
  // Set by DryRun: the handler must do no work of its own, only say what it would add.
  bool dry_run = false;
};

// What a custom handler adds to an invalidation; removed together with the rule's patterns.
struct InvalidationTargets {
  std::vector<std::string> patterns{};  // glob patterns, applied as given (no {id} substitution)
  std::vector<std::string> keys{};      // exact keys (no glob syntax)
};

// Returns extra targets and/or does its own work (for example writes elsewhere). A non-OK
// Result, or an exception (reported as Internal), fails the event before the cache is touched.
using InvalidationHandler =
    std::function<Result<InvalidationTargets>(const InvalidationContext& context)>;

struct InvalidationRule {
  // Glob patterns (Cache::InvalidatePattern syntax). `{id}` stands for the event's id, escaped so
  // it matches literally; `\{id}` is the literal text. When the rule is reached by a cascade,
  // `{id}` becomes `*` (the cascade knows no id of this entity).
  std::vector<std::string> patterns{};
  // Entities whose patterns are removed too (up to InvalidatorOptions::max_cascade_depth hops).
  std::vector<std::string> related_entities{};
  // Optional; runs for events of this entity only, not when the entity is reached by a cascade.
  InvalidationHandler custom_handler{};
};

struct InvalidatorOptions {
  // Time source for history and stats; null = SystemClock().
  std::shared_ptr<Clock> clock{};
  // How many related-entity hops a cascade follows. 0 = the entity's own patterns only; 1 (the
  // default) = plus its related entities' (the seed's behaviour); more reaches further and, on a
  // densely related table, removes most of the cache. Each entity applies at most once per event.
  size_t max_cascade_depth = 1;
  // History entries kept (the oldest are dropped first); 0 = keep none. Stats do not depend on it.
  size_t history_capacity = 1000;
};

struct InvalidationResult {
  std::vector<std::string> entities{};  // whose rules applied: the event's, then cascade order
  std::vector<std::string> patterns{};  // after {id} substitution; distinct, in application order
  size_t keys_removed = 0;              // live entries removed (dry run: keys.size())
  std::vector<std::string> keys{};      // dry run only: the live keys it would remove, sorted
};

// One history entry: one InvalidateOn* call, or one InvalidateBatch call.
struct InvalidationRecord {
  int64_t time_nanos = 0;   // the clock's NowNanos() when it ran
  int64_t wall_millis = 0;  // the same instant as wall-clock epoch milliseconds
  InvalidationEvent event = InvalidationEvent::kUpdated;
  std::string entity{};
  std::vector<std::string> ids{};       // one id, or a batch's ids
  std::vector<std::string> patterns{};  // as InvalidationResult::patterns
  size_t keys_removed = 0;
};

// Counters since construction. An event is one id: a batch of n ids counts n. Dry runs and
// failed calls are not counted.
struct InvalidatorStats {
  uint64_t total = 0;
  std::array<uint64_t, kInvalidationEventCount> by_event{};  // index: static_cast<size_t>(event)
  std::map<std::string, uint64_t, std::less<>> by_entity{};  // the event's entity (not cascades)
  uint64_t last_hour = 0;     // events in the hour before GetStats(), to the second
  uint64_t keys_removed = 0;  // live entries removed, summed
};

namespace internal {
class InvalidatorImpl;
}  // namespace internal

class Invalidator {
 public:
  explicit Invalidator(Cache& cache, InvalidatorOptions options = {});
  ~Invalidator();
  Invalidator(const Invalidator&) = delete;
  Invalidator& operator=(const Invalidator&) = delete;

  // ---- Rules ----

  // Registers `rule` for `entity`, replacing any earlier rule of it. InvalidArgument naming the
  // entity (and pattern) when the entity or a related entity name is empty, or a pattern is not
  // a valid glob or has `{id}` inside a [class]. Related entities need not have rules yet (rules
  // may come in any order); an event that reaches one without a rule fails (see CheckRules).
  Status RegisterRule(std::string_view entity, InvalidationRule rule);
  // Loads rules from JSON text (shape in docs/invalidation-rules.md): all or nothing. Each
  // loaded rule replaces the entity's earlier rule, custom handler included. InvalidArgument
  // naming `source`, the entity and the fault: not JSON, a missing or unknown member, a wrong
  // type, a bad glob, a duplicate entity, or a related entity that has a rule neither in the
  // text nor registered before. On error no rule changed. Returns how many rules were loaded.
  Result<size_t> LoadRulesFromJson(std::string_view json, std::string_view source = "<json>");
  // As LoadRulesFromJson on the file's contents, errors prefixed by `path`. NotFound when the
  // file does not exist, IOError when it cannot be read.
  Result<size_t> LoadRulesFromFile(const std::string& path);
  // The entities that have rules, sorted.
  std::vector<std::string> Entities() const;
  // OK when every related entity of every rule has a rule; else NotFound naming both.
  Status CheckRules() const;

  // ---- Events ----

  // Removes the entity's patterns for `id`, then its related entities' (the cascade), then what
  // its custom handler returned. `data` is handed to the handler only. Errors, all before any
  // key is removed: NotFound when `entity`, or a related entity the cascade reaches, has no
  // rule; InvalidArgument for an empty id or a bad pattern from the handler; the handler's own
  // error. Recorded in history and stats when it succeeds.
  Result<InvalidationResult> InvalidateOnCreate(std::string_view entity, std::string_view id,
                                                std::string_view data = {});
  Result<InvalidationResult> InvalidateOnUpdate(std::string_view entity, std::string_view id,
                                                std::string_view data = {});
  Result<InvalidationResult> InvalidateOnDelete(std::string_view entity, std::string_view id,
                                                std::string_view data = {});
  Result<InvalidationResult> Invalidate(InvalidationEvent event, std::string_view entity,
                                        std::string_view id, std::string_view data = {});
  // One event for many ids of one entity: each distinct pattern is removed once (a pattern
  // without {id} is not repeated per id, nor is the cascade). One history entry; stats count
  // each id. The handler runs once per id. No ids: nothing happens (an unknown entity is still
  // NotFound). Errors as Invalidate.
  Result<InvalidationResult> InvalidateBatch(InvalidationEvent event, std::string_view entity,
                                             const std::vector<std::string>& ids);
  // What InvalidateBatch (or Invalidate, with one id) would remove now: the same patterns and
  // the live keys they match in `keys`, removing nothing and recording nothing. Handlers run
  // with dry_run set. Errors as Invalidate. Keys written meanwhile may or may not be listed.
  Result<InvalidationResult> DryRun(InvalidationEvent event, std::string_view entity,
                                    const std::vector<std::string>& ids,
                                    std::string_view data = {});

  // ---- Observation ----

  // The newest `n` history entries, newest first (fewer when fewer are kept).
  std::vector<InvalidationRecord> GetHistory(size_t n = SIZE_MAX) const;
  InvalidatorStats GetStats() const;

 private:
  std::unique_ptr<internal::InvalidatorImpl> impl_;
};

}  // namespace larder
