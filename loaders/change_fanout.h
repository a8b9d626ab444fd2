// ChangeFanout: the subscriber list behind a source's change feed.
//
// Deliver() calls every listener under a shared lock; unsubscribing takes the lock exclusively,
// so a ChangeSubscription's destructor returns only after a delivery in progress has finished.
// REQUIRES: a listener does not destroy its own subscription while being called.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>

#include "larder/source.h"

namespace larder::loaders {

class ChangeFanout : public std::enable_shared_from_this<ChangeFanout> {
 public:
  std::unique_ptr<ChangeSubscription> Add(ChangeListener listener) {
    std::unique_lock lock(mu_);
    const uint64_t id = next_id_++;
    listeners_.emplace(id, std::move(listener));
    return std::make_unique<Token>(shared_from_this(), id);
  }

  void Deliver(std::span<const Change> changes) {
    if (changes.empty()) return;
    std::shared_lock lock(mu_);
    for (auto& [id, listener] : listeners_) listener(changes);
  }

  bool empty() const {
    std::shared_lock lock(mu_);
    return listeners_.empty();
  }

 private:
  class Token final : public ChangeSubscription {
   public:
    Token(std::shared_ptr<ChangeFanout> fanout, uint64_t id) : fanout_(std::move(fanout)), id_(id) {}
    ~Token() override {
      std::unique_lock lock(fanout_->mu_);
      fanout_->listeners_.erase(id_);
    }

   private:
    std::shared_ptr<ChangeFanout> fanout_;
    uint64_t id_;
  };

  mutable std::shared_mutex mu_;
  std::map<uint64_t, ChangeListener> listeners_;
  uint64_t next_id_ = 1;
};

}  // namespace larder::loaders
