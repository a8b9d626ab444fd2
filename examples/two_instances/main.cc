// two_instances: two processes, each with its own embedded cache, kept coherent through one
// Redis server by the Backplane.
//
// The program starts a throwaway redis-server (no persistence, 127.0.0.1, a free port), then a
// second copy of itself as instance B, which it drives over a pipe. Instance A writes, deletes
// and invalidates by pattern; B reports each change arriving. Then the server is stopped: both
// instances keep serving, A's change made meanwhile cannot be sent; the server comes back, both
// resync, and B no longer serves the value A replaced during the outage.
//
// Usage: two_instances            (needs redis-server on PATH; says so and exits 0 without it)
// The demo checks each step and exits non-zero when one does not do what it shows.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "larder/backplane.h"
#include "larder/cache.h"

extern char** environ;

using namespace std::chrono_literals;

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "two_instances: %s\n", what.c_str());
  std::exit(1);
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::filesystem::path candidate =
        std::filesystem::path(dirs.substr(start, end - start)) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return {};
}

uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

pid_t Spawn(const std::vector<std::string>& args, posix_spawn_file_actions_t* actions) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], actions, nullptr, argv.data(), environ) != 0) {
    Fail("cannot start " + args[0]);
  }
  return pid;
}

// A throwaway redis-server on 127.0.0.1.
class Redis {
 public:
  Redis(std::string binary, uint16_t port) : binary_(std::move(binary)), port_(port) { Start(); }
  ~Redis() { Stop(); }
  void Start() {
    posix_spawn_file_actions_t quiet;  // the server's log would interleave with the demo's
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&quiet, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_ = Spawn({binary_, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no"},
                 &quiet);
    posix_spawn_file_actions_destroy(&quiet);
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  uint16_t port() const { return port_; }

 private:
  std::string binary_;
  uint16_t port_;
  pid_t pid_ = -1;
};

// ---- Instance B: answers commands from its parent, one line each. ----

int RunInstanceB(uint16_t port) {
  larder::RedisOptions redis;
  redis.port = port;
  redis.reconnect_backoff_min = 20ms;
  redis.reconnect_backoff_max = 200ms;
  std::unique_ptr<larder::Cache> cache = std::move(*larder::Cache::Open({}));
  std::mutex mu;
  std::condition_variable changed;
  int resyncs = 0;
  larder::Subscription remote = cache->Subscribe(
      [&](const larder::CacheEvent& ev) {
        if (!ev.remote) return;
        std::lock_guard lock(mu);
        changed.notify_all();
      },
      larder::EventBit(larder::EventType::kDelete));
  auto plane = larder::Backplane::Connect(
      *cache, redis, {.name = "users", .on_resync = [&](larder::ResyncReason) {
                        std::lock_guard lock(mu);
                        ++resyncs;
                        changed.notify_all();
                      }});
  if (!plane.ok()) Fail("B: " + plane.status().ToString());
  std::printf("ready\n");
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    const std::string cmd = line.substr(0, line.find(' '));
    const std::string key = line.find(' ') == std::string::npos ? "" : line.substr(cmd.size() + 1);
    std::string answer;
    if (cmd == "load") {
      auto v = cache->GetOrSet(key, [&] { return larder::Result<std::string>("v1 of " + key); });
      answer = v.ok() ? "loaded " + *v : "error";
    } else if (cmd == "get") {
      std::string v;
      answer = cache->Get(key, &v) ? "serving " + v : "not cached";
    } else if (cmd == "wait-gone") {
      std::unique_lock lock(mu);
      const bool gone = changed.wait_for(lock, 10s, [&] { return !cache->Exists(key); });
      answer = gone ? "dropped " + key : "still has " + key;
    } else if (cmd == "wait-resync") {
      std::unique_lock lock(mu);
      const bool done = changed.wait_for(lock, 10s, [&] { return resyncs > 0; });
      answer = done ? "resynced" : "no resync";
    } else if (cmd == "quit") {
      break;
    }
    std::printf("%s\n", answer.c_str());
    std::fflush(stdout);
  }
  return 0;
}

// ---- Instance A: the parent. ----

class ChildB {
 public:
  ChildB(const std::string& self, uint16_t port) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) Fail("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, in[1]);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    pid_ = Spawn({self, "--instance-b", std::to_string(port)}, &actions);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
    if (Read() != "ready") Fail("instance B did not start");
  }
  ~ChildB() {
    std::fprintf(to_, "quit\n");
    std::fclose(to_);
    std::fclose(from_);
    waitpid(pid_, nullptr, 0);
  }
  std::string Ask(const std::string& command) {
    std::fprintf(to_, "%s\n", command.c_str());
    std::fflush(to_);
    const std::string answer = Read();
    std::printf("  B> %-28s %s\n", command.c_str(), answer.c_str());
    return answer;
  }

 private:
  std::string Read() {
    char buf[512];
    if (std::fgets(buf, sizeof buf, from_) == nullptr) return {};
    std::string s(buf);
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  pid_t pid_;
  FILE* to_;
  FILE* from_;
};

void Expect(bool ok, const char* what) {
  if (!ok) Fail(std::string("expected ") + what);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--instance-b") {
    return RunInstanceB(static_cast<uint16_t>(std::atoi(argv[2])));
  }
  const std::string binary = FindOnPath("redis-server");
  if (binary.empty()) {
    std::printf("two_instances: redis-server is not installed; nothing to show\n");
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  Redis redis(binary, FreePort());
  larder::RedisOptions options;
  options.port = redis.port();
  options.reconnect_backoff_min = 20ms;
  options.reconnect_backoff_max = 200ms;
  std::unique_ptr<larder::Cache> cache = std::move(*larder::Cache::Open({}));
  std::unique_ptr<larder::Backplane> plane;
  for (int attempt = 0; plane == nullptr; ++attempt) {  // the server needs a moment to start
    auto p = larder::Backplane::Connect(*cache, options, {.name = "users"});
    if (p.ok()) {
      plane = std::move(*p);
    } else if (attempt == 100) {
      Fail("A: " + p.status().ToString());
    } else {
      std::this_thread::sleep_for(50ms);
    }
  }
  std::printf("redis-server on 127.0.0.1:%u; instance A is this process\n", redis.port());
  ChildB b(argv[0], redis.port());

  std::printf("1. A writes a key B has cached: B drops its copy\n");
  Expect(b.Ask("load user:1") == "loaded v1 of user:1", "B to load user:1");
  Expect(cache->Set("user:1", "v2 written by A").ok(), "A's write");
  Expect(b.Ask("wait-gone user:1") == "dropped user:1", "B to drop user:1");

  std::printf("2. A invalidates a pattern: B's matching keys go\n");
  b.Ask("load companies:list:1");
  b.Ask("load companies:list:2");
  Expect(*cache->InvalidatePattern("companies:list:*") == 0, "A to hold none of them");
  Expect(b.Ask("wait-gone companies:list:2") == "dropped companies:list:2", "B to drop the list");

  std::printf("3. The Redis server stops; both instances keep serving\n");
  b.Ask("load user:2");
  redis.Stop();
  Expect(cache->Set("user:2", "v2 written by A during the outage").ok(), "A's write (local)");
  plane->WaitUntilSent();
  std::printf("  A: write succeeded locally; %llu send(s) failed\n",
              static_cast<unsigned long long>(plane->GetStats().publish_failures));
  Expect(b.Ask("get user:2") == "serving v1 of user:2", "B to serve its copy while Redis is down");

  std::printf("4. The server comes back: B resyncs and stops serving what A replaced\n");
  redis.Start();
  Expect(b.Ask("wait-resync") == "resynced", "B to resync");
  Expect(b.Ask("get user:2") == "not cached", "B to have dropped user:2");
  Expect(b.Ask("load user:2") == "loaded v1 of user:2", "B to reload user:2");
  std::printf("two_instances: every step did what it shows\n");
  return 0;
}
