// Records: schema rules, building, typed access, the encoded form and its validation.
#include <doctest/doctest.h>

#include <cstring>
#include <limits>
#include <string>

#include "base/record_format.h"
#include "larder/record.h"

namespace larder {
namespace {

std::shared_ptr<const Schema> UserSchema() {
  return *Schema::Create({{"id", FieldType::kInt64},
                          {"email", FieldType::kString, false},
                          {"name", FieldType::kString},
                          {"score", FieldType::kDouble},
                          {"active", FieldType::kBool},
                          {"avatar", FieldType::kBytes},
                          {"updatedAt", FieldType::kTimestamp}},
                         "id");
}

}  // namespace

TEST_CASE("Schema: rejects bad definitions with a message naming the problem") {
  auto s = Schema::Create({{"id", FieldType::kInt64}, {"id", FieldType::kString}});
  CHECK(s.status().message().find("'id' appears twice") != std::string_view::npos);
  s = Schema::Create({{"id", FieldType::kInt64}}, "uuid");
  CHECK(s.status().message().find("primary key 'uuid'") != std::string_view::npos);
  s = Schema::Create({{"x", FieldType::kDouble}}, "x");
  CHECK(s.status().IsInvalidArgument());
  s = Schema::Create({{"", FieldType::kInt64}}, "id");
  CHECK(s.status().IsInvalidArgument());
  s = Schema::Create({{"id", FieldType::kNull}});
  CHECK(s.status().IsInvalidArgument());
}

TEST_CASE("Schema: finds fields, knows its key, compares by content") {
  auto schema = UserSchema();
  CHECK(schema->size() == 7);
  CHECK(schema->Find("email") == 1u);
  CHECK_FALSE(schema->Find("missing").has_value());
  CHECK(schema->primary_key() == "id");
  CHECK_FALSE(schema->field(0).nullable);  // a primary key is never null
  CHECK(*schema == *UserSchema());
  CHECK(schema->ToString().find("id:int64 pk") == 0);
}

TEST_CASE("Record: every type round-trips through the encoded form") {
  auto schema = UserSchema();
  const std::string avatar("\x00\xff\x10", 3);
  RecordBuilder b(schema);
  b.Set("id", int64_t{9007199254740993})  // 2^53 + 1: not representable as a double
      .Set("email", "a@b.c")
      .Set("score", FieldValue::Double(-0.1))
      .Set("active", FieldValue::Bool(true))
      .Set("avatar", FieldValue::Bytes(avatar))
      .Set("updatedAt", FieldValue::Time({1'700'000'000'123'456}));
  Result<Record> r = b.Build();
  REQUIRE(r.ok());
  CHECK(r->Get("id").as_int64() == 9007199254740993);
  CHECK(r->primary_key() == FieldValue::Int64(9007199254740993));
  CHECK(r->Get("email").as_string() == "a@b.c");
  CHECK(r->Get("name").is_null());
  CHECK(r->Get("score").as_double() == -0.1);
  CHECK(r->Get("active").as_bool());
  CHECK(r->Get("avatar").as_bytes() == avatar);
  CHECK(r->Get("updatedAt").as_timestamp().micros == 1'700'000'000'123'456);
  CHECK(r->Get("no such field").is_null());

  Result<Record> copy = Record::FromBytes(schema, r->bytes());
  REQUIRE(copy.ok());
  CHECK(*copy == *r);
}

TEST_CASE("Record: the builder copies strings, so temporaries are safe") {
  auto schema = UserSchema();
  RecordBuilder b(schema);
  {
    std::string email = "temporary@example.com";
    b.Set("id", 1).Set("email", std::string_view(email));
    email.assign(email.size(), 'x');
  }
  Result<Record> r = b.Build();
  REQUIRE(r.ok());
  CHECK(r->Get("email").as_string() == "temporary@example.com");
}

TEST_CASE("Record: Build names the field for type mismatches, nulls and unknown names") {
  auto schema = UserSchema();
  auto r = RecordBuilder(schema).Set("id", "not a number").Set("email", "e").Build();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("field 'id': expected int64, got string") == 0);
  r = RecordBuilder(schema).Set("id", 1).Build();
  CHECK(r.status().message().find("field 'email': null in a non-null field") == 0);
  r = RecordBuilder(schema).Set("id", 1).Set("email", "e").Set("nope", 2).Build();
  CHECK(r.status().message().find("'nope' is not in the schema") != std::string_view::npos);
}

TEST_CASE("Record: strings must be UTF-8; bytes fields hold anything") {
  auto schema = UserSchema();
  const std::string bad("\xc3\x28", 2);
  auto r = RecordBuilder(schema).Set("id", 1).Set("email", "e").Set("name", bad).Build();
  CHECK(r.status().message().find("field 'name': not valid UTF-8") == 0);
  r = RecordBuilder(schema).Set("id", 1).Set("email", "é@x").Set("avatar", FieldValue::Bytes(bad)).Build();
  CHECK(r.ok());
}

TEST_CASE("FieldValue: equality is typed, so 1 and \"1\" differ") {
  CHECK(FieldValue::Int64(1) == FieldValue::Int64(1));
  CHECK_FALSE(FieldValue::Int64(1) == FieldValue::String("1"));
  CHECK_FALSE(FieldValue::String("a") == FieldValue::Bytes("a"));
  CHECK(FieldValue::Null() == FieldValue());
  CHECK(FieldValue::Int64(7).ToString() == "7");
  CHECK(FieldValue::String("x").ToString() == "\"x\"");
}

TEST_CASE("Record::FromBytes rejects malformed bytes with Corruption") {
  auto schema = UserSchema();
  Result<Record> good = RecordBuilder(schema).Set("id", 1).Set("email", "e@x").Build();
  REQUIRE(good.ok());
  std::string bytes(good->bytes());
  CHECK(Record::FromBytes(schema, bytes.substr(0, 10)).status().code() ==
        Status::Code::kCorruption);
  std::string extra = bytes + "x";
  CHECK(Record::FromBytes(schema, extra).status().message().find("trailing") !=
        std::string_view::npos);
  std::string wrong_count = bytes;
  wrong_count[0] = 3;
  CHECK(Record::FromBytes(schema, wrong_count).status().message().find("has 3 fields") !=
        std::string_view::npos);
  // A string slot pointing past the end.
  std::string bad_slot = bytes;
  const size_t slot1 = record_format::SlotsOffset(schema->size()) + 8;
  const uint64_t huge = (uint64_t{1000} << 32) | 4;
  std::memcpy(bad_slot.data() + slot1, &huge, 8);
  CHECK(Record::FromBytes(schema, bad_slot).status().code() == Status::Code::kCorruption);
  // A null in the non-null email field.
  std::string null_email = bytes;
  null_email[2] = static_cast<char>(null_email[2] | 2);
  CHECK(Record::FromBytes(schema, null_email).status().message().find("non-null field 'email'") !=
        std::string_view::npos);
}

TEST_CASE("Timestamp: ISO 8601 formatting and parsing are exact") {
  CHECK(FormatTimestamp({0}) == "1970-01-01T00:00:00.000Z");
  CHECK(FormatTimestamp({1'700'000'000'123'000}) == "2023-11-14T22:13:20.123Z");
  CHECK(FormatTimestamp({1'700'000'000'123'456}) == "2023-11-14T22:13:20.123456Z");
  CHECK(FormatTimestamp({-1}) == "1969-12-31T23:59:59.999999Z");
  for (int64_t micros : {int64_t{0}, int64_t{-1}, int64_t{1'700'000'000'123'456},
                         int64_t{253'402'300'799'999'999}, int64_t{-62'135'596'800'000'000}}) {
    Result<Timestamp> t = ParseTimestamp(FormatTimestamp({micros}));
    REQUIRE(t.ok());
    CHECK(t->micros == micros);
  }
  CHECK(ParseTimestamp("2024-02-29 12:00:00")->micros == 1'709'208'000'000'000);
  CHECK(ParseTimestamp("2024-02-29T14:00:00+02:00")->micros == 1'709'208'000'000'000);
  CHECK(ParseTimestamp("2024-02-29 12:00:00.000 +00:00")->micros == 1'709'208'000'000'000);
  CHECK(ParseTimestamp("2024-02-29")->micros == 1'709'164'800'000'000);
  CHECK(ParseTimestamp("2024-02-29T12:00:00.5Z")->micros == 1'709'208'000'500'000);
  CHECK(ParseTimestamp("2023-02-29").status().message().find("no such date") !=
        std::string_view::npos);
  CHECK(ParseTimestamp("2024-01-01T25:00").status().IsInvalidArgument());
  CHECK(ParseTimestamp("2024-01-01T00:00:00.1234567Z").status().message().find("microsecond") !=
        std::string_view::npos);
  CHECK(ParseTimestamp("2024-01-01T00:00:00.123456000Z")->micros == 1'704'067'200'123'456);
  CHECK(ParseTimestamp("yesterday").status().IsInvalidArgument());
  // The whole int64 range formats and parses back (found by the record fuzzer).
  for (int64_t micros : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    Result<Timestamp> t = ParseTimestamp(FormatTimestamp({micros}));
    REQUIRE_MESSAGE(t.ok(), FormatTimestamp({micros}));
    CHECK(t->micros == micros);
  }
  CHECK(ParseTimestamp("+999999-01-01T00:00:00Z").status().message().find("outside the range") !=
        std::string_view::npos);
  CHECK(ParseTimestamp("2024-01-01T00:00:00Zjunk").status().IsInvalidArgument());
}

}  // namespace larder
