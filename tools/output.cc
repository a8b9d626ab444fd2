#include "tools/output.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <algorithm>
#include <cctype>

#include "larder/record.h"
#include "snapshot/json_codec.h"

namespace larder::tools {

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk: return kExitOk;
    case Status::Code::kNotFound: return kExitNotFound;
    case Status::Code::kCorruption: return kExitCorrupt;
    case Status::Code::kInvalidArgument:
    case Status::Code::kFailedPrecondition: return kExitInvalid;
    default: return kExitError;
  }
}

int Fail(Output& o, const Status& s) {
  o.err << "cachectl: " << s.ToString() << "\n";
  return ExitCodeFor(s);
}

namespace {
bool Numeric(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == ',' || c == '-';
  });
}
}  // namespace

void Table::Print(std::ostream& out) const {
  std::vector<size_t> width(header_.size(), 0);
  for (size_t c = 0; c < header_.size(); ++c) width[c] = header_[c].size();
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row, bool header) {
    std::string line;
    for (size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < row.size() ? row[c] : "";
      const bool last = c + 1 == width.size();
      if (!header && Numeric(cell)) {
        line += fmt::format("{:>{}}", cell, width[c]);
      } else {
        line += last ? cell : fmt::format("{:<{}}", cell, width[c]);
      }
      if (!last) line += "  ";
    }
    out << line << "\n";
  };
  print_row(header_, true);
  for (const auto& row : rows_) print_row(row, false);
}

Progress::Progress(Output& o, std::string label, uint64_t total)
    : o_(o), label_(std::move(label)), total_(total), start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (shown_) o_.err << "\r" << std::string(label_.size() + 40, ' ') << "\r" << std::flush;
}

void Progress::Update(uint64_t done) {
  if (!o_.progress || total_ == 0) return;
  if (!shown_ && std::chrono::steady_clock::now() - start_ < o_.progress_after) return;
  shown_ = true;
  const int filled = static_cast<int>(done * 24 / total_);
  o_.err << "\r" << label_ << " [" << std::string(filled, '#') << std::string(24 - filled, ' ')
         << "] " << done * 100 / total_ << "%" << std::flush;
}

std::string IsoTime(int64_t ms) { return FieldValue::Time(Timestamp::FromMillis(ms)).ToString(); }

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string HumanDuration(int64_t ms) {
  if (ms <= 0) return "expired";
  const int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

void PutBytes(void* json_object, const std::string& name, std::string_view bytes) {
  auto& j = *static_cast<nlohmann::ordered_json*>(json_object);
  if (simdjson::validate_utf8(bytes.data(), bytes.size())) {
    j[name] = std::string(bytes);
  } else {
    std::string quoted;
    json::AppendBase64(&quoted, bytes);  // "...": the quotes go, nlohmann adds its own
    j[name + "_base64"] = quoted.substr(1, quoted.size() - 2);
  }
}

}  // namespace larder::tools
