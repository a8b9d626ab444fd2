// Records as JSON: exact numbers and timestamps, bytes, arrays in both seed shapes, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "larder/record.h"
#include "snapshot/record_json.h"

namespace larder {
namespace {

std::shared_ptr<const Schema> TestSchema() {
  return *Schema::Create({{"id", FieldType::kInt64},
                          {"name", FieldType::kString},
                          {"ratio", FieldType::kDouble},
                          {"ok", FieldType::kBool},
                          {"blob", FieldType::kBytes},
                          {"at", FieldType::kTimestamp}});
}

}  // namespace

TEST_CASE("JSON: a record becomes one object, members in schema order") {
  auto schema = TestSchema();
  Result<Record> r = RecordBuilder(schema)
                         .Set("id", int64_t{9223372036854775807})
                         .Set("name", "say \"hi\"\n\x01")
                         .Set("ratio", FieldValue::Double(0.1))
                         .Set("ok", FieldValue::Bool(false))
                         .Set("blob", FieldValue::Bytes(std::string("\xfb\xff\x00", 3)))
                         .Set("at", FieldValue::Time({1'700'000'000'123'000}))
                         .Build();
  REQUIRE(r.ok());
  CHECK(r->ToJson() ==
        R"({"id":9223372036854775807,"name":"say \"hi\"\n\u0001","ratio":0.1,"ok":false,)"
        R"("blob":"+/8A","at":"2023-11-14T22:13:20.123Z"})");
  Result<Record> back = Record::FromJson(schema, r->ToJson());
  REQUIRE(back.ok());
  CHECK(*back == *r);
}

TEST_CASE("JSON: nulls, NaN and infinities round-trip") {
  auto schema = TestSchema();
  for (double d : {std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity()}) {
    Result<Record> r = RecordBuilder(schema).Set("id", 1).Set("ratio", FieldValue::Double(d)).Build();
    Result<Record> back = Record::FromJson(schema, r->ToJson());
    REQUIRE(back.ok());
    CHECK(back->Get("ratio").as_double() == d);
    CHECK(back->Get("name").is_null());
  }
  Result<Record> nan =
      RecordBuilder(schema).Set("id", 1).Set("ratio", FieldValue::Double(std::nan(""))).Build();
  CHECK(nan->ToJson().find("\"ratio\":\"NaN\"") != std::string::npos);
  CHECK(std::isnan(Record::FromJson(schema, nan->ToJson())->Get("ratio").as_double()));
}

TEST_CASE("JSON: lenient where it is safe, strict where data would change") {
  auto schema = TestSchema();
  // Unknown members are ignored, missing ones are null, int64 may come as a string, timestamps
  // as epoch milliseconds.
  Result<Record> r = Record::FromJson(
      schema, R"({"extra": [1,2], "id": "12345678901234567", "at": 1700000000123})");
  REQUIRE(r.ok());
  CHECK(r->Get("id").as_int64() == 12345678901234567);
  CHECK(r->Get("at").as_timestamp().micros == 1'700'000'000'123'000);
  CHECK(r->Get("name").is_null());
  CHECK(Record::FromJson(schema, R"({"id": 1.5})").status().message().find("field 'id'") == 0);
  CHECK(Record::FromJson(schema, R"({"id": 18446744073709551615})").status().IsInvalidArgument());
  CHECK(Record::FromJson(schema, R"({"id": 1, "ok": "yes"})").status().message().find(
            "field 'ok'") == 0);
  CHECK(Record::FromJson(schema, R"({"id": 1, "blob": "@@@"})").status().message().find(
            "field 'blob'") == 0);
  CHECK(Record::FromJson(schema, R"({"id": 1, "at": "noon"})").status().message().find(
            "field 'at'") == 0);
  // Found by the JSON fuzzer: milliseconds beyond the microsecond range used to overflow.
  CHECK(Record::FromJson(schema, R"({"id": 1, "at": 444444444444444443})").status().message().find(
            "field 'at'") == 0);
  CHECK(Record::FromJson(schema, R"({"name": "no id"})").status().message().find(
            "null in a non-null field") != std::string_view::npos);
  CHECK(Record::FromJson(schema, R"({"id": 1} {"id": 2})").status().IsInvalidArgument());
  CHECK(Record::FromJson(schema, "[1]").status().IsInvalidArgument());
  CHECK(Record::FromJson(schema, "{").status().IsInvalidArgument());
}

TEST_CASE("JSON arrays: plain and with meta; errors name the element") {
  auto schema = TestSchema();
  auto plain = json::ParseRecordArray(schema, R"([{"id":1,"name":"a"},{"id":2}])", false);
  REQUIRE(plain.ok());
  REQUIRE(plain->size() == 2);
  CHECK((*plain)[1].record.Get("id").as_int64() == 2);
  CHECK_FALSE((*plain)[0].expires_at_ms.has_value());

  auto meta = json::ParseRecordArray(
      schema, R"([{"data":{"id":1},"expiresAt":1700000000000},{"data":{"id":2},"expiresAt":null}])",
      true);
  REQUIRE(meta.ok());
  CHECK((*meta)[0].expires_at_ms == 1700000000000);
  CHECK_FALSE((*meta)[1].expires_at_ms.has_value());

  auto bad = json::ParseRecordArray(schema, R"([{"id":1},{"id":"x"},{"id":3}])", false);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("element 1: field 'id'") == 0);
  bad = json::ParseRecordArray(schema, R"([{"data":{"id":1}},{"id":2}])", true);
  CHECK(bad.status().message().find("element 1: missing \"data\"") == 0);
  bad = json::ParseRecordArray(schema, R"([{"data":{"id":1},"expiresAt":"soon"}])", true);
  CHECK(bad.status().message().find("element 0: \"expiresAt\"") == 0);
  bad = json::ParseRecordArray(schema, R"({"id":1})", false);
  CHECK(bad.status().message() == "expected a JSON array");
  bad = json::ParseRecordArray(schema, R"([{"id":1}, 7])", false);
  CHECK(bad.status().message().find("element 1") == 0);
}

}  // namespace larder
