// Test helper: runs tests/helpers/process_child (path compiled in as LARDER_PROCESS_CHILD) with
// posix_spawn, its stdout on a pipe.
#pragma once

#include <doctest/doctest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

extern char** environ;

namespace larder::testing {

struct ChildProcess {
  pid_t pid = -1;
  FILE* out = nullptr;  // the child's stdout

  ChildProcess(const std::string& mode, const std::string& a, const std::string& b) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> argv = {const_cast<char*>(LARDER_PROCESS_CHILD),
                               const_cast<char*>(mode.c_str()), const_cast<char*>(a.c_str()),
                               const_cast<char*>(b.c_str()), nullptr};
    REQUIRE(posix_spawn(&pid, LARDER_PROCESS_CHILD, &actions, nullptr, argv.data(), environ) ==
            0);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out = fdopen(fds[0], "r");
  }
  ~ChildProcess() {
    if (out != nullptr) fclose(out);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next "saved ID" line, or 0 at the end of the output.
  uint64_t NextSave() {
    unsigned long long id = 0;
    return std::fscanf(out, "saved %llu\n", &id) == 1 ? id : 0;
  }
  // The wait status.
  int Wait() {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return status;
  }
};

}  // namespace larder::testing
