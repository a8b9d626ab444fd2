// Timestamp <-> ISO 8601 text, exact to the microsecond, over the whole int64 range.
#include <charconv>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "larder/record.h"

namespace larder {
namespace {

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1'000'000;

// Civil (proleptic Gregorian) date <-> days since 1970-01-01, from Howard Hinnant's
// "chrono-Compatible Low-Level Date Algorithms" (public domain), in int64 so every day an int64
// microsecond count can reach (about 292,000 years either way) converts.
struct Civil {
  int64_t year;
  int64_t month;  // 1..12
  int64_t day;    // 1..31
};

int64_t DaysFromCivil(Civil c) {
  const int64_t y = c.year - (c.month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (c.month + (c.month > 2 ? -3 : 9)) + 2) / 5 + c.day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp + (mp < 10 ? 3 : -9);
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

bool ValidDate(int64_t y, int64_t m, int64_t d) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

// Reads exactly `n` digits at `*p`; false when they are not all digits.
bool Digits(std::string_view s, size_t* p, size_t n, int64_t* out) {
  if (*p + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*p + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return true;
}

Status Bad(std::string_view text, std::string_view why) {
  return Status::InvalidArgument(fmt::format("timestamp '{}': {}", text.substr(0, 64), why));
}

}  // namespace

std::string FormatTimestamp(Timestamp t) {
  std::string out;
  AppendTimestamp(&out, t);
  return out;
}

void AppendTimestamp(std::string* out, Timestamp t) {
  int64_t day = t.micros / kMicrosPerDay;  // no multiplication: cannot overflow
  int64_t rem = t.micros % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --day;
  }
  const Civil c = CivilFromDays(day);
  const int64_t hour = rem / 3'600'000'000;
  rem %= 3'600'000'000;
  const int64_t minute = rem / 60'000'000;
  rem %= 60'000'000;
  const int64_t second = rem / 1'000'000;
  const int64_t micro = rem % 1'000'000;
  if (c.year < 0 || c.year > 9999) {  // expanded year, rare: the general formatter
    fmt::format_to(std::back_inserter(*out), "{:+07}-{:02}-{:02}T{:02}:{:02}:{:02}", c.year,
                   c.month, c.day, hour, minute, second);
  } else {
    // The common case without a formatter: this runs once per timestamp of every export.
    char buf[19];
    auto put = [&buf](size_t at, int64_t v, int width) {
      for (int i = width - 1; i >= 0; --i, v /= 10) buf[at + i] = static_cast<char>('0' + v % 10);
    };
    put(0, c.year, 4);
    buf[4] = '-';
    put(5, c.month, 2);
    buf[7] = '-';
    put(8, c.day, 2);
    buf[10] = 'T';
    put(11, hour, 2);
    buf[13] = ':';
    put(14, minute, 2);
    buf[16] = ':';
    put(17, second, 2);
    out->append(buf, sizeof buf);
  }
  char frac[8];
  frac[0] = '.';
  const bool millis = micro % 1000 == 0;
  int64_t v = millis ? micro / 1000 : micro;
  const int width = millis ? 3 : 6;
  for (int i = width; i >= 1; --i, v /= 10) frac[i] = static_cast<char>('0' + v % 10);
  frac[width + 1] = 'Z';
  out->append(frac, static_cast<size_t>(width) + 2);
}

Result<Timestamp> ParseTimestamp(std::string_view s) {
  size_t p = 0;
  int64_t year, month, day, hour = 0, minute = 0, second = 0, micros = 0;
  int sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {  // expanded year: ±YYYYYY
    sign = s[0] == '-' ? -1 : 1;
    p = 1;
    if (!Digits(s, &p, 6, &year)) return Bad(s, "expected a 6-digit expanded year");
  } else if (!Digits(s, &p, 4, &year)) {
    return Bad(s, "expected YYYY-MM-DD");
  }
  year *= sign;
  if (p >= s.size() || s[p++] != '-' || !Digits(s, &p, 2, &month) || p >= s.size() ||
      s[p++] != '-' || !Digits(s, &p, 2, &day)) {
    return Bad(s, "expected YYYY-MM-DD");
  }
  if (!ValidDate(year, month, day)) return Bad(s, "no such date");
  int64_t offset_minutes = 0;
  if (p < s.size()) {
    if (s[p] != 'T' && s[p] != 't' && s[p] != ' ') return Bad(s, "expected 'T' after the date");
    ++p;
    if (!Digits(s, &p, 2, &hour) || p >= s.size() || s[p++] != ':' ||
        !Digits(s, &p, 2, &minute)) {
      return Bad(s, "expected HH:MM");
    }
    if (p < s.size() && s[p] == ':') {
      ++p;
      if (!Digits(s, &p, 2, &second)) return Bad(s, "expected seconds");
    }
    if (hour > 23 || minute > 59 || second > 59) return Bad(s, "time of day out of range");
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      ++p;
      size_t digits = 0;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        const int d = s[p] - '0';
        if (digits < 6) {
          micros = micros * 10 + d;
        } else if (d != 0) {
          return Bad(s, "finer than a microsecond; larder keeps timestamps in microseconds");
        }
        ++digits;
        ++p;
      }
      if (digits == 0) return Bad(s, "expected digits after the decimal point");
      for (size_t i = digits; i < 6; ++i) micros *= 10;
    }
    // "2024-01-02 03:04:05.678 +00:00", as Sequelize writes SQLite dates: a space before the zone.
    if (p + 1 < s.size() && s[p] == ' ' && (s[p + 1] == '+' || s[p + 1] == '-')) ++p;
    if (p < s.size()) {
      if (s[p] == 'Z' || s[p] == 'z') {
        ++p;
      } else if (s[p] == '+' || s[p] == '-') {
        const int osign = s[p] == '-' ? -1 : 1;
        ++p;
        int64_t oh, om = 0;
        if (!Digits(s, &p, 2, &oh)) return Bad(s, "expected a zone offset ±HH:MM");
        if (p < s.size() && s[p] == ':') ++p;
        if (p < s.size() && !Digits(s, &p, 2, &om)) return Bad(s, "expected a zone offset ±HH:MM");
        offset_minutes = osign * (oh * 60 + om);
      }
    }
  }
  if (p != s.size()) return Bad(s, "unexpected characters at the end");
  // Days reach about ±366 million (6-digit years), so the microsecond count may not fit int64:
  // every step is checked.
  int64_t within_day = ((hour * 60 + minute) * 60 + second) * int64_t{1'000'000} + micros -
                       offset_minutes * 60'000'000;
  int64_t days = DaysFromCivil({year, month, day});
  // Before 1970 the day's start can lie below the int64 range while the instant does not:
  // count from the next midnight instead.
  if (days < 0) {
    ++days;
    within_day -= kMicrosPerDay;
  }
  int64_t total;
  if (__builtin_mul_overflow(days, kMicrosPerDay, &total) ||
      __builtin_add_overflow(total, within_day, &total)) {
    return Bad(s, "outside the range of 64-bit microseconds (about 292,000 years from 1970)");
  }
  return Timestamp{total};
}

}  // namespace larder
