// Table: a titled grid of strings, rendered as aligned text or as GitHub markdown.
#pragma once

#include <string>
#include <vector>

namespace larder::bench {

struct Table {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as long as the header
  std::string note;                            // printed under the table; may be empty
};

// Columns padded to their widest cell; the first column left-aligned, the others right-aligned.
std::string RenderText(const Table& table);
// A markdown table under a bold title line, the note as a paragraph below.
std::string RenderMarkdown(const Table& table);

}  // namespace larder::bench
