#include "core/metrics.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "core/text.h"

namespace relais::metrics {
namespace {

void AppendEscaped(std::string* out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '"') {
      *out += "\\\"";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      out->push_back(c);
    }
  }
}

// The whitespace-separated fields of /proc/self/stat after the command
// name (which may hold spaces): field 3 (state) comes first.
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(text.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

double Number(std::string_view text) {
  double v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) == 0) return Number(line.substr(6));
  }
  return 0;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

void Histogram::Observe(double v) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  counts_[static_cast<size_t>(it - bounds_.begin())].fetch_add(
      1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (const auto& c : counts_) {
    running += c.load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

double Histogram::Snapshot::Quantile(double q) const {
  if (count == 0 || bounds.empty()) return 0;
  const double rank = q * static_cast<double>(count);
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (static_cast<double>(cumulative[i]) < rank) continue;
    const double lower = i == 0 ? 0 : bounds[i - 1];
    const uint64_t below = i == 0 ? 0 : cumulative[i - 1];
    const uint64_t in_bucket = cumulative[i] - below;
    if (in_bucket == 0) return lower;
    return lower + (bounds[i] - lower) * (rank - static_cast<double>(below)) /
                       static_cast<double>(in_bucket);
  }
  return bounds.back();
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
}

std::vector<double> PowerOfTwoBuckets(double max) {
  std::vector<double> b;
  for (double v = 1; v <= max; v *= 2) b.push_back(v);
  return b;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return ec == std::errc() ? std::string(buf.data(), end) : "NaN";
}

void TextWriter::Family(std::string_view name, std::string_view help,
                        Type type) {
  name_ = name;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_.push_back(c);
    }
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += type == Type::kCounter ? " counter\n"
          : type == Type::kGauge ? " gauge\n"
                                 : " histogram\n";
}

void TextWriter::Line(
    std::string_view suffix, Labels labels,
    std::span<const std::pair<std::string_view, std::string>> extra,
    std::string_view value) {
  out_ += name_;
  out_ += suffix;
  if (labels.size() + extra.size() > 0) {
    out_ += '{';
    bool first = true;
    const auto label = [&](std::string_view k, std::string_view v) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      AppendEscaped(&out_, v);
      out_ += '"';
    };
    for (const auto& [k, v] : labels) label(k, v);
    for (const auto& [k, v] : extra) label(k, v);
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void TextWriter::Sample(Labels labels, double value) {
  Line("", labels, {}, FormatValue(value));
}
void TextWriter::Sample(Labels labels, uint64_t value) {
  Line("", labels, {}, std::to_string(value));
}
void TextWriter::Sample(Labels labels, int64_t value) {
  Line("", labels, {}, std::to_string(value));
}

void TextWriter::Histogram(Labels labels, const Histogram::Snapshot& h) {
  for (size_t i = 0; i <= h.bounds.size(); ++i) {
    const std::pair<std::string_view, std::string> le[] = {
        {"le", i < h.bounds.size() ? FormatValue(h.bounds[i]) : "+Inf"}};
    Line("_bucket", labels, le, std::to_string(h.cumulative[i]));
  }
  Line("_sum", labels, {}, FormatValue(h.sum));
  Line("_count", labels, {}, std::to_string(h.count));
}

bool SplitHttpUrl(std::string_view url, std::string* server,
                  std::string* path) {
  constexpr std::string_view kScheme = "http://";
  const size_t slash = url.find('/', kScheme.size());
  if (url.substr(0, kScheme.size()) != kScheme ||
      slash == std::string_view::npos || slash == kScheme.size()) {
    return false;
  }
  *server = std::string(url.substr(0, slash));
  *path = std::string(url.substr(slash));
  return true;
}

std::map<std::string, double> ParseSamples(std::string_view text) {
  std::map<std::string, double> out;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view()
                                         : text.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string_view::npos) continue;
    const std::string_view value = line.substr(space + 1);
    double v = 0;
    if (value == "+Inf") {
      v = std::numeric_limits<double>::infinity();
    } else if (value == "-Inf") {
      v = -std::numeric_limits<double>::infinity();
    } else if (value == "NaN") {
      v = std::numeric_limits<double>::quiet_NaN();
    } else {
      const auto [p, ec] =
          std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size()) continue;
    }
    out[std::string(line.substr(0, space))] = v;
  }
  return out;
}

std::string LabelOf(std::string_view series, std::string_view label) {
  size_t i = series.find('{');
  if (i == std::string_view::npos) return "";
  ++i;
  while (i < series.size() && series[i] != '}') {
    const size_t eq = series.find("=\"", i);
    if (eq == std::string_view::npos) return "";
    const std::string_view name = series.substr(i, eq - i);
    std::string value;
    for (i = eq + 2; i < series.size() && series[i] != '"'; ++i) {
      if (series[i] == '\\' && i + 1 < series.size()) {
        ++i;
        value.push_back(series[i] == 'n' ? '\n' : series[i]);
      } else {
        value.push_back(series[i]);
      }
    }
    if (name == label) return value;
    i += 1;  // the closing quote
    if (i < series.size() && series[i] == ',') ++i;
  }
  return "";
}

Result<std::pair<std::string, int>> ParseListenAddress(
    const std::string& key, const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(key + " '" + Escaped(text, 64) +
                                   "': " + why);
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return bad("must be HOST:PORT");
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  int port = -1;
  const auto [end, ec] = std::from_chars(
      port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() ||
      end != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  in6_addr v6{};
  in_addr v4{};
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) {
      return bad("not an IPv6 address between the brackets");
    }
  } else if (inet_pton(AF_INET, host.c_str(), &v4) != 1) {
    return bad("the host must be an IPv4 address or [an IPv6 address]");
  }
  return std::pair<std::string, int>(host, port);
}

Status CheckMetricsListen(const std::string& file, const std::string& key,
                          const std::string& value) {
  if (value.empty()) return Status::OK();
  auto address = ParseListenAddress(key, value);
  if (!address.ok()) {
    return Status::InvalidArgument(file + ": " + address.status().message());
  }
  return Status::OK();
}

void WriteProcessMetrics(TextWriter& w) {
  const std::vector<std::string> stat = StatFields();
  // Fields 14 and 15 (utime, stime), 22 (starttime), 24 (rss in pages),
  // counted from 3 at index 0.
  const auto field = [&](size_t n) {
    return stat.size() > n - 3 ? Number(stat[n - 3]) : 0.0;
  };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  w.Family("relais_process_resident_memory_bytes",
           "Resident memory of the process.", TextWriter::Type::kGauge);
  w.Sample({}, field(24) * page);
  w.Family("relais_process_cpu_seconds_total",
           "CPU time of the process, user and system.",
           TextWriter::Type::kCounter);
  w.Sample({}, (field(14) + field(15)) / ticks);
  w.Family("relais_process_start_time_seconds",
           "When the process started, in seconds since the Unix epoch.",
           TextWriter::Type::kGauge);
  w.Sample({}, BootTimeSeconds() + field(22) / ticks);
  std::error_code ec;
  int64_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    ++fds;
  }
  w.Family("relais_process_open_fds", "Open file descriptors.",
           TextWriter::Type::kGauge);
  w.Sample({}, fds);
}

}  // namespace relais::metrics
