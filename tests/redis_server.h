// Test helper: a throwaway redis-server on 127.0.0.1 and a free port (no persistence, optionally
// a password), and RawRedis, a plain hiredis connection for tests to look at or change what the
// code under test stored. Started with posix_spawn, never plain fork (tests/child_process.h says
// why). doctest-free, so tests/helpers/process_child.cc can use RawRedis; a file that includes
// <doctest/doctest.h> first also gets StartRedisForTest().
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "larder/redis.h"

extern char** environ;

namespace larder::testing {

// A port nobody listens on right now (the kernel's pick, released at once).
inline uint16_t UnusedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// One blocking hiredis connection. Replies come back as text: integers in decimal, nil as
// "(nil)", errors as "(error) <message>", arrays as their elements joined by spaces.
class RawRedis {
 public:
  explicit RawRedis(uint16_t port, const std::string& password = {}) {
    const timeval timeout{2, 0};
    ctx_ = redisConnectWithTimeout("127.0.0.1", port, timeout);
    if (ctx_ != nullptr && ctx_->err == 0) (void)redisSetTimeout(ctx_, timeout);
    if (ok() && !password.empty()) ok_auth_ = Run({"AUTH", password}) == "OK";
  }
  ~RawRedis() {
    if (ctx_ != nullptr) redisFree(ctx_);
  }
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  // Connected (and authenticated when a password was given).
  bool ok() const { return ctx_ != nullptr && ctx_->err == 0 && ok_auth_; }

  // The reply as text, or "(io error) ..." when the connection failed.
  std::string Run(std::initializer_list<std::string_view> args) {
    if (ctx_ == nullptr || ctx_->err != 0) return "(io error) not connected";
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    void* raw = redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lengths.data());
    if (raw == nullptr) return std::string("(io error) ") + ctx_->errstr;
    auto* reply = static_cast<redisReply*>(raw);
    std::string text = Text(*reply);
    freeReplyObject(reply);
    return text;
  }
  // The reply as an integer (-1000000 when it is not one).
  long long Int(std::initializer_list<std::string_view> args) {
    const std::string text = Run(args);
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    return !text.empty() && end != nullptr && *end == '\0' ? v : -1'000'000;
  }

 private:
  static std::string Text(const redisReply& r) {
    switch (r.type) {
      case REDIS_REPLY_INTEGER:
        return std::to_string(r.integer);
      case REDIS_REPLY_NIL:
        return "(nil)";
      case REDIS_REPLY_ERROR:
        return "(error) " + std::string(r.str, r.len);
      case REDIS_REPLY_ARRAY: {
        std::string out;
        for (size_t i = 0; i < r.elements; ++i) out += (i == 0 ? "" : " ") + Text(*r.element[i]);
        return out;
      }
      default:
        return std::string(r.str, r.len);
    }
  }

  redisContext* ctx_ = nullptr;
  bool ok_auth_ = true;
};

// A redis-server child process. Destroying it kills and reaps the server. Start it on the thread
// that owns it: the server is killed when that thread exits.
class RedisServer {
 public:
  // The redis-server on PATH, or empty when it is not installed.
  static std::string Binary() { return FindOnPath("redis-server"); }

  // Starts a server requiring `password` (none when empty) and waits until it answers PING.
  // Null with *why set when it is not installed or does not come up.
  static std::unique_ptr<RedisServer> Start(std::string* why, const std::string& password = {}) {
    const std::string binary = Binary();
    if (binary.empty()) {
      *why = "redis-server is not installed (apt-get install redis-server)";
      return nullptr;
    }
    std::unique_ptr<RedisServer> server(new RedisServer(binary, password));
    // A port picked free can be taken before the server binds it: try a few.
    for (int attempt = 0; attempt < 5; ++attempt) {
      server->port_ = UnusedLoopbackPort();
      if (server->port_ != 0 && server->Launch(why)) return server;
    }
    return nullptr;
  }

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() { Stop(); }

  // Kills the server (SIGKILL: there is nothing to save) and reaps it. Clients see their
  // connections reset. Does nothing when stopped.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Starts it again on the same port, empty (no persistence). False with *why when it does
  // not come up.
  bool Restart(std::string* why) {
    Stop();
    return Launch(why);
  }

  uint16_t port() const { return port_; }
  const std::string& password() const { return password_; }
  // Options reaching this server, with its password.
  RedisOptions options() const {
    RedisOptions o;
    o.port = port_;
    o.password = password_;
    return o;
  }

 private:
  RedisServer(std::string binary, std::string password)
      : binary_(std::move(binary)), password_(std::move(password)) {}

  static std::string FindOnPath(std::string_view name) {
    const char* path = std::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    while (!dirs.empty()) {
      const size_t colon = dirs.find(':');
      const std::string candidate = std::string(dirs.substr(0, colon)) + "/" + std::string(name);
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
      dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    }
    return {};
  }

  bool Launch(std::string* why) {
    const std::string port = std::to_string(port_);
    std::vector<std::string> args;
    // util-linux's setpriv makes the kernel kill the server when the thread that started it
    // exits, so a test that crashes leaves no server behind.
    if (const std::string setpriv = FindOnPath("setpriv"); !setpriv.empty()) {
      args = {setpriv, "--pdeathsig", "KILL"};
    }
    args.insert(args.end(), {binary_, "--port", port, "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--daemonize", "no"});
    if (!password_.empty()) args.insert(args.end(), {"--requirepass", password_});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    const int spawned =
        posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      pid_ = -1;
      *why = "cannot spawn " + binary_;
      return false;
    }
    // Polls until it answers; redis-server is up within milliseconds.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {  // the port was taken, or bad arguments
        pid_ = -1;
        *why = "redis-server exited at start on port " + port;
        return false;
      }
      RawRedis probe(port_, password_);
      if (probe.ok() && probe.Run({"PING"}) == "PONG") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    Stop();
    *why = "redis-server did not answer PING on port " + port;
    return false;
  }

  const std::string binary_;
  const std::string password_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

#ifdef DOCTEST_LIBRARY_INCLUDED
// Starts a server for a test. Null only when redis-server is not installed (the test says so
// and returns); any other failure to start fails the test.
inline std::unique_ptr<RedisServer> StartRedisForTest(const std::string& password = {}) {
  std::string why;
  std::unique_ptr<RedisServer> server = RedisServer::Start(&why, password);
  if (server != nullptr) return server;
  if (RedisServer::Binary().empty()) {
    MESSAGE("skipped: " << why);
  } else {
    FAIL(why);
  }
  return nullptr;
}
#endif

}  // namespace larder::testing
