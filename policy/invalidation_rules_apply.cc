// Invalidator events: planning the cascade, running handlers, removing or previewing keys,
// recording history.
#include "policy/invalidation_rules.h"

#include <exception>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace larder::internal {

using invalidation::CompiledRule;
using invalidation::Plan;
using invalidation::RuleTable;

namespace {

// Appends `item` to `out` unless `seen` already has it.
void AddDistinct(std::string item, std::set<std::string, std::less<>>* seen,
                 std::vector<std::string>* out) {
  if (seen->insert(item).second) out->push_back(std::move(item));
}

}  // namespace

Result<Plan> InvalidatorImpl::PlanCascade(const RuleTable& rules, const CompiledRule& root,
                                          const std::vector<std::string>& ids) const {
  Plan plan;
  std::set<std::string, std::less<>> seen_patterns;
  plan.entities.push_back(root.entity);
  for (const invalidation::PatternTemplate& t : root.patterns) {
    for (const std::string& id : ids) AddDistinct(t.Expand(id), &seen_patterns, &plan.patterns);
  }
  // Breadth first, so an entity reachable along several paths applies once, at its shallowest
  // depth; `visited` also ends cycles (companies -> projects -> companies).
  std::set<std::string, std::less<>> visited{root.entity};
  std::vector<const CompiledRule*> frontier{&root};
  for (size_t depth = 0; depth < max_depth_ && !frontier.empty(); ++depth) {
    std::vector<const CompiledRule*> next;
    for (const CompiledRule* rule : frontier) {
      for (const std::string& related : rule->related) {
        if (!visited.insert(related).second) continue;
        auto it = rules.find(related);
        if (it == rules.end()) {
          return Status::NotFound(
              fmt::format("rule '{}': related entity '{}' has no rule", rule->entity, related));
        }
        plan.entities.push_back(related);
        // A cascaded entity's own id is unknown: {id} widens to every id, so nothing stale
        // survives (over-removal costs a reload; under-removal would serve stale data).
        for (const invalidation::PatternTemplate& t : it->second->patterns) {
          AddDistinct(t.ExpandAny(), &seen_patterns, &plan.patterns);
        }
        next.push_back(it->second.get());
      }
    }
    frontier = std::move(next);
  }
  return plan;
}

Status InvalidatorImpl::AddHandlerTargets(const CompiledRule& root, InvalidationEvent event,
                                          const std::vector<std::string>& ids,
                                          std::string_view data, bool dry_run, Plan* plan) const {
  if (!root.handler) return Status::OK();
  const std::string context = fmt::format("custom handler of '{}'", root.entity);
  std::set<std::string, std::less<>> seen_patterns(plan->patterns.begin(), plan->patterns.end());
  std::set<std::string, std::less<>> seen_keys;
  for (const std::string& id : ids) {
    const InvalidationContext ctx{
        .event = event, .entity = root.entity, .id = id, .data = data, .dry_run = dry_run};
    Result<InvalidationTargets> targets = Status::Internal("handler did not run");
    try {
      targets = root.handler(ctx);
    } catch (const std::exception& e) {
      return Status::Internal(fmt::format("{} threw: {}", context, e.what()));
    } catch (...) {
      return Status::Internal(context + " threw");
    }
    if (!targets.ok()) return targets.status().WithContext(context);
    for (std::string& p : targets->patterns) {
      Status s = invalidation::CheckGlob(p);
      if (!s.ok()) return s.WithContext(context);
      AddDistinct(std::move(p), &seen_patterns, &plan->patterns);
    }
    for (std::string& k : targets->keys) AddDistinct(std::move(k), &seen_keys, &plan->keys);
  }
  return Status::OK();
}

Result<InvalidationResult> InvalidatorImpl::Run(InvalidationEvent event, std::string_view entity,
                                                const std::vector<std::string>& ids,
                                                std::string_view data, bool dry_run) {
  std::shared_ptr<const RuleTable> rules = Rules();
  auto root = rules->find(entity);
  if (root == rules->end()) {
    return Status::NotFound(fmt::format("no invalidation rule for entity '{}'", entity));
  }
  if (ids.empty()) return InvalidationResult{};
  for (const std::string& id : ids) {
    if (id.empty()) {
      return Status::InvalidArgument(fmt::format("entity '{}': empty id", entity));
    }
  }
  Result<Plan> plan = PlanCascade(*rules, *root->second, ids);
  if (!plan.ok()) return plan.status();
  Status s = AddHandlerTargets(*root->second, event, ids, data, dry_run, &*plan);
  if (!s.ok()) return s;
  if (dry_run) return Preview(std::move(*plan));

  Result<InvalidationResult> result = Apply(std::move(*plan));
  if (!result.ok()) return result;
  InvalidationRecord record{.event = event,
                            .entity = std::string(entity),
                            .ids = ids,
                            .patterns = result->patterns,
                            .keys_removed = result->keys_removed};
  MutexLock<Mutex> lock(mu_);
  record.time_nanos = clock_->NowNanos();
  record.wall_millis = clock_->ToWallMillis(record.time_nanos);
  log_.Add(std::move(record));
  return result;
}

Result<InvalidationResult> InvalidatorImpl::Apply(Plan plan) {
  InvalidationResult out;
  for (const std::string& p : plan.patterns) {
    Result<size_t> n = cache_.InvalidatePattern(p);
    // Every pattern was compiled when its rule or handler produced it: a refusal here is a bug.
    if (!n.ok()) return n.status().WithContext("invalidation pattern refused by the cache");
    out.keys_removed += *n;
  }
  for (const std::string& k : plan.keys) out.keys_removed += cache_.Delete(k) ? 1 : 0;
  out.entities = std::move(plan.entities);
  out.patterns = std::move(plan.patterns);
  return out;
}

Result<InvalidationResult> InvalidatorImpl::Preview(Plan plan) {
  std::set<std::string, std::less<>> keys;
  for (const std::string& p : plan.patterns) {
    Result<std::vector<std::string>> matched = cache_.Keys(p);
    if (!matched.ok()) {
      return matched.status().WithContext("invalidation pattern refused by the cache");
    }
    for (std::string& k : *matched) keys.insert(std::move(k));
  }
  for (const std::string& k : plan.keys) {
    if (cache_.Exists(k)) keys.insert(k);
  }
  InvalidationResult out;
  out.keys.assign(keys.begin(), keys.end());
  out.keys_removed = out.keys.size();
  out.entities = std::move(plan.entities);
  out.patterns = std::move(plan.patterns);
  return out;
}

}  // namespace larder::internal
