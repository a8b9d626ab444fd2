// Invalidator: rule registration and loading, history and stats; events are in
// invalidation_rules_apply.cc.
#include "policy/invalidation_rules.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "policy/invalidation_rules_json.h"

namespace larder {

std::string_view InvalidationEventName(InvalidationEvent event) noexcept {
  switch (event) {
    case InvalidationEvent::kCreated:
      return "created";
    case InvalidationEvent::kUpdated:
      return "updated";
    case InvalidationEvent::kDeleted:
      return "deleted";
  }
  return "unknown";
}

namespace invalidation {

Result<std::shared_ptr<const CompiledRule>> CompileRule(std::string_view entity,
                                                        InvalidationRule rule) {
  if (entity.empty()) return Status::InvalidArgument("rule with an empty entity name");
  auto compiled = std::make_shared<CompiledRule>();
  compiled->entity = std::string(entity);
  const std::string context = fmt::format("rule '{}'", entity);
  for (const std::string& p : rule.patterns) {
    Result<PatternTemplate> t = PatternTemplate::Parse(p);
    if (!t.ok()) return t.status().WithContext(context);
    compiled->patterns.push_back(std::move(*t));
  }
  for (std::string& r : rule.related_entities) {
    if (r.empty()) return Status::InvalidArgument(context + ": empty related entity name");
    compiled->related.push_back(std::move(r));
  }
  compiled->handler = std::move(rule.custom_handler);
  return std::shared_ptr<const CompiledRule>(std::move(compiled));
}

namespace {

// The rule of `rules` that names a related entity without a rule, if any.
Status CheckRelated(const RuleTable& rules, const CompiledRule& rule) {
  for (const std::string& r : rule.related) {
    if (!rules.contains(r)) {
      return Status::NotFound(
          fmt::format("rule '{}': related entity '{}' has no rule", rule.entity, r));
    }
  }
  return Status::OK();
}

Result<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    const std::string msg = fmt::format("{}: {}", path, std::strerror(e));
    return e == ENOENT ? Status::NotFound(msg) : Status::IOError(msg);
  }
  std::string text;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::IOError(fmt::format("{}: is a directory", path));
  }
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return Status::IOError(fmt::format("{}: {}", path, std::strerror(e)));
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace
}  // namespace invalidation

namespace internal {

using invalidation::CompiledRule;
using invalidation::RuleTable;

InvalidatorImpl::InvalidatorImpl(Cache& cache, InvalidatorOptions options)
    : cache_(cache),
      clock_(options.clock ? std::move(options.clock) : SystemClock()),
      max_depth_(options.max_cascade_depth),
      rules_(std::make_shared<const RuleTable>()),
      log_(options.history_capacity) {}

std::shared_ptr<const RuleTable> InvalidatorImpl::Rules() const {
  MutexLock<Mutex> lock(mu_);
  return rules_;
}

Status InvalidatorImpl::Register(std::string_view entity, InvalidationRule rule) {
  Result<std::shared_ptr<const CompiledRule>> compiled =
      invalidation::CompileRule(entity, std::move(rule));
  if (!compiled.ok()) return compiled.status();
  MutexLock<Mutex> lock(mu_);
  auto table = std::make_shared<RuleTable>(*rules_);
  (*table)[std::string(entity)] = std::move(*compiled);
  rules_ = std::move(table);
  return Status::OK();
}

Result<size_t> InvalidatorImpl::Load(std::string_view json, std::string_view source) {
  Result<std::vector<invalidation::ParsedRule>> parsed = invalidation::ParseRulesJson(json);
  if (!parsed.ok()) return parsed.status().WithContext(source);
  std::vector<std::shared_ptr<const CompiledRule>> loaded;
  for (invalidation::ParsedRule& p : *parsed) {
    Result<std::shared_ptr<const CompiledRule>> compiled = invalidation::CompileRule(
        p.entity, {.patterns = std::move(p.patterns), .related_entities = std::move(p.related)});
    if (!compiled.ok()) return compiled.status().WithContext(source);
    loaded.push_back(std::move(*compiled));
  }
  MutexLock<Mutex> lock(mu_);
  auto table = std::make_shared<RuleTable>(*rules_);
  for (const auto& rule : loaded) (*table)[rule->entity] = rule;
  // Related entities are checked against the merged table: a file may refer to rules that
  // were registered before it, or to rules that come later in the same file.
  for (const auto& rule : loaded) {
    Status s = invalidation::CheckRelated(*table, *rule);
    if (!s.ok()) {
      return Status::InvalidArgument(
          fmt::format("{}: {} (neither in this file nor registered)", source, s.message()));
    }
  }
  rules_ = std::move(table);
  return loaded.size();
}

std::vector<std::string> InvalidatorImpl::Entities() const {
  std::shared_ptr<const RuleTable> rules = Rules();
  std::vector<std::string> out;
  out.reserve(rules->size());
  for (const auto& [entity, rule] : *rules) out.push_back(entity);
  return out;
}

Status InvalidatorImpl::CheckRules() const {
  std::shared_ptr<const RuleTable> rules = Rules();
  for (const auto& [entity, rule] : *rules) {
    Status s = invalidation::CheckRelated(*rules, *rule);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

std::vector<InvalidationRecord> InvalidatorImpl::History(size_t n) const {
  MutexLock<Mutex> lock(mu_);
  return log_.Newest(n);
}

InvalidatorStats InvalidatorImpl::Stats() const {
  MutexLock<Mutex> lock(mu_);
  return log_.Stats(clock_->NowNanos());
}

}  // namespace internal

Invalidator::Invalidator(Cache& cache, InvalidatorOptions options)
    : impl_(std::make_unique<internal::InvalidatorImpl>(cache, std::move(options))) {}
Invalidator::~Invalidator() = default;

Status Invalidator::RegisterRule(std::string_view entity, InvalidationRule rule) {
  return impl_->Register(entity, std::move(rule));
}
Result<size_t> Invalidator::LoadRulesFromJson(std::string_view json, std::string_view source) {
  return impl_->Load(json, source);
}
Result<size_t> Invalidator::LoadRulesFromFile(const std::string& path) {
  Result<std::string> text = invalidation::ReadFile(path);
  if (!text.ok()) return text.status();
  return impl_->Load(*text, path);
}
std::vector<std::string> Invalidator::Entities() const { return impl_->Entities(); }
Status Invalidator::CheckRules() const { return impl_->CheckRules(); }

Result<InvalidationResult> Invalidator::InvalidateOnCreate(std::string_view entity,
                                                           std::string_view id,
                                                           std::string_view data) {
  return Invalidate(InvalidationEvent::kCreated, entity, id, data);
}
Result<InvalidationResult> Invalidator::InvalidateOnUpdate(std::string_view entity,
                                                           std::string_view id,
                                                           std::string_view data) {
  return Invalidate(InvalidationEvent::kUpdated, entity, id, data);
}
Result<InvalidationResult> Invalidator::InvalidateOnDelete(std::string_view entity,
                                                           std::string_view id,
                                                           std::string_view data) {
  return Invalidate(InvalidationEvent::kDeleted, entity, id, data);
}
Result<InvalidationResult> Invalidator::Invalidate(InvalidationEvent event, std::string_view entity,
                                                   std::string_view id, std::string_view data) {
  return impl_->Run(event, entity, {std::string(id)}, data, /*dry_run=*/false);
}
Result<InvalidationResult> Invalidator::InvalidateBatch(InvalidationEvent event,
                                                        std::string_view entity,
                                                        const std::vector<std::string>& ids) {
  return impl_->Run(event, entity, ids, {}, /*dry_run=*/false);
}
Result<InvalidationResult> Invalidator::DryRun(InvalidationEvent event, std::string_view entity,
                                               const std::vector<std::string>& ids,
                                               std::string_view data) {
  return impl_->Run(event, entity, ids, data, /*dry_run=*/true);
}

std::vector<InvalidationRecord> Invalidator::GetHistory(size_t n) const {
  return impl_->History(n);
}
InvalidatorStats Invalidator::GetStats() const { return impl_->Stats(); }

}  // namespace larder
