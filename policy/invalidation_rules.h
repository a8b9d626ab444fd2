// InvalidatorImpl: the Invalidator's rule table, cascade planning, history and stats.
//
// An event is planned first (rules reached by the cascade, patterns after {id} substitution,
// handler targets), then applied, so every error is reported before any key is removed.
// The rule table is copied on write: events plan against a snapshot taken under mu_ and run
// without the lock, so a slow pattern scan or handler never blocks registration or stats.
#pragma once

#include "base/private.h"

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "larder/cache.h"
#include "larder/clock.h"
#include "larder/invalidator.h"
#include "larder/status.h"
#include "policy/invalidation_log.h"
#include "policy/invalidation_pattern.h"

namespace larder {
namespace invalidation {

struct CompiledRule {
  std::string entity;
  std::vector<PatternTemplate> patterns;
  std::vector<std::string> related;
  InvalidationHandler handler;
};

using RuleTable = std::map<std::string, std::shared_ptr<const CompiledRule>, std::less<>>;

// Checks and compiles `rule`; InvalidArgument naming the entity (and pattern) otherwise.
Result<std::shared_ptr<const CompiledRule>> CompileRule(std::string_view entity,
                                                        InvalidationRule rule);

// What one event removes, resolved before anything is removed.
struct Plan {
  std::vector<std::string> entities;  // the event's entity, then cascaded ones
  std::vector<std::string> patterns;  // distinct
  std::vector<std::string> keys;      // exact keys from handlers, distinct
};

}  // namespace invalidation

namespace internal {

class InvalidatorImpl {
 public:
  InvalidatorImpl(Cache& cache, InvalidatorOptions options);

  Status Register(std::string_view entity, InvalidationRule rule) EXCLUDES(mu_);
  Result<size_t> Load(std::string_view json, std::string_view source) EXCLUDES(mu_);
  std::vector<std::string> Entities() const EXCLUDES(mu_);
  Status CheckRules() const EXCLUDES(mu_);

  // Plans and applies (or, with dry_run, previews) one event for `ids`.
  Result<InvalidationResult> Run(InvalidationEvent event, std::string_view entity,
                                 const std::vector<std::string>& ids, std::string_view data,
                                 bool dry_run) EXCLUDES(mu_);

  std::vector<InvalidationRecord> History(size_t n) const EXCLUDES(mu_);
  InvalidatorStats Stats() const EXCLUDES(mu_);

 private:
  std::shared_ptr<const invalidation::RuleTable> Rules() const EXCLUDES(mu_);
  // The rules reached from `root` within max_depth_ hops and their patterns.
  Result<invalidation::Plan> PlanCascade(const invalidation::RuleTable& rules,
                                         const invalidation::CompiledRule& root,
                                         const std::vector<std::string>& ids) const;
  // Runs the root's handler for each id and adds what it returns to `plan`.
  Status AddHandlerTargets(const invalidation::CompiledRule& root, InvalidationEvent event,
                           const std::vector<std::string>& ids, std::string_view data, bool dry_run,
                           invalidation::Plan* plan) const;
  Result<InvalidationResult> Apply(invalidation::Plan plan);
  Result<InvalidationResult> Preview(invalidation::Plan plan);

  // Constant after construction.
  Cache& cache_;
  const std::shared_ptr<Clock> clock_;
  const size_t max_depth_;

  mutable Mutex mu_;
  std::shared_ptr<const invalidation::RuleTable> rules_ GUARDED_BY(mu_);  // never null
  invalidation::InvalidationLog log_ GUARDED_BY(mu_);
};

}  // namespace internal
}  // namespace larder
