#include "cli/top.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/metrics.h"
#include "core/text.h"

namespace relais::cli {
namespace {

// The sum of every sample of family `name` whose series starts with
// `prefix` after the name ("" for all of them).
double Sum(const Samples& s, const std::string& name,
           const std::string& labels = "") {
  double total = 0;
  const std::string exact = labels.empty() ? name : name + "{" + labels;
  for (auto it = s.lower_bound(exact);
       it != s.end() && it->first.compare(0, exact.size(), exact) == 0; ++it) {
    const char next =
        it->first.size() > exact.size() ? it->first[exact.size()] : '\0';
    // "name", "name{...}", or labels continuing: not "name_other".
    if (labels.empty() && next != '\0' && next != '{') continue;
    total += it->second;
  }
  return total;
}

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

// Per second over the interval; "-" without a previous read. A counter
// that went down restarted with relaisd: its value is all new.
std::string Rate(const Samples& now, const Samples& before, double seconds,
                 const std::string& name, const std::string& labels = "") {
  if (before.empty() || seconds <= 0) return "-";
  const double a = Sum(now, name, labels);
  const double b = Sum(before, name, labels);
  return Format("%.1f", (a >= b ? a - b : a) / seconds);
}

std::string Bytes(double v) {
  if (v >= 1 << 30) return Format("%.1f GiB", v / (1 << 30));
  if (v >= 1 << 20) return Format("%.1f MiB", v / (1 << 20));
  if (v >= 1 << 10) return Format("%.1f KiB", v / (1 << 10));
  return Format("%.0f B", v);
}

std::string Age(double seconds) {
  if (seconds <= 0) return "-";
  // Not a duration relaisd could have measured (NaN, or over a million
  // years): not converted, which would be undefined.
  if (!(seconds < 3.2e13)) return "?";
  const auto s = static_cast<long long>(seconds);
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%llds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600, s % 3600 / 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lldd%02lldh", s / 86400,
                  s % 86400 / 3600);
  }
  return buf;
}

std::string Millis(double seconds) {
  if (seconds >= 10) return Format("%.0f s", seconds);
  if (seconds >= 1) return Format("%.2f s", seconds);
  return Format("%.1f ms", seconds * 1000);
}

// The histogram `name`'s buckets in `s`, as a snapshot.
metrics::Histogram::Snapshot Buckets(const Samples& s,
                                     const std::string& name) {
  std::vector<std::pair<double, double>> buckets;  // (bound, cumulative)
  const std::string prefix = name + "_bucket{";
  for (auto it = s.lower_bound(prefix);
       it != s.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    const std::string le = metrics::LabelOf(it->first, "le");
    const double bound =
        le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr);
    buckets.emplace_back(bound, it->second);
  }
  std::sort(buckets.begin(), buckets.end());
  metrics::Histogram::Snapshot snap;
  for (const auto& [bound, count] : buckets) {
    if (!std::isinf(bound)) snap.bounds.push_back(bound);
    snap.cumulative.push_back(static_cast<uint64_t>(count));
  }
  snap.count = snap.cumulative.empty() ? 0 : snap.cumulative.back();
  return snap;
}

// "p50 1.2 ms  p99 4.8 ms" of the observations since `before` (all of
// them without it); "no traffic" if there were none.
std::string Percentiles(const Samples& now, const Samples& before,
                        const std::string& name) {
  metrics::Histogram::Snapshot a = Buckets(now, name);
  if (!before.empty()) {
    const metrics::Histogram::Snapshot b = Buckets(before, name);
    if (b.cumulative.size() == a.cumulative.size() && b.count <= a.count) {
      for (size_t i = 0; i < a.cumulative.size(); ++i) {
        a.cumulative[i] -= std::min(a.cumulative[i], b.cumulative[i]);
      }
      a.count -= b.count;
    }
  }
  if (a.count == 0) return "no traffic";
  return "p50 " + Millis(a.Quantile(0.5)) + "  p99 " + Millis(a.Quantile(0.99));
}

// The mean of a histogram's observations since `before` (all of them
// without it, or after a restart), in ms; "-" if there were none.
std::string MeanMillis(const Samples& now, const Samples& before,
                       const std::string& name, const std::string& labels) {
  double sum = Sum(now, name + "_sum", labels);
  double count = Sum(now, name + "_count", labels);
  const double count_before = Sum(before, name + "_count", labels);
  if (!before.empty() && count_before <= count) {
    sum -= Sum(before, name + "_sum", labels);
    count -= count_before;
  }
  if (count <= 0) return "-";
  return Millis(sum / count);
}

}  // namespace

std::string RenderTop(const Samples& now, const Samples& before, double seconds,
                      const std::string& source, const std::string& now_text) {
  std::string out = "relais top  " + source + "  " + now_text + "\n";
  std::string version;
  for (const auto& [series, v] : now) {
    if (series.rfind("relais_build_info{", 0) == 0) {
      version = metrics::LabelOf(series, "version");
    }
  }
  std::string cpu = "-";
  if (!before.empty() && seconds > 0) {
    cpu =
        Format("%.0f%%", 100 *
                             (Sum(now, "relais_process_cpu_seconds_total") -
                              Sum(before, "relais_process_cpu_seconds_total")) /
                             seconds);
  }
  out += "relaisd " + Escaped(version, 40) + "   sessions " +
         Format("%.0f", Sum(now, "relais_sessions")) + "   journal " +
         Bytes(Sum(now, "relais_journal_disk_bytes")) + "   memory " +
         Bytes(Sum(now, "relais_process_resident_memory_bytes")) + "   cpu " +
         cpu + "\n";
  out += "accepted/s " +
         Rate(now, before, seconds, "relais_messages_accepted_total") +
         "   delivered/s " +
         Rate(now, before, seconds, "relais_deliveries_total") + "   acked/s " +
         Rate(now, before, seconds, "relais_acknowledgements_total") +
         "   refused/s " +
         Rate(now, before, seconds, "relais_rejections_total") +
         "   dead letters " +
         Format("%.0f", Sum(now, "relais_dead_letters_total")) + "\n";
  out += "accept latency  " +
         Percentiles(now, before, "relais_accept_latency_seconds") +
         "     end to end  " +
         Percentiles(now, before, "relais_end_to_end_latency_seconds") + "\n";
  // Where an accept's time goes in the broker (means; they add up).
  const std::string stage = "relais_accept_stage_seconds";
  out += "  its stages (means)  ingress " +
         MeanMillis(now, before, stage, "stage=\"ingress\"}") +
         "  journal queue " +
         MeanMillis(now, before, stage, "stage=\"journal_queue\"}") +
         "  its batch " +
         MeanMillis(now, before, stage, "stage=\"journal_batch\"}") + "\n\n";

  char line[160];
  std::snprintf(line, sizeof(line), "%-28s %-6s %8s %8s %9s %12s %9s\n",
                "participant", "online", "backlog", "oldest", "sent/s",
                "delivered/s", "acked/s");
  out += line;
  const std::string online = "relais_participant_online{";
  for (auto it = now.lower_bound(online);
       it != now.end() && it->first.compare(0, online.size(), online) == 0;
       ++it) {
    const std::string id = metrics::LabelOf(it->first, "participant");
    const std::string as_sender = "sender=\"" + id + "\"";
    const std::string as_recipient = "recipient=\"" + id + "\"";
    std::snprintf(
        line, sizeof(line), "%-28s %-6s %8.0f %8s %9s %12s %9s\n",
        Escaped(id, 28).substr(0, 40).c_str(), it->second == 1 ? "yes" : "no",
        Sum(now, "relais_outbox_depth", as_recipient),
        Age(Sum(now, "relais_outbox_oldest_age_seconds", as_recipient)).c_str(),
        Rate(now, before, seconds, "relais_messages_accepted_total", as_sender)
            .c_str(),
        Rate(now, before, seconds, "relais_deliveries_total", as_recipient)
            .c_str(),
        Rate(now, before, seconds, "relais_acknowledgements_total",
             as_recipient)
            .c_str());
    out += line;
  }
  return out;
}

}  // namespace relais::cli
