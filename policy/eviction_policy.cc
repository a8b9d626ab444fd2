// Policy factory.
#include "policy/eviction_policy.h"

#include "policy/lru_policy.h"
#include "policy/s3fifo_policy.h"
#include "policy/wtinylfu_policy.h"

namespace larder {

size_t PolicySentinelCount(EvictionPolicyKind kind) {
  switch (kind) {
    case EvictionPolicyKind::kLru:
      return 1;
    case EvictionPolicyKind::kWTinyLfu:
      return WTinyLfuPolicy::kSentinels;
    case EvictionPolicyKind::kS3Fifo:
      return S3FifoPolicy::kSentinels;
  }
  return 1;
}

std::unique_ptr<EvictionPolicy> MakeEvictionPolicy(EvictionPolicyKind kind,
                                                   const PolicyConfig& config) {
  switch (kind) {
    case EvictionPolicyKind::kLru:
      return std::make_unique<LruPolicy>(config);
    case EvictionPolicyKind::kWTinyLfu:
      return std::make_unique<WTinyLfuPolicy>(config);
    case EvictionPolicyKind::kS3Fifo:
      return std::make_unique<S3FifoPolicy>(config);
  }
  return nullptr;
}

}  // namespace larder
