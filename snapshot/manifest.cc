#include "snapshot/manifest.h"

#include <flatbuffers/flatbuffers.h>
#include <fmt/format.h>

#include "snapshot/envelope.h"
#include "snapshot/snapshot_generated.h"

namespace larder::snapshot {
namespace {

std::string_view View(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->c_str(), s->size());
}

}  // namespace

std::string EncodeManifest(const SnapshotInfo& info) {
  flatbuffers::FlatBufferBuilder fbb(512);
  const auto version = fbb.CreateString(info.larder_version);
  const auto name = fbb.CreateString(info.name);
  flatbuffers::Offset<fb::RecordSchema> schema;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::IndexDef>>> indexes;
  if (info.kind == SnapshotKind::kRecord) {
    std::vector<flatbuffers::Offset<fb::Field>> fields;
    for (const FieldSpec& f : info.fields) {
      fields.push_back(fb::CreateField(fbb, fbb.CreateString(f.name),
                                       static_cast<uint8_t>(f.type), f.nullable));
    }
    schema = fb::CreateRecordSchema(fbb, fbb.CreateVector(fields),
                                    fbb.CreateString(info.primary_key));
    std::vector<flatbuffers::Offset<fb::IndexDef>> defs;
    for (const auto& [field, unique] : info.indexes) {
      defs.push_back(fb::CreateIndexDef(fbb, fbb.CreateString(field), unique));
    }
    indexes = fbb.CreateVector(defs);
  }
  fbb.Finish(fb::CreateManifest(
      fbb, info.id, info.created_at_ms, version, info.format_version,
      info.kind == SnapshotKind::kRecord ? fb::CacheKind::Record : fb::CacheKind::KeyValue, name,
      info.entry_count, info.batch_count, info.byte_count, schema, indexes));
  return Seal(std::string_view(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                               fbb.GetSize()));
}

Result<SnapshotInfo> DecodeManifest(std::string_view stored) {
  Result<std::string_view> payload = Unseal(stored);
  if (!payload.ok()) return payload.status();
  // Manifests are small: copy into aligned memory rather than trust the caller's alignment.
  std::string aligned(*payload);
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(aligned.data()),
                                 aligned.size());
  if (!verifier.VerifyBuffer<fb::Manifest>(nullptr)) {
    return Status::Corruption("not a well-formed manifest FlatBuffer");
  }
  const fb::Manifest* m = flatbuffers::GetRoot<fb::Manifest>(aligned.data());
  if (m->format_version() > kSnapshotFormatVersion || m->format_version() == 0) {
    return Status::FailedPrecondition(
        fmt::format("snapshot format version {}; this build of larder reads versions 1 to {}",
                    m->format_version(), kSnapshotFormatVersion));
  }
  SnapshotInfo info;
  info.id = m->id();
  info.created_at_ms = m->created_at_ms();
  info.larder_version = std::string(View(m->larder_version()));
  info.format_version = m->format_version();
  info.name = std::string(View(m->name()));
  info.entry_count = m->entry_count();
  info.batch_count = m->batch_count();
  info.byte_count = m->byte_count();
  switch (m->kind()) {
    case fb::CacheKind::KeyValue:
      info.kind = SnapshotKind::kKeyValue;
      break;
    case fb::CacheKind::Record:
      info.kind = SnapshotKind::kRecord;
      break;
    default:
      return Status::Corruption(
          fmt::format("unknown cache kind {}", static_cast<int>(m->kind())));
  }
  if (info.kind == SnapshotKind::kRecord) {
    if (m->schema() == nullptr || m->schema()->fields() == nullptr) {
      return Status::Corruption("record snapshot without a record schema");
    }
    for (const fb::Field* f : *m->schema()->fields()) {
      if (f->type() > static_cast<uint8_t>(FieldType::kTimestamp) || f->type() == 0) {
        return Status::Corruption(fmt::format("field '{}' has unknown type {}", View(f->name()),
                                              static_cast<int>(f->type())));
      }
      info.fields.push_back(
          {std::string(View(f->name())), static_cast<FieldType>(f->type()), f->nullable()});
    }
    info.primary_key = std::string(View(m->schema()->primary_key()));
    if (m->indexes() != nullptr) {
      for (const fb::IndexDef* d : *m->indexes()) {
        info.indexes.emplace_back(std::string(View(d->field())), d->unique());
      }
    }
  }
  return info;
}

}  // namespace larder::snapshot
