// Rewrites the marker-delimited results section of a markdown file in place.
#include "docs_section.h"

#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace larder::bench {

bool ReplaceResultsSection(const std::filesystem::path& path, std::string_view content,
                           std::string* why) {
  std::ifstream in(path);
  if (!in) {
    *why = "cannot read " + path.string();
    return false;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  const size_t begin = text.find(kResultsBegin);
  const size_t end = begin == std::string::npos ? std::string::npos : text.find(kResultsEnd, begin);
  if (end == std::string::npos) {
    *why = path.string() + " lacks the " + std::string(kResultsBegin) + " / " +
           std::string(kResultsEnd) + " markers";
    return false;
  }
  const std::string updated = text.substr(0, begin + kResultsBegin.size()) + "\n" +
                              std::string(content) + "\n" + text.substr(end);

  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << updated;
    if (!out.flush()) {
      *why = "cannot write " + tmp.string();
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    *why = "cannot replace " + path.string() + ": " + ec.message();
    return false;
  }
  return true;
}

}  // namespace larder::bench
