// RedisServer: fork/exec of redis-server on a free loopback port, and its teardown.
#include "redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "process.h"

namespace larder::bench {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// A port the kernel just handed out for 127.0.0.1, released again for the server to take.
int PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = Loopback(port);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

void Stop(pid_t pid) {
  kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (waitpid(pid, nullptr, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Forks redis-server on `port`; its stdout and stderr go to /dev/null. The child asks for
// SIGTERM when the forking thread exits, so a crashed harness does not leave it running
// (the servers are always started from the main thread).
pid_t Spawn(const std::string& binary, int port, const std::vector<std::string>& extra_args) {
  const std::string port_arg = std::to_string(port);
  std::vector<const char*> argv = {
      binary.c_str(), "--port", port_arg.c_str(), "--bind", "127.0.0.1",
      "--save",       "",       "--appendonly",   "no"};
  for (const std::string& a : extra_args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls until exec.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(1);
  const int devnull = open("/dev/null", O_WRONLY);
  if (devnull >= 0) {
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
  }
  execv(binary.c_str(), const_cast<char* const*>(argv.data()));
  _exit(127);
}

}  // namespace

std::unique_ptr<RedisServer> RedisServer::Start(std::string* why,
                                                const std::vector<std::string>& extra_args) {
  const std::string binary = FindOnPath("redis-server");
  if (binary.empty()) {
    *why = "redis-server is not installed (apt-get install redis-server)";
    return nullptr;
  }
  // A port picked free can be taken before the server binds it; try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int port = PickFreePort();
    if (port < 0) break;
    const pid_t pid = Spawn(binary, port, extra_args);
    if (pid < 0) break;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    bool exited = false;
    while (!exited && std::chrono::steady_clock::now() < deadline) {
      if (Accepts(port)) return std::unique_ptr<RedisServer>(new RedisServer(pid, port));
      exited = waitpid(pid, nullptr, WNOHANG) == pid;  // port taken or bad configuration
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!exited) Stop(pid);
  }
  *why = "redis-server did not start accepting connections on 127.0.0.1";
  return nullptr;
}

RedisServer::~RedisServer() { Stop(pid_); }

}  // namespace larder::bench
