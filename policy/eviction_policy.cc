// Policy factory.
#include "policy/eviction_policy.h"

#include "policy/lru_policy.h"

namespace larder {

size_t PolicySentinelCount(EvictionPolicyKind kind) {
  switch (kind) {
    case EvictionPolicyKind::kLru:
      return 1;
  }
  return 1;
}

std::unique_ptr<EvictionPolicy> MakeEvictionPolicy(EvictionPolicyKind kind, NodeSpace space,
                                                   uint32_t hook_offset, NodeId sentinels) {
  switch (kind) {
    case EvictionPolicyKind::kLru:
      return std::make_unique<LruPolicy>(space, hook_offset, sentinels);
  }
  return nullptr;
}

}  // namespace larder
