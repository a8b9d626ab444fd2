// The backplane's view of a RecordCache: a record written (Upsert, the change feed) or removed
// travels as its primary key, Invalidate(field, value) as the field and value, Clear as a clear.
// Loads and syncs do not travel: they read the source of truth. Receivers drop what they hold,
// so their next lookup reads the row again.
#include "backplane_target.h"

namespace larder::coord {
namespace {

class RecordCacheTarget final : public BackplaneTarget {
 public:
  explicit RecordCacheTarget(RecordCache& cache) : cache_(cache) {
    pk_field_ = cache_.schema()->primary_key();
    pk_index_ = cache_.schema()->primary_key_index();
  }

  Subscription Watch(Send send) override {
    return cache_.Subscribe(
        [this, send = std::move(send)](const RecordEvent& ev) {
          if (ev.remote) return;
          switch (ev.type) {
            case RecordEventType::kUpserted:
            case RecordEventType::kItemCreated:
            case RecordEventType::kItemUpdated:
              send(BackplaneKind::kField, EncodeFieldPayload(pk_field_, ev.record.Get(pk_index_)));
              return;
            case RecordEventType::kItemRemoved:
              // The row when it was cached or the feed carried it, else its primary key alone.
              send(BackplaneKind::kField,
                   EncodeFieldPayload(pk_field_, ev.record.valid() ? ev.record.Get(pk_index_)
                                                                   : ev.value));
              return;
            case RecordEventType::kItemInvalidated:
              send(BackplaneKind::kField, EncodeFieldPayload(ev.field, ev.value));
              return;
            case RecordEventType::kCleared:
              send(BackplaneKind::kClear, {});
              return;
            default:
              return;
          }
        },
        RecordEventBit(RecordEventType::kUpserted) | RecordEventBit(RecordEventType::kItemCreated) |
            RecordEventBit(RecordEventType::kItemUpdated) |
            RecordEventBit(RecordEventType::kItemRemoved) |
            RecordEventBit(RecordEventType::kItemInvalidated) |
            RecordEventBit(RecordEventType::kCleared));
  }

  bool Apply(BackplaneKind kind, std::string_view payload) override {
    switch (kind) {
      case BackplaneKind::kField: {
        const std::optional<FieldPayload> f = DecodeFieldPayload(payload);
        // A field this instance does not index (another configuration): not exact, so resync.
        return f && cache_.Invalidate(f->field, f->value).ok();
      }
      case BackplaneKind::kClear:
        cache_.Clear();
        return true;
      case BackplaneKind::kKey:
      case BackplaneKind::kPattern:
      case BackplaneKind::kTag:
        return false;  // a key-value cache's message on this cache's channel
    }
    return false;
  }

  void Resync(ResyncMode mode) override {
    if (mode == ResyncMode::kClear) {
      cache_.Clear();
    } else {
      cache_.MarkAllStale();
    }
  }

 private:
  RecordCache& cache_;
  std::string pk_field_;
  size_t pk_index_ = 0;
};

}  // namespace

std::unique_ptr<BackplaneTarget> NewRecordCacheTarget(RecordCache& cache) {
  return std::make_unique<RecordCacheTarget>(cache);
}

}  // namespace larder::coord
