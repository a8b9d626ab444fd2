// Rewrites the generated results section of docs/benchmarks.md.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace larder::bench {

inline constexpr std::string_view kResultsBegin = "<!-- results:begin -->";
inline constexpr std::string_view kResultsEnd = "<!-- results:end -->";

// Replaces what lies between kResultsBegin and kResultsEnd in the file at `path` with `content`
// (the markers stay), writing a temporary file and renaming it over the original. Returns false
// and sets *why when the file cannot be read or written or lacks the markers.
bool ReplaceResultsSection(const std::filesystem::path& path, std::string_view content,
                           std::string* why);

}  // namespace larder::bench
