// Table rendering: aligned text for the terminal, markdown for docs/benchmarks.md.
#include "table.h"

#include <algorithm>
#include <cstddef>

namespace larder::bench {
namespace {

// Display width: counts UTF-8 code points, so "±" pads like one column.
size_t Width(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::string RenderText(const Table& table) {
  std::vector<size_t> widths(table.header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], Width(row[c]));
    }
  };
  measure(table.header);
  for (const auto& row : table.rows) measure(row);

  std::string out = table.title + "\n";
  auto emit = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      const std::string pad(widths[c] - Width(row[c]), ' ');
      if (c > 0) out += "  ";
      out += c == 0 ? row[c] + pad : pad + row[c];
    }
    out += "\n";
  };
  emit(table.header);
  for (const auto& row : table.rows) emit(row);
  if (!table.note.empty()) out += table.note + "\n";
  return out;
}

std::string RenderMarkdown(const Table& table) {
  std::string out = "**" + table.title + "**\n\n|";
  for (const std::string& h : table.header) out += " " + h + " |";
  out += "\n|";
  for (size_t c = 0; c < table.header.size(); ++c) out += c == 0 ? " :--- |" : " ---: |";
  out += "\n";
  for (const auto& row : table.rows) {
    out += "|";
    for (const std::string& cell : row) out += " " + cell + " |";
    out += "\n";
  }
  if (!table.note.empty()) {
    // A leading '*' would start a list item.
    out += "\n" + std::string(table.note[0] == '*' ? "\\" : "") + table.note + "\n";
  }
  return out;
}

}  // namespace larder::bench
