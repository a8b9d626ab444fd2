// Test helper: the PostgreSQL server integration tests talk to. LARDER_TEST_PG names an existing
// one; otherwise a throwaway cluster is created on first use (initdb, 127.0.0.1, a free port,
// a socket directory of its own) and removed when the test process exits.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace larder::testing {

class PostgresServer {
 public:
  static PostgresServer& Get() {
    static PostgresServer server;
    return server;
  }

  const std::string& conninfo() const { return conninfo_; }
  bool owned() const { return owned_; }

  // Stops and restarts the owned server (same data, same port), to test outages.
  void Stop() { Run(bin_ + "/pg_ctl -D " + dir_ + "/data -m fast -w stop"); }
  void Start() {
    Run(bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/log -w -o \"-p " + port_ + " -k " +
        dir_ + " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off\" start");
  }

  ~PostgresServer() {
    if (!owned_) return;
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  PostgresServer() {
    if (const char* url = std::getenv("LARDER_TEST_PG"); url != nullptr && *url != '\0') {
      conninfo_ = url;
      return;
    }
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
      if (std::filesystem::exists(entry.path() / "bin" / "pg_ctl")) bin_ = (entry.path() / "bin").string();
    }
    if (bin_.empty()) throw std::runtime_error("no PostgreSQL server binaries (apt install postgresql)");
    std::string pattern = (std::filesystem::temp_directory_path() / "larder-pg-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    // PostgreSQL refuses to run as root: run it as the postgres user then.
    if (geteuid() == 0) {
      Run("chown postgres " + dir_);  // as root, before switching users below
      as_ = "runuser -u postgres -- ";
    }
    port_ = std::to_string(FreePort());
    Run(bin_ + "/initdb -D " + dir_ + "/data -A trust -U postgres --no-sync -E UTF8 --locale=C");
    Start();
    owned_ = true;
    conninfo_ = "host=127.0.0.1 port=" + port_ + " user=postgres dbname=postgres";
  }

  void Run(const std::string& command) {
    const std::string full = as_ + command + " > " + (dir_.empty() ? "/dev/null" : dir_ + "/cmd.log") + " 2>&1";
    if (std::system(full.c_str()) != 0) throw std::runtime_error("failed: " + command);
  }

  static int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
  }

  std::string bin_, dir_, port_, as_, conninfo_;
  bool owned_ = false;
};

}  // namespace larder::testing
