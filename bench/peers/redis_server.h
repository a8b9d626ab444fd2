// RedisServer: a throwaway redis-server on 127.0.0.1 and a free port, stopped when destroyed.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace larder::bench {

class RedisServer {
 public:
  // Starts redis-server (found on PATH) without persistence and waits until it accepts
  // connections. Returns null and sets *why when it is not installed or does not come up.
  // `extra_args` are appended to the command line (later settings win), for example
  // {"--dir", DIR, "--dbfilename", "dump.rdb"} for a server that loads and saves an RDB file.
  static std::unique_ptr<RedisServer> Start(std::string* why,
                                            const std::vector<std::string>& extra_args = {});

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  // Stops the server (SIGTERM, then SIGKILL if it lingers) and reaps it.
  ~RedisServer();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  RedisServer(pid_t pid, int port) : pid_(pid), port_(port) {}

  pid_t pid_;
  int port_;
};

}  // namespace larder::bench
