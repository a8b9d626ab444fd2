// Building blocks for source tasks: which rows to load, and the key each row is stored under.
#include <string>
#include <utility>
#include <vector>

#include "larder/warmer.h"

namespace larder {

SourceQuery AllRows() {
  return [](Source& source, const RowSink& sink) { return source.FindAll(sink); };
}

SourceQuery RowsWhereIn(std::string field, std::vector<Value> values) {
  return
      [field = std::move(field), values = std::move(values)](Source& source, const RowSink& sink) {
        // FieldValues view the owned Values, which live as long as the query.
        std::vector<FieldValue> views;
        views.reserve(values.size());
        for (const Value& v : values) views.push_back(v.view());
        return source.FindWhereIn(field, views, sink);
      };
}

SourceQuery RowsUpdatedSince(std::string field, Value watermark) {
  return [field = std::move(field), watermark = std::move(watermark)](Source& source,
                                                                      const RowSink& sink) {
    return source.FindUpdatedSince(field, watermark.view(), sink);
  };
}

RowKeyFn KeyFromPrimaryKey(std::string prefix) {
  return [prefix = std::move(prefix)](const Record& row) {
    const FieldValue pk = row.primary_key();
    std::string key = prefix;
    switch (pk.type()) {
      case FieldType::kString:
      case FieldType::kBytes:
        key.append(pk.as_bytes());
        break;
      case FieldType::kInt64:
        key += std::to_string(pk.as_int64());
        break;
      default:
        key += pk.ToString();
        break;
    }
    return key;
  };
}

}  // namespace larder
