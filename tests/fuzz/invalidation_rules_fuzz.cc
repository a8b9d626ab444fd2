// Fuzzes the Invalidator's JSON rule loader: any input either loads whole or changes nothing, and
// the rules it loads can be applied (every related entity resolves, cascades end).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "larder/cache.h"
#include "larder/invalidator.h"

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<larder::Cache> cache = [] {
    larder::CacheOptions o;
    o.maintenance_interval = larder::Duration::zero();
    o.num_shards = 1;
    return std::move(*larder::Cache::Open(std::move(o)));
  }();
  Require(cache->Set("companies:1", "v").ok());
  larder::Invalidator inv(*cache, {.max_cascade_depth = 8});
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  larder::Result<size_t> loaded = inv.LoadRulesFromJson(json, "fuzz");
  if (!loaded.ok()) {
    Require(inv.Entities().empty());  // nothing half-applied
    Require(!loaded.status().message().empty());
    return 0;
  }
  Require(inv.Entities().size() == *loaded);
  Require(inv.CheckRules().ok());
  for (const std::string& entity : inv.Entities()) {
    Require(inv.DryRun(larder::InvalidationEvent::kUpdated, entity, {"a*[b]"}).ok());
    Require(inv.InvalidateOnDelete(entity, "1").ok());
  }
  return 0;
}
