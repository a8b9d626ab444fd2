// FunctionSource: required callbacks, fallbacks through find_all, exceptions, Publish.
#include <doctest/doctest.h>

#include <stdexcept>
#include <vector>

#include "larder/function_source.h"

namespace larder {
namespace {

struct Table {
  Table() {
    schema = *Schema::Create({{"id", FieldType::kInt64}, {"tag", FieldType::kString}});
    for (int i = 1; i <= 5; ++i) {
      rows.push_back(*RecordBuilder(schema).Set("id", 6 - i).Set("tag", i % 2 ? "odd" : "even").Build());
    }
  }
  FunctionSourceOptions Options() {
    FunctionSourceOptions o;
    o.schema = schema;
    o.name = "table";
    o.find_all = [this](const RowSink& sink) {
      ++scans;
      for (const Record& r : rows) {
        Status s = sink(Record(r));
        if (!s.ok()) return s;
      }
      return Status::OK();
    };
    return o;
  }
  std::shared_ptr<const Schema> schema;
  std::vector<Record> rows;
  int scans = 0;
};

}  // namespace

TEST_CASE("FunctionSource: schema and find_all are required") {
  CHECK(FunctionSource::Create({}).status().message().find("schema") == 0);
  Table t;
  FunctionSourceOptions o;
  o.schema = t.schema;
  CHECK(FunctionSource::Create(o).status().message().find("find_all") == 0);
}

TEST_CASE("FunctionSource: lookups fall back to scanning find_all") {
  Table t;
  auto src = *FunctionSource::Create(t.Options());
  auto r = src->FindById(FieldValue::Int64(3));
  REQUIRE(r.ok());
  CHECK((*r)->Get("id").as_int64() == 3);
  CHECK(t.scans == 1);
  auto odd = src->FindOne("tag", FieldValue::String("odd"));
  CHECK((*odd)->Get("id").as_int64() == 1);  // smallest key among 5, 3, 1
  std::vector<int64_t> ids;
  std::vector<FieldValue> want = {FieldValue::Int64(2), FieldValue::Int64(4)};
  REQUIRE(src->FindWhereIn("id", want, [&](Record&& row) {
               ids.push_back(row.Get("id").as_int64());
               return Status::OK();
             }).ok());
  CHECK(ids.size() == 2);
  CHECK(src->FindWhereIn("nope", want, [](Record&&) { return Status::OK(); }).IsInvalidArgument());
  CHECK(src->FindUpdatedSince("updatedAt", FieldValue::Int64(0), [](Record&&) {
               return Status::OK();
             }).code() == Status::Code::kFailedPrecondition);
}

TEST_CASE("FunctionSource: a throwing callback becomes an Internal error") {
  Table t;
  FunctionSourceOptions o = t.Options();
  o.find_by_id = [](const FieldValue&) -> Result<std::optional<Record>> {
    throw std::runtime_error("db exploded");
  };
  auto src = *FunctionSource::Create(o);
  auto r = src->FindById(FieldValue::Int64(1));
  CHECK(r.status().IsInternal());
  CHECK(r.status().message().find("db exploded") != std::string_view::npos);
}

TEST_CASE("FunctionSource: Publish reaches subscribers until they unsubscribe") {
  Table t;
  auto src = *FunctionSource::Create(t.Options());
  int delivered = 0;
  auto sub = src->SubscribeChanges([&](std::span<const Change> c) { delivered += static_cast<int>(c.size()); });
  REQUIRE(sub.ok());
  Change c{ChangeKind::kDeleted, Record(), Value(int64_t{1})};
  src->Publish(std::span<const Change>(&c, 1));
  CHECK(delivered == 1);
  sub->reset();
  src->Publish(std::span<const Change>(&c, 1));
  CHECK(delivered == 1);
}

}  // namespace larder
