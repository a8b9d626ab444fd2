// Subscriber: queueing with drop-oldest overflow, ordered delivery, and waiting unsubscribe.
#include "pubsub_subscriber.h"

#include <utility>

namespace larder::coord {
namespace {
// The subscription whose handler this thread is running, so that unsubscribing from inside the
// handler does not wait for itself.
thread_local const Subscriber* tls_running = nullptr;
}  // namespace

bool Subscriber::Enqueue(const std::shared_ptr<const Envelope>& m, bool* schedule) {
  std::lock_guard lock(mu_);
  *schedule = false;
  if (cancelled_) return false;
  if (queue_.size() >= capacity_) {
    taken_ = queue_.front().seq;
    queue_.pop_front();
    ++stats_.dropped;
    progress_.notify_all();
  }
  queue_.push_back(Item{m, ++queued_seq_});
  if (!scheduled_) {
    scheduled_ = true;
    *schedule = true;
  }
  return true;
}

bool Subscriber::DeliverSome(size_t max) {
  std::unique_lock lock(mu_);
  for (size_t n = 0; n < max && !cancelled_ && !queue_.empty(); ++n) {
    Item item = std::move(queue_.front());
    queue_.pop_front();
    taken_ = running_ = item.seq;
    lock.unlock();
    const bool ok = Call(*item.message);
    item.message.reset();  // free the payload outside the lock
    lock.lock();
    running_ = 0;
    ++stats_.delivered;
    if (!ok) ++stats_.failed;
    progress_.notify_all();
  }
  if (cancelled_ || queue_.empty()) {
    scheduled_ = false;
    return false;
  }
  return true;
}

bool Subscriber::Call(const Envelope& m) noexcept {
  const Subscriber* outer = tls_running;
  tls_running = this;
  bool ok = true;
  try {
    handler_(PubSubMessage{m.channel, m.payload, is_pattern_ ? name_ : std::string_view()});
  } catch (...) {
    ok = false;  // counted in Stats().failed; one bad message must not stop the subscription
  }
  tls_running = outer;
  return ok;
}

uint64_t Subscriber::last_queued() const {
  std::lock_guard lock(mu_);
  return queued_seq_;
}

void Subscriber::WaitDone(uint64_t seq) {
  std::unique_lock lock(mu_);
  progress_.wait(lock, [&] { return (cancelled_ && running_ == 0) || done_through() >= seq; });
}

void Subscriber::Discard() noexcept {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  taken_ = queued_seq_;
  queue_.clear();
  progress_.notify_all();
}

void Subscriber::Cancel() noexcept {
  // Cancelled before unregistered: once a registry no longer routes to it (for Redis, once the
  // server has no subscription left), nothing queued can start a call.
  Discard();
  if (std::shared_ptr<SubscriberRegistry> registry = registry_.lock()) registry->Unregister(this);
  if (tls_running == this) return;  // unsubscribing from its own handler: that call is this one
  MessageHandler handler;
  {
    std::unique_lock lock(mu_);
    progress_.wait(lock, [&] { return running_ == 0; });
    handler = std::move(handler_);
  }
  // `handler` is destroyed here, outside the lock: what it captured goes now, on this thread.
}

ChannelSubscriptionStats Subscriber::Stats() const noexcept {
  std::lock_guard lock(mu_);
  ChannelSubscriptionStats s = stats_;
  s.queued = queue_.size();
  return s;
}

}  // namespace larder::coord
