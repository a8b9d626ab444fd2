// The schema every record fuzzer decodes against: one field of each type.
#pragma once

#include <memory>

#include "larder/record.h"

namespace larder::fuzz {

inline const std::shared_ptr<const Schema>& Schema() {
  static const std::shared_ptr<const larder::Schema> schema =
      *larder::Schema::Create({{"id", FieldType::kInt64},
                               {"name", FieldType::kString},
                               {"ratio", FieldType::kDouble},
                               {"ok", FieldType::kBool},
                               {"blob", FieldType::kBytes},
                               {"at", FieldType::kTimestamp}});
  return schema;
}

}  // namespace larder::fuzz
