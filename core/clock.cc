#include "core/clock.h"

#include <chrono>
#include <cstdio>

namespace relais {
namespace {

class SystemClock : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

unsigned DaysInMonth(int y, int m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

const Clock* Clock::System() {
  static const SystemClock clock;
  return &clock;
}

std::string FormatTimestamp(int64_t ms) {
  int64_t days = ms / 86400000;
  int64_t rem = ms % 86400000;
  if (rem < 0) {
    rem += 86400000;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[40];
  std::snprintf(
      buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
      static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600000),
      static_cast<long long>(rem / 60000 % 60),
      static_cast<long long>(rem / 1000 % 60),
      static_cast<long long>(rem % 1000));
  return buf;
}

bool IsValidDate(std::string_view s) {
  int y, m, d;
  return s.size() == 10 && s[4] == '-' && s[7] == '-' && Digits(s, 0, 4, &y) &&
         Digits(s, 5, 2, &m) && Digits(s, 8, 2, &d) && y >= 1800 && y <= 2999 &&
         m >= 1 && m <= 12 && d >= 1 &&
         static_cast<unsigned>(d) <= DaysInMonth(y, m);
}

Result<int64_t> ParseTimestamp(std::string_view s) {
  int hh, mm, ss, frac = 0;
  const auto bad = [&] {
    return Status::InvalidArgument(
        "not a UTC timestamp YYYY-MM-DDTHH:MM:SSZ: " + std::string(s));
  };
  if (s.size() < 20 || !IsValidDate(s.substr(0, 10)) || s[10] != 'T' ||
      s[13] != ':' || s[16] != ':' || !Digits(s, 11, 2, &hh) ||
      !Digits(s, 14, 2, &mm) || !Digits(s, 17, 2, &ss) || hh > 23 || mm > 59 ||
      ss > 59 || s.back() != 'Z') {
    return bad();
  }
  if (s.size() == 24) {
    if (s[19] != '.' || !Digits(s, 20, 3, &frac)) return bad();
  } else if (s.size() != 20) {
    return bad();
  }
  int y, m, d;
  Digits(s, 0, 4, &y);
  Digits(s, 5, 2, &m);
  Digits(s, 8, 2, &d);
  const int64_t days = DaysFromCivil(y, m, d);
  return ((days * 24 + hh) * 60 + mm) * 60000 + ss * 1000 + frac;
}

}  // namespace relais
