// Small process helpers: finding programs on PATH and running a child to capture its output.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace larder::bench {

// The path of `program` in a PATH directory where it is executable; empty when absent.
std::string FindOnPath(std::string_view program);

// Runs argv (argv[0] is a path) to completion with its stdout captured into *out (when non-null)
// and stderr inherited. Returns the exit status, or -1 when it could not be started or was killed.
int RunProcess(const std::vector<std::string>& argv, std::string* out);

// The path of the running executable (/proc/self/exe resolved).
std::string SelfExecutable();

}  // namespace larder::bench
