// The redis peer: a real redis-server on loopback, read with pipelined GETs over hiredis.
#include <sys/time.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <hiredis/hiredis.h>

#include "peer.h"
#include "redis_server.h"
#include "tsc.h"

namespace larder::bench {
namespace {

// GETs sent back to back before the replies are read (LatencyUnit names this depth).
constexpr size_t kPipelineDepth = 128;
static_assert(kOpsPerChunk % kPipelineDepth == 0);
constexpr size_t kFillBatch = 1024;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// One hiredis connection; every failure is fatal to the benchmark and thrown.
class Connection {
 public:
  explicit Connection(int port) {
    const timeval timeout{5, 0};
    ctx_ = redisConnectWithTimeout("127.0.0.1", port, timeout);
    if (ctx_ == nullptr || ctx_->err != 0) {
      const std::string err = ctx_ != nullptr ? ctx_->errstr : "out of memory";
      if (ctx_ != nullptr) redisFree(ctx_);
      throw std::runtime_error("redis: cannot connect: " + err);
    }
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { redisFree(ctx_); }

  void AppendGet(const Key16& key) {
    if (redisAppendCommand(ctx_, "GET %b", key.bytes.data(), key.bytes.size()) != REDIS_OK) Fail();
  }
  void AppendSet(const Key16& key, const Value16& value) {
    if (redisAppendCommand(ctx_, "SET %b %b", key.bytes.data(), key.bytes.size(),
                           value.bytes.data(), value.bytes.size()) != REDIS_OK) {
      Fail();
    }
  }
  ReplyPtr NextReply() {
    void* reply = nullptr;
    if (redisGetReply(ctx_, &reply) != REDIS_OK || reply == nullptr) Fail();
    return ReplyPtr(static_cast<redisReply*>(reply));
  }
  ReplyPtr Command(const char* command) {
    void* reply = redisCommand(ctx_, command);
    if (reply == nullptr) Fail();
    return ReplyPtr(static_cast<redisReply*>(reply));
  }

 private:
  [[noreturn]] void Fail() { throw std::runtime_error(std::string("redis: ") + ctx_->errstr); }

  redisContext* ctx_ = nullptr;
};

class RedisWorker final : public Worker {
 public:
  RedisWorker(int port, const KeySet* keys) : conn_(port), keys_(keys) {}

  // Reads only (the peer supports 100/0 alone). Each batch's round trip is one latency sample.
  void Run(const OpStream& stream, size_t begin, size_t count, WorkerStats* stats) override {
    for (size_t batch = begin; batch < begin + count; batch += kPipelineDepth) {
      const uint64_t start = ReadTsc();
      for (size_t i = batch; i < batch + kPipelineDepth; ++i) {
        conn_.AppendGet(keys_->key(stream.keys[i]));
      }
      for (size_t i = batch; i < batch + kPipelineDepth; ++i) {
        const ReplyPtr reply = conn_.NextReply();
        if (reply->type != REDIS_REPLY_STRING || reply->len != static_cast<int>(kValueSize)) {
          ++stats->failed_ops;
          continue;
        }
        Value16 out;
        std::memcpy(out.bytes.data(), reply->str, kValueSize);
        stats->checksum += static_cast<unsigned char>(out.bytes[stream.keys[i] % kValueSize]);
      }
      stats->latency.Record(ReadTsc() - start);
    }
    stats->ops += count;
  }

 private:
  Connection conn_;
  const KeySet* keys_;
};

class RedisPeer final : public Peer {
 public:
  explicit RedisPeer(std::unique_ptr<RedisServer> server)
      : server_(std::move(server)), control_(server_->port()) {}

  void Fill(const KeySet& keys) override {
    keys_ = &keys;
    for (size_t first = 0; first < keys.size(); first += kFillBatch) {
      const size_t last = std::min(keys.size(), first + kFillBatch);
      for (size_t i = first; i < last; ++i) control_.AppendSet(keys.key(i), keys.value(i));
      for (size_t i = first; i < last; ++i) {
        if (control_.NextReply()->type != REDIS_REPLY_STATUS) {
          throw std::runtime_error("redis: SET refused during the fill");
        }
      }
    }
  }

  uint64_t EntryCount() override {
    const ReplyPtr reply = control_.Command("DBSIZE");
    return reply->type == REDIS_REPLY_INTEGER ? static_cast<uint64_t>(reply->integer) : 0;
  }

  bool Supports(const Mix& mix) const override { return mix.read_percent == 100; }

  std::vector<pid_t> HelperPids() const override { return {server_->pid()}; }

  std::string_view LatencyUnit() const override {
    static_assert(kPipelineDepth == 128);
    return "batch of 128 pipelined GETs";
  }

  std::optional<uint64_t> ReportedMemoryBytes() override {
    const ReplyPtr reply = control_.Command("INFO memory");
    if (reply->type != REDIS_REPLY_STRING) return std::nullopt;
    const std::string_view info(reply->str, static_cast<size_t>(reply->len));
    constexpr std::string_view kField = "used_memory:";
    const size_t at = info.find(kField);
    if (at == std::string_view::npos) return std::nullopt;
    uint64_t bytes = 0;
    const char* first = info.data() + at + kField.size();
    if (std::from_chars(first, info.data() + info.size(), bytes).ec != std::errc()) {
      return std::nullopt;
    }
    return bytes;
  }

  std::unique_ptr<Worker> NewWorker() override {
    return std::make_unique<RedisWorker>(server_->port(), keys_);
  }

 private:
  std::unique_ptr<RedisServer> server_;  // declared first: outlives the connections
  Connection control_;
  const KeySet* keys_ = nullptr;
};

}  // namespace

std::unique_ptr<Peer> MakeRedisPeer(std::string* why) {
  std::unique_ptr<RedisServer> server = RedisServer::Start(why);
  if (server == nullptr) return nullptr;
  return std::make_unique<RedisPeer>(std::move(server));
}

}  // namespace larder::bench
