// Status and Result: codes, messages, value access.
#include <doctest/doctest.h>

#include <string>

#include "larder/status.h"

namespace larder {

TEST_CASE("Status: OK is the default and carries no message") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == Status::Code::kOk);
  CHECK(s.message().empty());
  CHECK(s.ToString() == "OK");
}

TEST_CASE("Status: named constructors set code, predicate and message") {
  Status s = Status::InvalidArgument("key: too long");
  CHECK_FALSE(s.ok());
  CHECK(s.IsInvalidArgument());
  CHECK_FALSE(s.IsNotFound());
  CHECK(s.message() == "key: too long");
  CHECK(s.ToString() == "InvalidArgument: key: too long");
  CHECK(Status::ResourceExhausted("x").IsResourceExhausted());
  CHECK(Status::Unavailable("x").IsUnavailable());
  CHECK(Status::Internal("x").IsInternal());
  CHECK(Status::Aborted("x").IsAborted());
  CHECK(CodeName(Status::Code::kCorruption) == "Corruption");
}

TEST_CASE("Status: copies compare equal and share the message") {
  Status a = Status::NotFound("gone");
  Status b = a;
  CHECK(a == b);
  CHECK(b.message().data() == a.message().data());
  CHECK_FALSE(a == Status::NotFound("other"));
}

TEST_CASE("Status: WithContext prefixes the message and keeps the code") {
  Status s = Status::Unavailable("connection refused").WithContext("cache 'users'");
  CHECK(s.IsUnavailable());
  CHECK(s.message() == "cache 'users': connection refused");
  CHECK(Status::OK().WithContext("anything").ok());
}

TEST_CASE("Result: holds a value or an error") {
  Result<std::string> ok = std::string("v");
  REQUIRE(ok.ok());
  CHECK(*ok == "v");
  CHECK(ok->size() == 1);
  CHECK(ok.value_or("fallback") == "v");

  Result<std::string> err = Status::Unavailable("db down");
  CHECK_FALSE(err.ok());
  CHECK(err.status().IsUnavailable());
  CHECK(err.value_or("fallback") == "fallback");
}

TEST_CASE("Result: constructed from an OK status becomes an Internal error") {
  Result<int> r = Status::OK();
  CHECK_FALSE(r.ok());
  CHECK(r.status().IsInternal());
}

}  // namespace larder
