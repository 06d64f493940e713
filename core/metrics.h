#pragma once

// Metrics in the Prometheus text exposition format (version 0.0.4), for
// the /metrics endpoint of each program (core/metrics_http.h;
// docs/OPERATIONS.md lists them). Counters, gauges and histograms are
// atomics: any thread updates them without a lock. A scrape writes the
// current values with a TextWriter, one family at a time.
//
// Label values are escaped here; names and label names are the caller's
// constants ([a-zA-Z_:][a-zA-Z0-9_:]*, checked in debug builds).

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace relais::metrics {

class Counter {
 public:
  void Add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Observations counted in buckets with fixed upper bounds (ascending; the
// +Inf bucket is implicit).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
    double sum = 0;
    uint64_t count = 0;
    // The q-quantile (0 < q < 1) estimated by linear interpolation inside
    // its bucket, as Prometheus's histogram_quantile; 0 without
    // observations; the largest bound if it falls in +Inf.
    double Quantile(double q) const;
  };
  Snapshot Take() const;

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<uint64_t>> counts_;  // per bucket, +Inf last
  std::atomic<double> sum_{0};
};

// Latency buckets, in seconds: 0.5 ms to 60 s.
std::vector<double> LatencyBuckets();
// Powers of two from 1 to `max`.
std::vector<double> PowerOfTwoBuckets(double max);

using Labels =
    std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Writes the exposition text. Each Family() starts a metric family (HELP
// and TYPE lines); the samples that follow belong to it.
class TextWriter {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  void Family(std::string_view name, std::string_view help, Type type);
  // A sample of the current family (a counter's name gets no suffix here:
  // pass names ending in _total).
  void Sample(Labels labels, double value);
  void Sample(Labels labels, uint64_t value);
  void Sample(Labels labels, int64_t value);
  // The current family's _bucket, _sum and _count samples.
  void Histogram(Labels labels, const Histogram::Snapshot& h);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Line(std::string_view suffix, Labels labels,
            std::span<const std::pair<std::string_view, std::string>> extra,
            std::string_view value);

  std::string out_;
  std::string name_;
};

// The process's own figures, from /proc/self: relais_process_resident_
// memory_bytes, _cpu_seconds_total, _open_fds, _start_time_seconds.
void WriteProcessMetrics(TextWriter& w);

// The samples of an exposition text, by series as written ("name" or
// "name{labels}"); comments, blank lines and lines that do not end in a
// number are skipped. For readers of /metrics (relais top, tests).
std::map<std::string, double> ParseSamples(std::string_view text);

// "http://HOST:PORT/PATH" (as relaisd writes its metrics_endpoint_file)
// split into the server, "http://HOST:PORT", and the path, "/PATH"; false
// if `url` is not of that form.
bool SplitHttpUrl(std::string_view url, std::string* server, std::string* path);

// The value of label `label` in `series` (name{a="x",b="y"}); empty if
// absent. Escapes are undone.
std::string LabelOf(std::string_view series, std::string_view label);

// "HOST:PORT" checked: HOST an IPv4 address or a bracketed IPv6 one
// ("[::1]"), PORT 0 to 65535 (0: any free port). InvalidArgument naming
// `key` otherwise. Returns {host without brackets, port}.
Result<std::pair<std::string, int>> ParseListenAddress(const std::string& key,
                                                       const std::string& text);

// OK for an empty `value` (no endpoint) or a valid one; else
// InvalidArgument "FILE: KEY 'VALUE': why".
Status CheckMetricsListen(const std::string& file, const std::string& key,
                          const std::string& value);

// A value as the text format writes it: integers without a fraction,
// +Inf, -Inf, NaN, else the shortest form that reads back the same.
std::string FormatValue(double v);

}  // namespace relais::metrics
